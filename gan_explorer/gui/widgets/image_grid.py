"""A grid of images that scales with its widget: labelled rows and columns, clickable cells,
cells filled as they arrive. Used by the mixing grid and the variations grid."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from gan_explorer.gui.widgets.image_view import array_to_qimage

LABEL_SPACE = 18  # pixels for row / column captions


class ImageGrid(QWidget):
    sigCellClicked = Signal(int, int)  # row, column

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(120, 120)
        self.setMouseTracking(True)
        self.rows = 0
        self.cols = 0
        self.row_labels: list[str] = []
        self.col_labels: list[str] = []
        self.cells: dict[tuple[int, int], QPixmap] = {}
        self.images: dict[tuple[int, int], np.ndarray] = {}
        self.selected: tuple[int, int] | None = None
        self.marks: dict[tuple[int, int], bool] = {}  # cell -> True (green frame) / False (red frame)
        self.cell_tooltip = None  # (row, col) -> text

    def set_shape(self, rows: int, cols: int, row_labels=None, col_labels=None):
        self.rows, self.cols = rows, cols
        self.row_labels = list(row_labels or [])
        self.col_labels = list(col_labels or [])
        self.cells.clear()
        self.images.clear()
        self.selected = None
        self.marks = {}
        self.update()

    def set_cell(self, row: int, col: int, image: np.ndarray):
        self.images[(row, col)] = image
        self.cells[(row, col)] = QPixmap.fromImage(array_to_qimage(image))
        self.update()

    def cell_image(self, row: int, col: int) -> np.ndarray | None:
        return self.images.get((row, col))

    def sizeHint(self):
        return QSize(360, 360)

    def _layout(self):
        left = LABEL_SPACE if self.row_labels else 0
        top = LABEL_SPACE if self.col_labels else 0
        if not self.rows or not self.cols:
            return left, top, 0
        side = min((self.width() - left) / self.cols, (self.height() - top) / self.rows)
        return left, top, max(int(side), 1)

    def cell_rect(self, row: int, col: int) -> QRect:
        left, top, side = self._layout()
        return QRect(left + col * side, top + row * side, side - 2, side - 2)

    def cell_at(self, x: float, y: float):
        left, top, side = self._layout()
        if side <= 0 or x < left or y < top:
            return None
        col, row = int((x - left) // side), int((y - top) // side)
        return (row, col) if row < self.rows and col < self.cols else None

    def is_corner(self, row: int, col: int) -> bool:
        """A cell whose row and column are both captioned "" (the corner of a grid whose first row
        and column hold the sources, as in style mixing): it holds no image and is left blank."""
        return (row < len(self.row_labels) and col < len(self.col_labels)
                and self.row_labels[row] == "" and self.col_labels[col] == "" and (row, col) not in self.cells)

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        left, top, side = self._layout()
        if side <= 0:
            return
        painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
        for c, text in enumerate(self.col_labels[: self.cols]):
            painter.drawText(QRect(left + c * side, 0, side, top), Qt.AlignCenter, text)
        for r, text in enumerate(self.row_labels[: self.rows]):
            painter.save()
            painter.translate(0, top + r * side + side / 2)
            painter.rotate(-90)
            painter.drawText(QRect(-side // 2, 0, side, left), Qt.AlignCenter, text)
            painter.restore()
        for r in range(self.rows):
            for c in range(self.cols):
                rect = self.cell_rect(r, c)
                pixmap = self.cells.get((r, c))
                if pixmap is None and self.is_corner(r, c):
                    continue
                if pixmap is None:
                    painter.fillRect(rect, QColor(60, 60, 60))  # still to come
                else:
                    painter.drawPixmap(rect, pixmap)
                if (r, c) in self.marks:
                    painter.setPen(QPen(QColor(40, 200, 60) if self.marks[(r, c)] else QColor(220, 40, 40), 4))
                    painter.drawRect(rect.adjusted(2, 2, -2, -2))
                if self.selected == (r, c):
                    painter.setPen(QPen(QColor(255, 200, 0), 3))
                    painter.drawRect(rect.adjusted(1, 1, -1, -1))

    def mousePressEvent(self, event):
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is not None and event.button() == Qt.LeftButton:
            self.selected = cell
            self.update()
            self.sigCellClicked.emit(*cell)

    def mouseMoveEvent(self, event):
        cell = self.cell_at(event.position().x(), event.position().y())
        self.setToolTip(self.cell_tooltip(*cell) if cell is not None and self.cell_tooltip else "")
