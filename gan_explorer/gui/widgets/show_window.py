"""The output window for a show: only the image, full screen on a chosen screen, at a chosen size.

The main window stays the control surface. The output follows every frame the view shows: the
rendered state's image and the frames shown without changing the state (playback, a preview).
Esc or a double click closes it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from gan_explorer.gui.session_bridge import subscribe
from gan_explorer.gui.widgets.image_view import array_to_qimage

FILL = 0  # size: as large as the screen allows (the image's aspect kept)


class ShowWindow(QWidget):
    sigClosed = Signal()

    def __init__(self, viewer, parent=None):
        super().__init__(parent, Qt.Window | Qt.FramelessWindowHint)
        self.setWindowTitle("gan_explorer output")
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setCursor(Qt.BlankCursor)  # nothing but the image on the projector
        self.size_px = FILL
        self.smooth = True
        self.image: np.ndarray | None = None
        self.frames = 0  # frames shown since it opened
        self._pixmap: QPixmap | None = None
        subscribe(self, viewer.events.image_shown, lambda result: self.set_image(result.image))
        subscribe(self, viewer.events.frame_shown, self.set_image)
        if viewer.last_result is not None:
            self.set_image(viewer.last_result.image)

    def show_on(self, screen, size_px: int = FILL):
        """Full screen on `screen` (a QScreen), the image `size_px` pixels a side (FILL: the screen's)."""
        self.size_px = int(size_px)
        if self.isFullScreen():
            self.showNormal()  # a full-screen window moves to another screen only from normal
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.showFullScreen()
        self.raise_()
        self.update()

    def set_image(self, image):
        if image is None or not self.isVisible():
            self.image = image
            return
        self.image = image
        self._pixmap = QPixmap.fromImage(array_to_qimage(image))
        self.frames += 1
        self.update()

    def showEvent(self, event):
        super().showEvent(event)
        if self.image is not None and self._pixmap is None:
            self._pixmap = QPixmap.fromImage(array_to_qimage(self.image))

    def image_rect(self):
        """Where the image is drawn: centred, `size_px` a side (or filling the window), aspect kept."""
        from PySide6.QtCore import QRect

        if self._pixmap is None:
            return QRect()
        pw, ph = self._pixmap.width(), self._pixmap.height()
        side = min(self.width(), self.height()) if self.size_px == FILL else self.size_px
        scale = side / max(pw, ph)
        w, h = round(pw * scale), round(ph * scale)
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self._pixmap is not None:
            rect = self.image_rect()
            painter.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth or rect.width() < self._pixmap.width())
            painter.drawPixmap(rect, self._pixmap)

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Escape:
            self.close()
        else:
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event):
        self.close()

    def closeEvent(self, event):
        super().closeEvent(event)
        self.sigClosed.emit()
