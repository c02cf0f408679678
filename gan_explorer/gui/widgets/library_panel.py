"""The direction library as named sliders: directions the user named, kept per model."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from gan_explorer.gui.session_bridge import subscribe
from gan_explorer.gui.widgets.slider_bank import SliderBank


class LibraryPanel(QWidget):
    def __init__(self, directions, latent, bookmarks, parent=None):
        super().__init__(parent)
        self.directions, self.latent, self.bookmarks = directions, latent, bookmarks
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
        self.bank.sigReleased.connect(latent.end_gesture)
        self.bank.sigReset.connect(lambda: latent.clear_offsets("lib:"))
        subscribe(self, directions.events.library_changed, self._library_changed)
        subscribe(self, bookmarks.events.changed, lambda _v: self._bookmarks_changed())
        subscribe(self, latent.events.changed, lambda _s: self._show_values())
        self._library_changed(None)

    def _names(self) -> list[str]:
        library = self.directions.library
        return library.names() if library is not None else []

    def _library_changed(self, _library):
        library = self.directions.library
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
        values = self.directions.library_values()
        self.bank.set_values({i: values[n] for i, n in enumerate(self._names()) if n in values})

    def _slider(self, index, value):
        names = self._names()
        if index < len(names):
            self.directions.set_library_value(names[index], value)

    def _bookmarks_changed(self):
        names = [self.bookmarks.name(i) for i in range(len(self.bookmarks))]
        for combo in (self.bookmark_a, self.bookmark_b):
            combo.clear()
            combo.addItems(names)
        if len(names) > 1:
            self.bookmark_b.setCurrentIndex(1)
        self.from_bookmarks_btn.setEnabled(len(names) > 1)

    def direction_from_bookmarks(self, a: int, b: int, name: str):
        """Render bookmarks a and b for their ws (on the worker), then save the direction a -> b."""
        return self.directions.save_between(self.bookmarks.state(a), self.bookmarks.state(b), name)

    def _from_bookmarks_dialog(self):
        a, b = self.bookmark_a.currentIndex(), self.bookmark_b.currentIndex()
        if a < 0 or b < 0 or a == b:
            self.directions.events.message.emit("Pick two different bookmarks")
            return
        name, ok = QInputDialog.getText(self, "Name the direction", "Name:",
                                        text=f"{self.bookmark_a.currentText()} → {self.bookmark_b.currentText()}")
        if ok and name.strip():
            self.direction_from_bookmarks(a, b, name.strip())

    def _remove_dialog(self):
        name, ok = QInputDialog.getItem(self, "Remove a direction", "Direction:", self._names(), 0, False)
        if ok and name:
            self.directions.remove(name)

    def _import_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Import directions", "", "Direction library (*.json)")
        if path:
            self.directions.import_file(path)

    def _export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export directions", "directions.json", "JSON (*.json)")
        if path:
            self.directions.export_file(path)
