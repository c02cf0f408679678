"""File > Verify pictures…: what `gan-explorer verify` says, in a window (issue #30); and the File
menu's switch for the invisible watermark in exports.

Files are checked one at a time on a thread of the dialog's own (core/trust/verify.verify_file: no
torch, but a large picture's hash and watermark search take a while), each report queued back to
the window: the window stays responsive, and Cancel drops what is still to come.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog, QFileDialog, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout,
)

from gan_explorer.core.trust.settings import set_watermark_enabled, watermark_enabled
from gan_explorer.core.trust.verify import collect, exit_code, summary, verify_file

INTRO = ("Checks each picture or video for Content Credentials (a signed C2PA manifest: present, valid, "
         "whose key), our invisible watermark (confidence and the model's hash prefix) and whether our "
         "provenance restores a state. Finding nothing proves nothing: a re-save drops the credentials, "
         "and a picture may still be generated.")
WATERMARK_TIP = ("On: every picture and video exported (Save image, animations, sheets) carries an invisible "
                 "mark of gan_explorer and the model's hash prefix, found by Verify even after a re-save, JPEG "
                 "or a crop; pictures smaller than 256 px are exported upscaled to 256 px so the mark holds. "
                 "Off: exports carry no mark, and their Content Credentials and provenance say it was "
                 "turned off.")


class VerifyDialog(QDialog):
    sigReport = Signal(object, int)   # (a file's report, the run it belongs to), from the checking thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify")
        self._run = 0          # a cancelled run's late report is dropped
        self._pending = False  # a file is being checked
        self.sigReport.connect(self._reported)
        self.destroyed.connect(lambda *_: self._pool.shutdown(wait=False, cancel_futures=True))
        self.setWindowTitle("Verify pictures")
        self.resize(720, 460)
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.files_button = QPushButton("Files…")
        self.files_button.clicked.connect(self._choose_files)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Every picture and video under the folder, recursively")
        self.folder_button.clicked.connect(self._choose_folder)
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        for widget in (self.files_button, self.folder_button, self.progress, self.cancel_button):
            row.addWidget(widget)
        layout.addLayout(row)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        layout.addWidget(self.report, 1)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.reports = []
        self._queue = []

    def _choose_files(self):
        paths, _ = QFileDialog.getOpenFileNames(self, "Verify pictures", "",
                                                "Pictures and videos (*.png *.jpg *.jpeg *.gif *.webp *.tif "
                                                "*.tiff *.bmp *.mp4);;All files (*)")
        if paths:
            self.verify(paths)

    def _choose_folder(self):
        folder = QFileDialog.getExistingDirectory(self, "Verify a folder")
        if folder:
            self.verify([folder])

    def verify(self, paths) -> None:
        """Check `paths` (files and folders), one file per event-loop turn."""
        try:
            self._queue = collect(paths)
        except Exception as exc:  # a folder too large: its one line
            self.summary.setText(str(exc))
            return
        self.reports = []
        self.report.clear()
        self.summary.setText("")
        self.progress.setRange(0, max(1, len(self._queue)))
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self._run += 1
        self._next()

    def cancel(self) -> None:
        self._queue = []
        self._run += 1
        self._pending = False
        self._finish(cancelled=True)

    @property
    def busy(self) -> bool:
        return bool(self._queue) or self._pending

    def _next(self):
        if not self._queue:
            self._finish()
            return
        self._pending = True
        self._pool.submit(self._check, self._queue.pop(0), self._run)

    def _check(self, path, run):
        """On the checking thread: the report, or one saying why the file could not be checked."""
        try:
            report = verify_file(path)
        except Exception as exc:  # a report still comes back, so the dialog never waits forever
            from gan_explorer.core.errors import one_line
            from gan_explorer.core.trust.credentials import Credentials
            from gan_explorer.core.trust.verify import FileReport

            report = FileReport(str(path), Credentials(False), None, "", one_line(exc))
        self.sigReport.emit(report, run)

    def _reported(self, report, run):
        if run != self._run:
            return
        self._pending = False
        self.reports.append(report)
        self.report.appendPlainText("\n".join(report.lines()))
        self.progress.setValue(len(self.reports))
        self._next()

    def _finish(self, cancelled: bool = False):
        self.cancel_button.setEnabled(False)
        text = summary(self.reports) if self.reports else "no picture checked"
        verdict = {0: "", 1: "", 2: "", 3: " Some files were changed after they were signed."}[exit_code(self.reports)]
        self.summary.setText(("Cancelled. " if cancelled else "") + text + "." + verdict)


def add_trust_actions(window, menu) -> None:
    """File menu: Verify pictures… and the watermark switch (for this session's exports)."""
    window.verify_action = menu.addAction("&Verify pictures…", lambda: open_verify_dialog(window))
    window.verify_action.setToolTip("Content Credentials, invisible watermark and provenance of pictures")
    window.watermark_action = menu.addAction("Invisible &watermark in exports")
    window.watermark_action.setCheckable(True)
    window.watermark_action.setChecked(watermark_enabled())
    window.watermark_action.setToolTip(WATERMARK_TIP)
    window.watermark_action.toggled.connect(set_watermark_enabled)
    # The choice is this window's session: it ends with the window (never carried into another process).
    window.destroyed.connect(_forget_choice)
    menu.setToolTipsVisible(True)


def _forget_choice(*_):
    set_watermark_enabled(None)


def open_verify_dialog(window) -> VerifyDialog:
    dialog = getattr(window, "verify_dialog", None)
    if dialog is None:
        dialog = window.verify_dialog = VerifyDialog(window)
    dialog.show()
    dialog.raise_()
    return dialog
