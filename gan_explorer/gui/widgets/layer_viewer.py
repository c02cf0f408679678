"""The layer viewer dock's widget: the generator's layers, the selected layer's channels, their
statistics and spectrum, and unit ablation.

It shows plain data and emits intent; the activations are computed in core
(gan_explorer.core.analysis.layers) on the worker. The window connects:
  sigViewRequested(layer, channel, db, per_channel) -> layer_view(...) -> show_view(...)
  sigAblate(layer, channels, scale)                  -> render_ablated(...) -> the main image
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import Qt, Signal  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractItemView, QCheckBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox,
    QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from gan_explorer.core.analysis.layers import WHAT_AM_I_LOOKING_AT  # noqa: E402
from gan_explorer.gui.widgets.latent_map import HelpButton  # noqa: E402


def _image_box(title: str):
    view = pg.GraphicsLayoutWidget()
    box = view.addViewBox(lockAspect=True, invertY=True)
    box.setMouseEnabled(False, False)
    item = pg.ImageItem(axisOrder="row-major")
    box.addItem(item)
    view.setToolTip(title)
    return view, box, item


class LayerViewerWidget(QWidget):
    sigViewRequested = Signal(str, int, bool, bool)   # layer, channel (-1 = all), dB, normalise per channel
    sigAblate = Signal(str, list, float)               # layer, channels, scale (0 = off, 1 = unchanged)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layers: list[tuple] = []

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["layer", "kind", "output"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self.request_view)

        self.grid_view, self.grid_box, self.grid_item = _image_box("channels of the selected layer")
        self.spectrum_view, self.spectrum_box, self.spectrum_item = _image_box("2-D spectrum (log magnitude)")
        self.stats_plot = pg.PlotWidget(background="w")
        self.stats_plot.addLegend(offset=(5, 5))
        self.stats_plot.setLabel("bottom", "channel")
        self.mean_curve = self.stats_plot.plot(pen=pg.mkPen((31, 119, 180), width=2), name="mean")
        self.std_curve = self.stats_plot.plot(pen=pg.mkPen((255, 127, 14), width=2), name="std")
        self.max_curve = self.stats_plot.plot(pen=pg.mkPen((44, 160, 44), width=2), name="max")

        self.channel = QSpinBox()
        self.channel.setRange(-1, 0)
        self.channel.setSpecialValueText("all")
        self.channel.setValue(-1)
        self.db = QCheckBox("dB")
        self.per_channel = QCheckBox("normalise each channel")
        self.per_channel.setChecked(True)
        for control in (self.channel,):
            control.valueChanged.connect(self.request_view)
        for box in (self.db, self.per_channel):
            box.toggled.connect(self.request_view)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(-10.0, 10.0)
        self.scale.setSingleStep(0.5)
        self.scale.setValue(0.0)
        self.ablate_button = QPushButton("Ablate channel")
        self.ablate_button.setToolTip("Multiply the chosen channel by the scale and re-render (0 switches it off)")
        self.ablate_button.clicked.connect(self._ablate)
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(lambda: self.sigAblate.emit(self.current_layer() or "", [], 1.0))
        self.status = QLabel("")
        self.help = QLabel(WHAT_AM_I_LOOKING_AT)
        self.help.setWordWrap(True)
        self.help.setVisible(False)
        self.help_button = HelpButton(self.help)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Channel"))
        controls.addWidget(self.channel)
        controls.addWidget(self.db)
        controls.addWidget(self.per_channel)
        controls.addStretch(1)
        controls.addWidget(QLabel("Scale"))
        controls.addWidget(self.scale)
        controls.addWidget(self.ablate_button)
        controls.addWidget(self.reset_button)
        controls.addWidget(self.help_button)
        views = QGridLayout()
        views.addWidget(self.grid_view, 0, 0, 2, 1)
        views.addWidget(self.spectrum_view, 0, 1)
        views.addWidget(self.stats_plot, 1, 1)
        views.setColumnStretch(0, 3)
        views.setColumnStretch(1, 2)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(controls)
        right_layout.addLayout(views, 1)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.help)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([430, 1000])  # room for names like synthesis.b64.torgb.affine
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

    # --- data in --------------------------------------------------------------------------
    def set_layers(self, layers):
        """layers: [(name, kind, shape), ...] or core LayerInfo objects, in running order."""
        self.layers = [(getattr(x, "name", None) or x[0], getattr(x, "kind", None) or x[1],
                        tuple(getattr(x, "shape", None) or x[2])) for x in layers]
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.layers))
        for row, (name, kind, shape) in enumerate(self.layers):
            for col, text in enumerate((name, kind, " x ".join(str(s) for s in shape))):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()

    def select_layer(self, name: str):
        rows = [i for i, layer in enumerate(self.layers) if layer[0] == name]
        if not rows:
            raise KeyError(f"no layer {name!r}")
        self.table.selectRow(rows[0])

    def current_layer(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.layers[rows[0].row()][0] if rows else None

    def show_view(self, grid: np.ndarray, stats: dict | None = None, spectrum: np.ndarray | None = None,
                  message: str = ""):
        """grid: HxW uint8 (channels side by side, or one channel); stats: {mean, std, max: [C]};
        spectrum: HxW uint8 or None (a layer that is not spatial)."""
        self.grid_item.setImage(np.ascontiguousarray(grid), levels=(0, 255))
        self.grid_box.autoRange(padding=0)
        if spectrum is not None:
            self.spectrum_item.setImage(np.ascontiguousarray(spectrum), levels=(0, 255))
            self.spectrum_box.autoRange(padding=0)
        self.spectrum_view.setVisible(spectrum is not None)
        stats = stats or {}
        for key, curve in (("mean", self.mean_curve), ("std", self.std_curve), ("max", self.max_curve)):
            values = np.asarray(stats.get(key, []), dtype=np.float64)
            curve.setData(np.arange(len(values)), values)
        self.status.setText(message)

    # --- intent out -------------------------------------------------------------------------
    def channels_of_current(self) -> int:
        name = self.current_layer()
        shape = next((s for n, _, s in self.layers if n == name), ())
        return int(shape[0]) if shape else 0

    def request_view(self, *_):
        name = self.current_layer()
        if name is None:
            return
        count = self.channels_of_current()
        self.channel.blockSignals(True)
        self.channel.setRange(-1, max(count - 1, 0))
        self.channel.blockSignals(False)
        self.sigViewRequested.emit(name, int(self.channel.value()), self.db.isChecked(), self.per_channel.isChecked())

    def _ablate(self):
        name = self.current_layer()
        if name is None:
            return
        channel = int(self.channel.value())
        channels = list(range(self.channels_of_current())) if channel < 0 else [channel]
        self.sigAblate.emit(name, channels, float(self.scale.value()))
