"""Choose the square of a picture that a projection should reconstruct (a crop rectangle over it)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from gan_explorer.core.errors import GanExplorerError, escape_text
from gan_explorer.core.io.pictures import decode_picture, read_picture_file, reason


def picture_pixels(picture) -> np.ndarray:
    """HWC uint8 RGB of a picture path (decoded with the app's explicit list of formats) or array."""
    if isinstance(picture, np.ndarray):
        array = picture
    else:
        try:
            array = np.asarray(decode_picture(read_picture_file(picture), channels=3))
        except (OSError, ValueError) as exc:
            raise GanExplorerError(f"{escape_text(str(picture), 400)}: not a readable picture ({reason(exc)})") from None
    return array[:, :, None].repeat(3, axis=2) if array.ndim == 2 else array


class CropDialog(QDialog):
    """The picture with a square crop box, centred and as large as fits; drag it, drag its corner."""

    def __init__(self, picture, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Choose the crop")
        self.pixels = picture_pixels(picture)
        height, width = self.pixels.shape[:2]
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The model sees the square inside the box, resized to its resolution. "
                                "Drag the box; drag its corner handle to resize it."))
        view = pg.GraphicsLayoutWidget()
        self.viewbox = view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        image = pg.ImageItem(self.pixels, axisOrder="row-major")
        self.viewbox.addItem(image)
        side = min(width, height)
        self.roi = pg.RectROI(((width - side) / 2, (height - side) / 2), (side, side), aspectLocked=True,
                              maxBounds=QRectF(0, 0, width, height), snapSize=1, scaleSnap=True, translateSnap=True,
                              pen=pg.mkPen("y", width=2), rotatable=False)
        self.viewbox.addItem(self.roi)
        self.viewbox.autoRange(padding=0.02)
        layout.addWidget(view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 560)

    def set_box(self, left: float, top: float, side: float):
        self.roi.setPos((left, top))
        self.roi.setSize((side, side))

    def crop_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in picture pixels, clipped to the picture."""
        height, width = self.pixels.shape[:2]
        x, y = (float(v) for v in self.roi.pos())
        w, h = (float(v) for v in self.roi.size())
        left, top = max(int(round(x)), 0), max(int(round(y)), 0)
        right, bottom = min(int(round(x + w)), width), min(int(round(y + h)), height)
        return left, top, max(right, left + 1), max(bottom, top + 1)
