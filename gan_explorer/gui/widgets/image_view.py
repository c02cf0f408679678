"""The image: a uint8 HWC array scaled to fill the view, smooth or crisp (nearest) when enlarged."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def array_to_qimage(image: np.ndarray) -> QImage:
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    if image.ndim == 2 or image.shape[2] == 1:
        return QImage(image.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QImage(image.data, w, h, 3 * w, QImage.Format_RGB888).copy()


class ImageView(QWidget):
    sigDropped = Signal(str)  # a file dropped on the image

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(256, 256)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAcceptDrops(True)
        self._pixmap: QPixmap | None = None
        self.image: np.ndarray | None = None
        self.smooth = True  # enlarge smoothly (View > Smooth scaling); off: crisp pixels
        self.message = "Open a model (File > Open, or drop a file here)"

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

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        urls = event.mimeData().urls()
        if urls:
            self.sigDropped.emit(urls[0].toLocalFile())
