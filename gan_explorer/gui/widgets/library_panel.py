"""The direction library as named sliders: directions the user named, kept per model."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.requests import RenderBatch
from gan_explorer.gui.session_bridge import JobTracker, subscribe
from gan_explorer.gui.widgets.slider_bank import SliderBank


class LibraryPanel(QWidget):
    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        self.explorer = explorer
        self._pending_name = ""
        layout = QVBoxLayout(self)
        hint = QLabel("Named directions you kept for this model (Directions tab: 'Save to library', or the "
                      "difference between two bookmarks below). Each slider moves in units of its σ.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        row = QHBoxLayout()
        self.bookmark_a, self.bookmark_b = QComboBox(), QComboBox()
        self.bookmark_a.setToolTip("From this bookmark…")
        self.bookmark_b.setToolTip("…to this one: the direction points from A to B")
        self.from_bookmarks_btn = QPushButton("Name A → B…")
        self.from_bookmarks_btn.setToolTip("Save the direction from bookmark A to bookmark B as a named slider")
        self.from_bookmarks_btn.clicked.connect(self._from_bookmarks_dialog)
        row.addWidget(self.bookmark_a, 1)
        row.addWidget(QLabel("→"))
        row.addWidget(self.bookmark_b, 1)
        row.addWidget(self.from_bookmarks_btn)
        layout.addLayout(row)
        self.bank = SliderBank()
        layout.addWidget(self.bank, 1)
        row = QHBoxLayout()
        self.remove_btn, self.import_btn, self.export_btn = (QPushButton(t) for t in ("Remove…", "Import…", "Export…"))
        self.import_btn.setToolTip("Add the directions of a library file exported from this app")
        self.export_btn.setToolTip("Write this model's library to a JSON file to share or keep")
        for b in (self.remove_btn, self.import_btn, self.export_btn):
            row.addWidget(b)
        layout.addLayout(row)
        self.remove_btn.clicked.connect(self._remove_dialog)
        self.import_btn.clicked.connect(self._import_dialog)
        self.export_btn.clicked.connect(self._export_dialog)
        self.bank.sigValueChanged.connect(self._slider)
        self.bank.sigReleased.connect(explorer.end_gesture)
        self.bank.sigReset.connect(lambda: explorer.clear_offsets("lib:"))
        self.jobs = JobTracker(self, explorer, ["bookmark_direction"], on_finished=self._bookmark_ws)
        subscribe(self, explorer.events.library_changed, self._library_changed)
        subscribe(self, explorer.events.bookmarks_changed, lambda _v: self._bookmarks_changed())
        subscribe(self, explorer.events.state_changed, lambda _s: self._show_values())
        self._library_changed(None)

    def _names(self) -> list[str]:
        library = self.explorer.library
        return library.names() if library is not None else []

    def _library_changed(self, _library):
        library = self.explorer.library
        names = self._names()
        tips = [f"{d.name}: {d.source or 'named by you'}, layers {d.layer_start}-"
                f"{'last' if d.layer_end < 0 else d.layer_end}, σ = {d.sigma:.3f}"
                for d in (library.directions if library else [])]
        self.bank.set_items(names, tips)
        self._show_values()
        for w in (self.remove_btn, self.export_btn):
            w.setEnabled(bool(names))
        self.import_btn.setEnabled(library is not None)

    def _show_values(self):
        values = self.explorer.library_values()
        self.bank.set_values({i: values[n] for i, n in enumerate(self._names()) if n in values})

    def _slider(self, index, value):
        names = self._names()
        if index < len(names):
            self.explorer.set_library_direction(names[index], value)

    def _bookmarks_changed(self):
        bookmarks = self.explorer.bookmarks
        names = [bookmarks.name(i) for i in range(len(bookmarks.items))] if bookmarks else []
        for combo in (self.bookmark_a, self.bookmark_b):
            combo.clear()
            combo.addItems(names)
        if len(names) > 1:
            self.bookmark_b.setCurrentIndex(1)
        self.from_bookmarks_btn.setEnabled(len(names) > 1)

    def direction_from_bookmarks(self, a: int, b: int, name: str):
        """Render bookmarks a and b for their ws (on the worker), then save the direction a -> b."""
        bookmarks = self.explorer.bookmarks
        self._pending_name = name
        return self.explorer.run_job(RenderBatch(purpose="bookmark_direction",
                                                 states=(bookmarks.state(a), bookmarks.state(b))))

    def _from_bookmarks_dialog(self):
        a, b = self.bookmark_a.currentIndex(), self.bookmark_b.currentIndex()
        if a < 0 or b < 0 or a == b:
            self.explorer.events.message.emit("Pick two different bookmarks")
            return
        name, ok = QInputDialog.getText(self, "Name the direction", "Name:",
                                        text=f"{self.bookmark_a.currentText()} → {self.bookmark_b.currentText()}")
        if ok and name.strip():
            self.direction_from_bookmarks(a, b, name.strip())

    def _bookmark_ws(self, result):
        from gan_explorer.core.latent.library import difference_direction

        if result.error or result.cancelled or len(result.value or []) != 2:
            return
        try:
            vector, sigma = difference_direction(result.value[0], result.value[1], self.explorer.info.w_std)
        except GanExplorerError as exc:
            self.explorer.events.message.emit(str(exc))
            return
        self.explorer.save_direction(self._pending_name, vector, sigma, (0, -1), 1.0, "bookmarks A → B")

    def _remove_dialog(self):
        name, ok = QInputDialog.getItem(self, "Remove a direction", "Direction:", self._names(), 0, False)
        if ok and name:
            self.explorer.remove_direction(name)

    def _import_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Import directions", "", "Direction library (*.json)")
        if path:
            try:
                names = self.explorer.library.import_file(path)
            except GanExplorerError as exc:
                self.explorer.events.message.emit(str(exc))
                return
            self.explorer.events.library_changed.emit(self.explorer.library)
            self.explorer.events.message.emit(f"Imported {len(names)} direction(s)")

    def _export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export directions", "directions.json", "JSON (*.json)")
        if path:
            self.explorer.library.export(path)
