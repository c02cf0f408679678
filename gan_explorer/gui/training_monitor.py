"""The training workspace: launch `gan-explorer train` as a separate process, or attach to any
run directory, and watch it live through the run-directory files.

The runs themselves are core `RunState`s (gan_explorer.core.training.monitor: reader, process,
log, curves, status line); this widget polls them, shows what each poll returns and forwards the
buttons to them. It fits a 1366x768 screen without scrolling: the dataset preview and the sample
grid scale down to the room they get (keeping their aspect), and each plot names its curves in
its title row instead of a legend drawn over them.
"""

from __future__ import annotations

import html
import logging
import os
import shlex
import stat
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QPlainTextEdit, QProgressBar, QPushButton, QSizePolicy, QSplitter, QVBoxLayout, QWidget,
)

import pyqtgraph as pg

from gan_explorer.core.errors import escape_text, one_line
from gan_explorer.core.training.monitor import (
    DatasetPreview, RunList, RunState, RunUpdate, event_text, preview_dataset, run_dir_of,
)
from gan_explorer.core.training.options import AUGMENTS, FAMILIES
from gan_explorer.gui.widgets.image_view import array_to_qimage
from gan_explorer.gui.widgets.slider_bank import QuietComboBox, QuietDoubleSpinBox, QuietSpinBox, quiet

POLL_MS = 500
FIT_IMAGE_MIN = 64  # the preview and the sample grid shrink to this before the page would scroll
MAX_SAMPLES_BYTES = 64 * 1024**2      # a sample grid larger than this is not shown
MAX_SAMPLES_PIXELS = 4096 * 4096      # nor one of more pixels (a 4x4 grid of 1024 px images is this)
log = logging.getLogger(__name__)


def settings_list(value) -> list[str]:
    """A list of strings as QSettings reads it back, normalised: a one-item list comes back as a
    plain string, nothing as None, and a settings file edited (or damaged) by hand may hold any
    other type there (a number, a byte array, a point): only its strings are kept."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str) and v]
    return []


class DatasetPreviewer(QObject):
    """Scans a dataset in a background thread (a big folder takes a while) and reports back."""

    sigReady = Signal(object)  # a core DatasetPreview

    def preview(self, spec: str, resolution: int):
        threading.Thread(target=self._run, args=(spec, resolution), daemon=True).start()

    def _run(self, spec, resolution):
        self.sigReady.emit(preview_dataset(spec, resolution))


class FitImage(QLabel):
    """A picture drawn as large as its room allows, keeping its aspect and never cropped; its
    minimum size is small, so a layout shrinks it rather than scroll. Without a picture it shows
    its text."""

    def __init__(self, text: str = "", minimum: int = FIT_IMAGE_MIN, parent=None):
        super().__init__(text, parent)
        self._source: QPixmap | None = None
        self._minimum = minimum
        self.setAlignment(Qt.AlignCenter)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def set_picture(self, pixmap: QPixmap | None):
        self._source = pixmap if pixmap is not None and not pixmap.isNull() else None
        self.setText("" if self._source is not None else self.text())
        self.updateGeometry()
        self.update()

    def picture(self) -> QPixmap | None:
        return self._source

    def clear(self):
        self._source = None
        super().clear()
        self.updateGeometry()

    def shown_rect(self) -> QRect:
        """Where the picture is drawn, inside the widget (an empty rect without one)."""
        if self._source is None:
            return QRect()
        size = self._source.size().scaled(self.contentsRect().size(), Qt.KeepAspectRatio)
        # Never enlarged past twice its size: a 4-image preview stays crisp rather than blurred.
        if size.width() > 2 * self._source.width():
            size = self._source.size() * 2
        rect = QRect(0, 0, size.width(), size.height())
        rect.moveCenter(self.contentsRect().center())
        return rect

    def sizeHint(self) -> QSize:
        if self._source is None:
            return super().sizeHint()
        return self._source.size().boundedTo(QSize(320, 320))

    def minimumSizeHint(self) -> QSize:
        return QSize(self._minimum, self._minimum)

    def hasHeightForWidth(self) -> bool:
        return False

    def paintEvent(self, event):
        if self._source is None:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        painter.drawPixmap(self.shown_rect(), self._source)
        painter.end()


class QuietPlots(pg.GraphicsLayoutWidget):
    """Plots that zoom with the wheel only once clicked: scrolling the Train page over them scrolls
    the page instead of zooming a curve."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFocusPolicy(Qt.ClickFocus)

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class TrainingWorkspace(QWidget):
    sigExplore = Signal(str)       # a snapshot to open in the explorer
    sigRunUpdated = Signal(str)    # a run's files were read (tests wait on it)
    sigRunEnded = Signal(str, str)  # path, how it ended: finished, stopped (the user's Stop), aborted, error

    def __init__(self, settings: QSettings | None = None, parent=None, runs: RunList | None = None):
        super().__init__(parent)
        self.settings = settings or QSettings("gan_explorer", "gan_explorer")
        self.run_list_model = runs or RunList()
        self.current: RunState | None = None
        self.previewer = DatasetPreviewer()
        self.previewer.sigReady.connect(self._on_preview)
        self.plot_items: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._titles: dict[str, str] = {}
        self._samples_seen = None  # the sample grid shown: (path, inode, size, mtime)
        self._failing: set[str] = set()  # runs whose poll failed (logged once)
        self._build()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(POLL_MS)
        self.restore_message = self._restore_runs()  # '' or the one line saying which runs were set aside

    def _restore_runs(self) -> str:
        """Watch the runs remembered from the last session. One that cannot be watched any more (no
        longer a folder, unreadable) is set aside: forgotten, and named in the line returned, so
        that a damaged run never stops the window from starting."""
        set_aside = []
        for path in settings_list(self.settings.value("runs")):
            if not os.path.isdir(path):
                set_aside.append(f"{escape_text(path, 200)} (not a folder)")
            elif self.attach(path) is None:
                set_aside.append(f"{escape_text(path, 200)} ({self.status_label.text()})")
        if not set_aside:
            return ""
        self._remember()
        message = escape_text(f"Runs set aside (not watched any more): {'; '.join(set_aside)}", 1000)
        self.status_label.setText(message)
        log.warning("%s", message)
        return message

    @property
    def runs(self) -> dict[str, RunState]:
        return self.run_list_model.runs

    # ----- layout ---------------------------------------------------------------------------
    def _build(self):
        splitter = QSplitter(Qt.Horizontal, self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        form_widget = QWidget()
        column = QVBoxLayout(form_widget)
        column.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        form.setVerticalSpacing(3)
        column.addLayout(form)
        self.family = quiet(QuietComboBox())
        self.family.addItems(FAMILIES)
        self.family.setCurrentText("dcgan")
        self.data = QLineEdit("faces:64")
        self.data_b = QLineEdit()
        self.data_b.setPlaceholderText("second domain (cyclegan)")
        browse = QPushButton("Folder…")
        browse.clicked.connect(lambda: self._browse(self.data))
        row = QHBoxLayout()
        row.addWidget(self.data, 1)
        row.addWidget(browse)
        form.addRow("Family", self.family)
        form.addRow("Data", row)
        form.addRow("Data B", self.data_b)
        self.resolution, self.batch = quiet(QuietSpinBox()), quiet(QuietSpinBox())
        self.resolution.setRange(0, 1024)
        self.resolution.setSpecialValueText("auto")
        self.batch.setRange(0, 4096)
        self.batch.setSpecialValueText("auto")
        self.kimg = quiet(QuietDoubleSpinBox())
        self.kimg.setRange(0, 100000)
        self.kimg.setDecimals(3)
        self.kimg.setSpecialValueText("auto")
        self.augment = quiet(QuietComboBox())
        self.augment.addItems(AUGMENTS)
        self.device = quiet(QuietComboBox())
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.extra = QLineEdit()
        self.extra.setPlaceholderText("more options, e.g. --tick-kimg 1 --model-option channel_max=128")
        self.extra.setToolTip("More `gan-explorer train` options, split as a shell would (quote paths with spaces)")
        self.run_dir = QLineEdit(str(Path.home() / "gan_explorer_runs" / "run"))
        run_browse = QPushButton("…")
        run_browse.clicked.connect(lambda: self._browse(self.run_dir))
        row = QHBoxLayout()
        row.addWidget(self.run_dir, 1)
        row.addWidget(run_browse)
        for label, widget in (("Resolution", self.resolution), ("Batch", self.batch), ("Length (kimg)", self.kimg),
                              ("Augmentation", self.augment), ("Device", self.device), ("Options", self.extra)):
            form.addRow(label, widget)
        form.addRow("Run directory", row)
        buttons = QHBoxLayout()
        self.preview_btn, self.launch_btn = QPushButton("Preview data"), QPushButton("Launch")
        self.preview_btn.clicked.connect(self.preview_data)
        self.launch_btn.clicked.connect(self.launch)
        buttons.addWidget(self.preview_btn)
        buttons.addWidget(self.launch_btn)
        column.addLayout(buttons)
        self.preview_label = QLabel("")
        self.preview_label.setWordWrap(True)
        self.preview_image = FitImage()
        column.addWidget(self.preview_label)
        column.addWidget(self.preview_image, 3)
        column.addWidget(QLabel("Runs"))
        self.run_list = QListWidget()
        self.run_list.setMinimumHeight(48)
        self.run_list.currentItemChanged.connect(self._select)
        column.addWidget(self.run_list, 1)
        open_run = QPushButton("Open run…")
        open_run.clicked.connect(self._open_run_dialog)
        column.addWidget(open_run)
        splitter.addWidget(form_widget)

        monitor = QWidget()
        m = QVBoxLayout(monitor)
        m.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.status_label = QLabel("no run selected")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        top.addWidget(self.status_label, 1)
        self.growth_label = QLabel("")  # a progressive run's resolution and fade-in
        self.growth_label.setToolTip("Progressive growing: the resolution being trained and the fade-in of its "
                                     "newest layers (alpha 0 -> 1)")
        self.growth_label.hide()
        top.addWidget(self.growth_label)
        self.stop_btn, self.pause_btn = QPushButton("Stop"), QPushButton("Pause")
        self.resume_btn, self.explore_btn = QPushButton("Resume run"), QPushButton("Explore latest snapshot")
        self.stop_btn.setToolTip("Stop after a final snapshot (the run can be resumed)")
        self.stop_btn.clicked.connect(self.stop)
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.resume_btn.clicked.connect(self.resume)
        self.explore_btn.clicked.connect(self.explore)
        for b in (self.stop_btn, self.pause_btn, self.resume_btn, self.explore_btn):
            top.addWidget(b)
        m.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setMaximum(1000)
        m.addWidget(self.progress)
        controls = QHBoxLayout()
        self.smoothing = quiet(QuietDoubleSpinBox())
        self.smoothing.setRange(0, 0.99)
        self.smoothing.setSingleStep(0.1)
        self.smoothing.setValue(0.6)
        self.log_y = QCheckBox("log y")
        self.compare = quiet(QuietComboBox())
        self.compare.addItem("compare with: —", "")
        controls.addWidget(QLabel("smoothing"))
        controls.addWidget(self.smoothing)
        controls.addWidget(self.log_y)
        controls.addWidget(self.compare, 1)
        self.smoothing.valueChanged.connect(lambda _: self.redraw())
        self.log_y.toggled.connect(lambda _: self.redraw())
        self.compare.currentIndexChanged.connect(lambda _: self.redraw())
        m.addLayout(controls)
        inner = QSplitter(Qt.Vertical)
        self.plots = QuietPlots()
        self.plots.setBackground("w")
        self.plots.setMinimumHeight(120)
        inner.addWidget(self.plots)
        bottom = QSplitter(Qt.Horizontal)
        self.samples = FitImage("samples appear here", minimum=96)
        self.samples.setToolTip("The newest sample grid (fixed seeds, one per snapshot)")
        self.events = QListWidget()
        self.events.setToolTip("Double-click a snapshot event to explore that snapshot")
        self.events.itemDoubleClicked.connect(self._event_activated)
        self.events.setWordWrap(True)  # long events wrap: no sideways scrolling
        self.events.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        bottom.addWidget(self.samples)
        bottom.addWidget(self.events)
        bottom.addWidget(self.log)
        bottom.setSizes([260, 380, 260])
        inner.addWidget(bottom)
        inner.setSizes([330, 270])  # the sample grid gets room to be seen
        m.addWidget(inner, 1)
        splitter.addWidget(monitor)
        splitter.setSizes([360, 900])
        splitter.setStretchFactor(1, 1)
        self._update_buttons(None)

    def _browse(self, line_edit):
        path = QFileDialog.getExistingDirectory(self, "Choose a folder", line_edit.text())
        if path:
            line_edit.setText(path)

    def _open_run_dialog(self):
        path = QFileDialog.getExistingDirectory(self, "Open run directory")
        if path:
            self.attach(path)

    # ----- dataset preview -----------------------------------------------------------------
    def preview_data(self):
        self.preview_label.setText("Reading the dataset…")
        self.previewer.preview(self.data.text().strip(), self.resolution.value())

    def _on_preview(self, preview: DatasetPreview):
        self.preview_label.setText(preview.text())
        if preview.error:
            self.preview_image.clear()
            return
        self.preview_image.set_picture(QPixmap.fromImage(array_to_qimage(preview.grid)))

    # ----- launching and controlling runs ---------------------------------------------------
    def form_arguments(self) -> list[str]:
        args = ["--family", self.family.currentText(), "--data", self.data.text().strip(),
                "--run-dir", self.run_dir.text().strip(), "--augment", self.augment.currentText(),
                "--device", self.device.currentText(), "--no-progress"]
        if self.data_b.text().strip():
            args += ["--data-b", self.data_b.text().strip()]
        for flag, value in (("--resolution", self.resolution.value()), ("--batch", self.batch.value()),
                            ("--kimg", self.kimg.value())):
            if value:
                args += [flag, str(value)]
        try:
            args += shlex.split(self.extra.text())
        except ValueError as exc:
            raise ValueError(f"Options {self.extra.text()!r}: {exc}") from None
        return args

    def launch(self, arguments: list[str] | None = None) -> RunState | None:
        """Start `gan-explorer train` as its own process (detached: it keeps training when the
        window closes; RunState.launch) and watch it."""
        if not isinstance(arguments, list):  # the button's clicked(bool) passes a bool
            try:
                arguments = self.form_arguments()
            except ValueError as exc:
                self.status_label.setText(str(exc))
                return None
        run = self.attach(run_dir_of(arguments))
        if run is None:
            return None
        problem = run.launch(arguments)
        if problem:
            self.status_label.setText(problem)
            return run
        self._poll_run(run)
        return run

    def resume(self):
        if self.current is not None:
            self.launch(["--run-dir", self.current.path, "--device", self.device.currentText(), "--no-progress"])

    def stop(self):
        if self.current is not None:
            problem = self.current.request_stop()  # '' or None, or why the run could not be asked
            self.status_label.setText(problem or f"Stopping {self.current.path} (a final snapshot is being written)…")

    def toggle_pause(self):
        if self.current is None:
            return
        paused = self.current.pause_requested()
        problem = self.current.set_paused(not paused)  # '' or None, or why the run could not be asked
        if problem:
            self.status_label.setText(problem)
            return
        self.pause_btn.setText("Pause" if paused else "Continue")

    def explore(self, path=None):
        if not isinstance(path, (str, Path)):  # the button's clicked(bool)
            path = None
        snapshot = path or (self.current.reader.latest_snapshot() if self.current else None)
        if snapshot:
            self.sigExplore.emit(str(snapshot))

    # ----- attaching and watching -----------------------------------------------------------
    def attach(self, path) -> RunState | None:
        """Watch the run directory `path`, and remember it for the next start once it was read;
        None, with the status line saying why, where it cannot be watched (nothing remembered)."""
        known = len(self.run_list_model)
        try:
            run = self.run_list_model.attach(path)
        except (OSError, ValueError) as exc:  # a name no folder can have (a NUL), a loop of links
            self.status_label.setText(f"Cannot watch {escape_text(str(path), 300)}: {one_line(exc)}")
            return None
        if len(self.run_list_model) > known:
            item = QListWidgetItem(run.name)
            item.setData(Qt.UserRole, run.path)
            item.setToolTip(run.path)
            self.run_list.addItem(item)
            self.compare.addItem(f"compare with: {run.name}", run.path)
        for i in range(self.run_list.count()):
            if self.run_list.item(i).data(Qt.UserRole) == run.path:
                self.run_list.setCurrentRow(i)
        if not self._poll_run(run):
            self._forget(run)
            return None
        self._remember()
        return run

    def _remember(self):
        self.settings.setValue("runs", self.run_list_model.paths())

    def _forget(self, run: RunState):
        """Stop watching `run` (it could not be read): out of the list, the comparisons and the settings."""
        self.run_list_model.runs.pop(run.path, None)
        for i in reversed(range(self.run_list.count())):
            if self.run_list.item(i).data(Qt.UserRole) == run.path:
                self.run_list.takeItem(i)
        for i in reversed(range(self.compare.count())):
            if self.compare.itemData(i) == run.path:
                self.compare.removeItem(i)
        if self.current is run:
            self.current = None
        self._remember()

    def _select(self, item, _previous=None):
        if item is None:
            return
        self.current = self.run_list_model.get(item.data(Qt.UserRole))
        self.events.clear()
        for event in self.current.reader.events:
            self._add_event(event)
        self._show_log(self.current)
        self.redraw()
        self._update_status(self.current)

    def _show_log(self, run):
        if run is self.current:
            self.log.setPlainText("\n".join(run.log[-2000:]))

    def poll(self):
        for run in self.run_list_model:
            self._poll_run(run)

    def _poll_run(self, run: RunState) -> bool:
        """Read what `run` wrote since the last poll (a few bounded reads: RunReader) and show it.
        False, with the status line saying why, where its files could not be read."""
        try:
            update: RunUpdate = run.poll()
        except Exception as exc:  # a run's files never take the window down (reading them is validated)
            if run.path not in self._failing:  # logged once, not at every poll
                self._failing.add(run.path)
                log.exception("polling %s", run.path)
            self.status_label.setText(f"{escape_text(run.name, 200)}: cannot be read ({one_line(exc)})")
            return False
        if run is self.current:
            for line in update.log_lines:
                self.log.appendPlainText(line)
            for event in update.events:
                self._add_event(event)
            if update.curves_changed:
                self.redraw()
            if update.changed:
                self._update_status(run)
        if update.ended:
            self.sigRunEnded.emit(run.path, update.ended)
        self._update_item(run)
        if run is self.current:
            self._update_buttons(run)
        if update.changed:
            self.sigRunUpdated.emit(run.path)
        return True

    def _add_event(self, event):
        item = QListWidgetItem(event_text(event))
        snapshot = event.get("snapshot")
        if isinstance(snapshot, str) and snapshot and Path(snapshot).name == snapshot:  # a file of the run only
            item.setData(Qt.UserRole, snapshot)
        if event.get("event") == "error":
            item.setForeground(Qt.red)
        self.events.addItem(item)
        self.events.scrollToBottom()

    def run_status(self, run: RunState) -> str:
        return run.status()

    def _event_activated(self, item):
        name = item.data(Qt.UserRole)
        if name and self.current is not None:
            self.explore(str(Path(self.current.path) / name))

    def _update_item(self, run):
        status = run.status()
        for i in range(self.run_list.count()):
            item = self.run_list.item(i)
            if item.data(Qt.UserRole) == run.path:
                item.setText(f"{run.name}  [{status}]")

    def _update_status(self, run: RunState):
        status = run.status()
        self.status_label.setText(run.status_text(status))
        growth = growth_text(run.reader.growth())
        self.growth_label.setText(growth)
        self.growth_label.setVisible(bool(growth))
        self.progress.setValue(int(1000 * run.progress()))
        self.pause_btn.setText("Continue" if run.pause_requested() else "Pause")
        samples = run.reader.latest_samples()
        if samples is not None:
            self._show_samples(samples)
        self._update_buttons(run, status)

    def _show_samples(self, path: Path):
        """The newest sample grid, decoded only when it changed, and only a regular file of a
        sample grid's size: a FIFO or a huge picture in a run's folder never stalls the window."""
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return
        seen = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
        if seen == self._samples_seen:
            return
        self._samples_seen = seen
        image = QImage()
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_SAMPLES_BYTES:
            reader = QImageReader(str(path))
            size = reader.size()  # from the header: a picture too large is never decoded
            if size.isValid() and size.width() * size.height() <= MAX_SAMPLES_PIXELS:
                image = reader.read()
        self.samples.set_picture(QPixmap.fromImage(image) if not image.isNull() else None)

    def _update_buttons(self, run, status: str | None = None):
        """Buttons that would do nothing in the run's state are disabled."""
        can = run.can(status) if run is not None else {}
        self.stop_btn.setEnabled(can.get("stop", False))
        self.pause_btn.setEnabled(can.get("pause", False))
        self.resume_btn.setEnabled(can.get("resume", False))
        self.explore_btn.setEnabled(can.get("explore", False))

    # ----- curves ------------------------------------------------------------------------------
    def redraw(self):
        if self.current is None:
            return
        series = self.current.series
        other = self.run_list_model.get(self.compare.currentData())
        if other is self.current:
            other = None
        groups = self.current.groups()
        if list(self.plot_items) != groups:
            self.plots.clear()
            self.plot_items, self.curves, self._titles = {}, {}, {}
            columns = 1 if len(groups) <= 2 else 2  # four plots in two columns: each twice as tall
            for i, group in enumerate(groups):
                plot = self.plots.addPlot(row=i // columns, col=i % columns)
                plot.showGrid(x=True, y=True, alpha=0.3)
                plot.setDownsampling(auto=True, mode="peak")
                plot.setClipToView(True)
                self.plot_items[group] = plot
        alpha = self.smoothing.value()
        names: dict[str, list[tuple[str, tuple]]] = {g: [] for g in groups}
        for i, (key, (xs, ys)) in enumerate(sorted(series.items())):
            group = key.split("/")[0]
            plot = self.plot_items[group]
            plot.setLogMode(y=self.log_y.isChecked())
            colour = pg.intColor(i, hues=9)
            names[group].append((key[len(group) + 1:], colour.getRgb()[:3]))
            curve = self.curves.get(key)
            if curve is None:
                curve = plot.plot(pen=pg.mkPen(colour, width=1.5))
                self.curves[key] = curve
            y = smooth(ys, alpha)
            if self.log_y.isChecked():
                y = np.where(y > 0, y, np.nan)
            curve.setData(np.asarray(xs, float), y, connect="finite")
            ghost_key = "compare:" + key
            if other is not None and key in other.series:
                ghost = self.curves.get(ghost_key)
                if ghost is None:
                    ghost = plot.plot(pen=pg.mkPen(colour, width=1, style=Qt.DashLine))
                    self.curves[ghost_key] = ghost
                oxs, oys = other.series[key]
                ghost.setData(np.asarray(oxs, float), smooth(oys, alpha))
            elif ghost_key in self.curves:
                self.curves[ghost_key].setData([], [])
        for group, plot in self.plot_items.items():
            title = plot_title(group, names.get(group, []),
                               self.current.metrics_label if group == "Metrics" else "")
            if self._titles.get(group) != title:  # the title row is the legend: it never covers a curve
                plot.setTitle(title, size="9pt")
                self._titles[group] = title

    def curve_points(self, key: str) -> int:
        curve = self.curves.get(key)
        if curve is None or curve.xData is None:
            return 0
        return len(curve.xData)

    def shutdown(self):
        """Launched runs are detached: they keep training and are reattached next time."""
        self.timer.stop()


def plot_title(group: str, names: list[tuple[str, tuple]], label: str = "") -> str:
    """A plot's title row, which is also its legend: the group, then each curve's name in its colour
    ('Loss  — D/loss  — G/loss'). `label` says what Metrics were measured on."""
    head = f"<b>{html.escape(group)}</b>" + (f": {html.escape(label)}" if label else "")
    keys = "&nbsp;&nbsp;".join(f"<span style='color: rgb{colour}'>&#9473;&nbsp;{html.escape(name)}</span>"
                               for name, colour in names)
    return f"{head}&nbsp;&nbsp;&nbsp;{keys}" if keys else head


def growth_text(growth: dict | None) -> str:
    """'resolution 16 px, fade-in alpha 0.42' (or 'resolution 32 px, stable') for a progressive run."""
    if not growth:
        return ""
    if growth.get("phase") == "fade-in":
        return f"resolution {growth['resolution']} px, fade-in alpha {growth['alpha']:.2f}"
    return f"resolution {growth['resolution']} px, stable"


def smooth(values, alpha: float) -> np.ndarray:
    """Exponential moving average (TensorBoard-style), alpha in [0, 1)."""
    values = np.asarray(values, dtype=float)
    if alpha <= 0 or len(values) == 0:
        return values
    out = np.empty_like(values)
    acc = values[0]
    for i, v in enumerate(values):
        acc = alpha * acc + (1 - alpha) * v
        out[i] = acc
    return out


