"""The latent map dock's widget: points, thumbnails when zoomed in, the current latent, bookmarks,
the interpolation path; click a point to go there; colour by a factor.

It draws plain data (numpy arrays) and emits intent; the map itself is computed in core
(gan_explorer.core.analysis.latent_map) on the worker. The window connects:
  sigPointClicked(index)  -> render LatentMap.ws(model, index) (or its seed)
  after every render      -> set_current(LatentMap.project_ws(ws))
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import Qt, Signal  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget,
)

from gan_explorer.core.analysis.latent_map import WHAT_AM_I_LOOKING_AT, colormap  # noqa: E402

MAX_SPRITES = 400          # thumbnails drawn at once at most
SPRITE_FRACTION = 1 / 12   # a thumbnail's side as a share of the shorter visible range


class HelpButton(QToolButton):
    """A '?' that shows or hides a paragraph under the view (no modal dialog)."""

    def __init__(self, label: QLabel, parent=None):
        super().__init__(parent)
        self.setText("?")
        self.setToolTip("What am I looking at?")
        self.setCheckable(True)
        self.toggled.connect(label.setVisible)


class LatentMapWidget(QWidget):
    sigPointClicked = Signal(int)       # index of the clicked point
    sigColorByChanged = Signal(str)     # '' for none

    def __init__(self, parent=None):
        super().__init__(parent)
        self.points = np.zeros((0, 2), np.float32)
        self.thumbnails: np.ndarray | None = None
        self.colors: dict[str, np.ndarray] = {}
        self.color_source = ""

        self.plot = pg.PlotWidget(background="w")
        self.plot.setAspectLocked(True)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.scatter = pg.ScatterPlotItem(size=6, pen=None, hoverable=True)
        self.scatter.sigClicked.connect(self._clicked)
        self.path = pg.PlotDataItem(pen=pg.mkPen((30, 30, 30), width=2))
        self.bookmarks = pg.ScatterPlotItem(size=16, symbol="star", brush=pg.mkBrush(255, 200, 0),
                                            pen=pg.mkPen(0, 0, 0))
        self.current = pg.ScatterPlotItem(size=18, symbol="o", brush=None, pen=pg.mkPen(220, 20, 60, width=3))
        for item in (self.scatter, self.path, self.bookmarks, self.current):
            self.plot.addItem(item)
        self.current.setZValue(20)
        self.bookmarks.setZValue(19)
        self.path.setZValue(18)
        self._sprites: list[pg.ImageItem] = []
        self.plot.getViewBox().sigRangeChanged.connect(self._update_sprites)

        self.color_combo = QComboBox()
        self.color_combo.addItem("no colour", "")
        self.color_combo.currentIndexChanged.connect(self._color_changed)
        self.title = QLabel("")
        self.legend = QLabel("")
        self.help = QLabel(WHAT_AM_I_LOOKING_AT)
        self.help.setWordWrap(True)
        self.help.setVisible(False)
        self.help_button = HelpButton(self.help)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(QLabel("Colour by"))
        top.addWidget(self.color_combo)
        top.addWidget(self.help_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.help)

    # --- data in --------------------------------------------------------------------------
    def set_map(self, points, thumbnails=None, colors=None, color_source: str = "", title: str = ""):
        """points [N, 2]; thumbnails [N, t, t, C] uint8 or None; colors {factor: [N]}."""
        self.points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        self.thumbnails = thumbnails
        self.colors = dict(colors or {})
        self.color_source = color_source
        self.title.setText(title)
        keep = self.color_combo.currentData()
        self.color_combo.blockSignals(True)
        self.color_combo.clear()
        self.color_combo.addItem("no colour", "")
        for name in self.colors:
            self.color_combo.addItem(name.replace("_", " "), name)
        index = self.color_combo.findData(keep) if keep in self.colors else 0
        self.color_combo.setCurrentIndex(max(index, 0))
        self.color_combo.blockSignals(False)
        self._draw_points()
        self.plot.getViewBox().autoRange(padding=0.05)
        self._update_sprites()

    def set_color_by(self, name: str | None):
        index = self.color_combo.findData(name or "")
        if index < 0:
            raise KeyError(f"no factor {name!r} on this map")
        self.color_combo.setCurrentIndex(index)

    def color_by(self) -> str:
        return self.color_combo.currentData() or ""

    def set_current(self, xy):
        """Where the current latent lands (None hides the marker)."""
        if xy is None:
            self.current.setData([], [])
        else:
            x, y = np.asarray(xy, dtype=np.float64).reshape(2)
            self.current.setData([x], [y])

    def current_position(self):
        x, y = self.current.getData()
        return None if len(x) == 0 else (float(x[0]), float(y[0]))

    def set_bookmarks(self, xys, labels=()):
        xys = np.asarray(xys, dtype=np.float64).reshape(-1, 2)
        tips = list(labels) + [""] * (len(xys) - len(labels))
        self.bookmarks.setData(pos=xys, data=tips)

    def set_path(self, xys):
        xys = np.asarray(xys, dtype=np.float64).reshape(-1, 2)
        self.path.setData(xys[:, 0], xys[:, 1]) if len(xys) else self.path.setData([], [])

    # --- drawing ----------------------------------------------------------------------------
    def brushes(self):
        name = self.color_by()
        if name and name in self.colors:
            return [pg.mkBrush(*c) for c in colormap(self.colors[name])]
        return pg.mkBrush(90, 90, 90)

    def _draw_points(self):
        self.scatter.setData(pos=self.points, data=np.arange(len(self.points)), brush=self.brushes())
        name = self.color_by()
        if name and name in self.colors:
            v = self.colors[name]
            self.legend.setText(f"{name.replace('_', ' ')} ({self.color_source}): dark purple "
                                f"{np.nanmin(v):.2f} \u2192 yellow {np.nanmax(v):.2f}")
        else:
            self.legend.setText("")

    def _color_changed(self, _index):
        self._draw_points()
        self.sigColorByChanged.emit(self.color_by())

    def visible_indices(self) -> np.ndarray:
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        p = self.points
        return np.flatnonzero((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1))

    def _update_sprites(self, *_):
        """Thumbnails where they fit: the view is cut into cells one thumbnail wide, and each cell
        holding points shows, in the cell, the image of the point nearest its centre (zoom in to
        see them all)."""
        for sprite in self._sprites:
            sprite.setVisible(False)
        if self.thumbnails is None or not len(self.points):
            return
        visible = self.visible_indices()
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        side = min(x1 - x0, y1 - y0) * SPRITE_FRACTION
        if side <= 0 or not len(visible):
            return
        p = self.points[visible].astype(np.float64)
        cell = np.floor(p / side)
        distance = ((p - (cell + 0.5) * side) ** 2).sum(1)
        order = np.lexsort((distance, cell[:, 1], cell[:, 0]))   # by cell, nearest first
        first = np.ones(len(order), bool)
        first[1:] = np.any(np.diff(cell[order], axis=0) != 0, axis=1)
        chosen = visible[order[first]][:MAX_SPRITES]
        while len(self._sprites) < len(chosen):
            sprite = pg.ImageItem(axisOrder="row-major")
            sprite.setZValue(-1)  # under the dots, so their colours stay visible
            self.plot.addItem(sprite)
            self._sprites.append(sprite)
        corners = np.floor(self.points[chosen].astype(np.float64) / side) * side
        for sprite, i, (cx, cy) in zip(self._sprites, chosen, corners):
            thumb = self.thumbnails[i]
            sprite.setImage(np.ascontiguousarray(thumb[::-1]), levels=(0, 255))  # image rows run downwards
            sprite.setRect(float(cx + 0.04 * side), float(cy + 0.04 * side), 0.92 * side, 0.92 * side)  # a mosaic
            sprite.setVisible(True)

    def shown_sprites(self) -> int:
        return sum(s.isVisible() for s in self._sprites)

    def _clicked(self, _item, points, *_):
        if len(points):
            self.sigPointClicked.emit(int(points[0].data()))

    def zoom_to(self, xy, half_width: float):
        x, y = np.asarray(xy, dtype=np.float64).reshape(2)
        self.plot.getViewBox().setRange(xRange=(x - half_width, x + half_width),
                                        yRange=(y - half_width, y + half_width), padding=0)

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Home:
            self.plot.getViewBox().autoRange(padding=0.05)
        super().keyPressEvent(event)
