"""Bookmarks of the open model: thumbnails; click shows, double click opens; rename, delete, reorder."""

from __future__ import annotations

import io

from PIL import Image
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QPushButton, QVBoxLayout, QWidget,
)

from gan_explorer.gui.session_bridge import subscribe
from gan_explorer.core.trust.settings import export_caption


def thumbnail_png(image, size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image.squeeze() if image.shape[-1] == 1 else image).resize((size, size), Image.LANCZOS).save(
        buf, format="PNG")
    return buf.getvalue()


class BookmarksPanel(QWidget):
    def __init__(self, bookmarks, viewer, parent=None):
        super().__init__(parent)
        self.bookmarks, self.viewer = bookmarks, viewer
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Bookmarks"))
        row.addStretch(1)
        self.add_btn = QPushButton("Add")
        self.add_btn.setToolTip("Bookmark the current image (kept per model in your data folder)")
        self.add_btn.clicked.connect(self.add)
        row.addWidget(self.add_btn)
        self.sheet_btn = QPushButton("Sheet…")
        self.sheet_btn.setToolTip("Export every bookmark as one PNG grid with captions")
        self.sheet_btn.clicked.connect(self._sheet_dialog)
        row.addWidget(self.sheet_btn)
        layout.addLayout(row)
        self.list = QListWidget()
        self.list.setIconSize(QSize(48, 48))
        self.list.setToolTip("Click: show; double click: open (undoable); F2: rename; Delete: remove; "
                             "drag to reorder")
        self.list.setDragDropMode(QAbstractItemView.InternalMove)
        self.list.setEditTriggers(QAbstractItemView.EditKeyPressed)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemDoubleClicked.connect(self._opened)
        self.list.itemActivated.connect(self._opened)
        self.list.itemChanged.connect(self._renamed)
        self.list.model().rowsMoved.connect(self._reordered)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        QShortcut(QKeySequence.Delete, self.list, self.delete_selected, context=Qt.WidgetShortcut)
        layout.addWidget(self.list, 1)
        self.setEnabled(False)
        self._refreshing = False
        subscribe(self, bookmarks.events.changed, lambda _v: self.refresh())
        subscribe(self, viewer.events.model_opened, lambda info: self.setEnabled(not info.is_translation))

    def add(self):
        result = self.viewer.last_result
        if result is None or result.image is None:
            return
        self.bookmarks.add(thumbnail_png=thumbnail_png(result.image))

    def refresh(self):
        self._refreshing = True
        self.list.clear()
        bookmarks = self.bookmarks
        if bookmarks.store is not None:
            for i in range(len(bookmarks)):
                entry = QListWidgetItem(bookmarks.name(i))
                entry.setFlags(entry.flags() | Qt.ItemIsEditable)
                png = bookmarks.thumbnail(i)
                if png:
                    pixmap = QPixmap()
                    pixmap.loadFromData(png)
                    entry.setIcon(QIcon(pixmap))
                self.list.addItem(entry)
        self._refreshing = False

    def _sheet_dialog(self):
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, export_caption("Export bookmark sheet"), "bookmarks.png", "PNG (*.png)")
        if path:
            self.bookmarks.export_sheet(path)

    def _clicked(self, item):
        if self.bookmarks.store is not None:
            self.bookmarks.peek(self.list.row(item))

    def _opened(self, item):
        self.bookmarks.go_to(self.list.row(item))

    def _renamed(self, item):
        if not self._refreshing and self.bookmarks.store is not None:
            self._refreshing = True  # the model's event refreshes the list: not a second rename
            self.bookmarks.rename(self.list.row(item), item.text())
            self._refreshing = False

    def _reordered(self, _parent, start, _end, _dest, row):
        if self.bookmarks.store is not None:
            self.bookmarks.move(start, row if row < start else row - 1)

    def delete_selected(self):
        row = self.list.currentRow()
        if row >= 0 and self.bookmarks.store is not None:
            self.bookmarks.remove(row)

    def _menu(self, pos):
        item = self.list.itemAt(pos)
        if item is None:
            return
        menu = QMenu(self)
        menu.addAction("Open", lambda: self._opened(item))
        menu.addAction("Rename", lambda: self.list.editItem(item))
        menu.addAction("Delete", self.delete_selected)
        menu.exec(self.list.mapToGlobal(pos))
