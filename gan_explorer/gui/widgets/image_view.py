"""The image: a uint8 HWC array scaled to fill the view, smooth or crisp (nearest) when enlarged."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def array_to_qimage(image: np.ndarray) -> QImage:
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    if image.ndim == 2 or image.shape[2] == 1:
        return QImage(image.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QImage(image.data, w, h, 3 * w, QImage.Format_RGB888).copy()


class ImageView(QWidget):
    """The image, and in Drag mode its handle -> target arrows and mask, with mouse input in image pixels."""

    sigDropped = Signal(str)  # a file dropped on the image
    # Drag mode: mouse press / move (button held) / release at (x, y) in pixels of the image
    sigImagePressed = Signal(float, float, int)   # x, y, Qt button (int)
    sigImageMoved = Signal(float, float)
    sigImageReleased = Signal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(256, 256)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAcceptDrops(True)
        self._pixmap: QPixmap | None = None
        self.image: np.ndarray | None = None
        self.smooth = True  # enlarge smoothly (View > Smooth scaling); off: crisp pixels
        self.message = "Open a model (File > Open, or drop a file here)"
        self.drag_mode = False
        self.drag_pairs: list = []             # [((x, y), (x, y) or None)] handles and targets
        self._mask_pixmap: QPixmap | None = None

    # --- Drag mode --------------------------------------------------------------------------------
    def set_drag_mode(self, on: bool):
        self.drag_mode = bool(on)
        self.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)
        self.update()

    def set_drag_points(self, pairs):
        self.drag_pairs = list(pairs)
        self.update()

    def set_drag_mask(self, mask):
        """[H, W] in [0, 1] (1: may change) or None; drawn as a tint over what is held."""
        if mask is None:
            self._mask_pixmap = None
        else:
            held = (np.asarray(mask) < 0.5)
            rgba = np.zeros(held.shape + (4,), np.uint8)
            rgba[held] = (0, 0, 0, 110)
            rgba = np.ascontiguousarray(rgba)
            h, w = held.shape
            self._mask_pixmap = QPixmap.fromImage(QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy())
        self.update()

    def image_rect(self):
        """(x, y, w, h) of the image on the widget, or None."""
        if self._pixmap is None:
            return None
        side = min(self.width(), self.height())
        scale = side / max(self._pixmap.width(), self._pixmap.height())
        w, h = int(self._pixmap.width() * scale), int(self._pixmap.height() * scale)
        return (self.width() - w) // 2, (self.height() - h) // 2, w, h

    def widget_scale(self) -> float:
        """Widget pixels per image pixel."""
        rect = self.image_rect()
        return rect[2] / self._pixmap.width() if rect else 1.0

    def to_image(self, pos) -> tuple[float, float]:
        """A widget position -> image pixel coordinates (pixel centres at integers)."""
        x0, y0, _, _ = self.image_rect()
        s = self.widget_scale()
        return (pos.x() - x0) / s - 0.5, (pos.y() - y0) / s - 0.5

    def to_widget(self, point) -> QPointF:
        x0, y0, _, _ = self.image_rect()
        s = self.widget_scale()
        return QPointF(x0 + (point[0] + 0.5) * s, y0 + (point[1] + 0.5) * s)

    def mousePressEvent(self, event):
        if self.drag_mode and self._pixmap is not None:
            x, y = self.to_image(event.position())
            self.sigImagePressed.emit(x, y, int(event.button().value))
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self.drag_mode and self._pixmap is not None and event.buttons():
            self.sigImageMoved.emit(*self.to_image(event.position()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self.drag_mode and self._pixmap is not None:
            self.sigImageReleased.emit(*self.to_image(event.position()))
            return
        super().mouseReleaseEvent(event)

    def _paint_drag(self, painter: QPainter, x, y, w, h):
        if self._mask_pixmap is not None:
            painter.drawPixmap(x, y, w, h, self._mask_pixmap)
        painter.setRenderHint(QPainter.Antialiasing, True)
        radius = 5.0
        for handle, target in self.drag_pairs:
            a = self.to_widget(handle)
            if target is not None:
                b = self.to_widget(target)
                painter.setPen(QPen(QColor(255, 255, 255), 2.0))
                painter.drawLine(a, b)
                d = b - a
                length = max((d.x() ** 2 + d.y() ** 2) ** 0.5, 1e-6)
                ux, uy = d.x() / length, d.y() / length
                for side in (1, -1):  # the arrow head
                    tip = QPointF(b.x() - 9 * ux + side * 5 * uy, b.y() - 9 * uy - side * 5 * ux)
                    painter.drawLine(b, tip)
                painter.setPen(QPen(QColor(0, 0, 0), 1.0))
                painter.setBrush(QColor(40, 110, 255))
                painter.drawEllipse(b, radius, radius)
            painter.setPen(QPen(QColor(0, 0, 0), 1.0))
            painter.setBrush(QColor(235, 40, 40))
            painter.drawEllipse(a, radius, radius)

    def set_image(self, image: np.ndarray):
        self.image = image
        self._pixmap = QPixmap.fromImage(array_to_qimage(image))
        self.update()

    def clear(self):
        self.image, self._pixmap = None, None
        self.update()

    def set_message(self, text: str):
        self.message = text
        self.update()

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self._pixmap is None:
            painter.drawText(self.rect(), Qt.AlignCenter, self.message)
            return
        side = min(self.width(), self.height())
        scale = side / max(self._pixmap.width(), self._pixmap.height())
        w, h = int(self._pixmap.width() * scale), int(self._pixmap.height() * scale)
        x, y = (self.width() - w) // 2, (self.height() - h) // 2
        painter.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth or scale < 1)
        painter.drawPixmap(x, y, w, h, self._pixmap)
        if self.drag_mode:
            self._paint_drag(painter, x, y, w, h)

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        urls = event.mimeData().urls()
        if urls:
            self.sigDropped.emit(urls[0].toLocalFile())
