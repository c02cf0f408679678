"""The layer viewer dock's widget: the generator's layers, the selected layer's channels, their
statistics and spectrum, and unit ablation.

It shows plain data and emits intent; the activations are computed in core
(gan_explorer.core.analysis.layers) on the worker. The window connects:
  sigViewRequested(layer, channel, db, per_channel) -> layer_view(...) -> show_view(...)
  sigAblate(layer, channels, scale)                  -> render_ablated(...) -> the main image
After a dissection (core/analysis/dissection.py, run from the Parts panel) `set_dissection(report)`
names each unit of a dissected layer by its best part ("hair 0.41"); the units table sorts by a
chosen part, a click shows that unit, and "Ablate top" switches off the part's best units.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import Qt, Signal  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
    QSpinBox,
    QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from gan_explorer.core.analysis.layers import WHAT_AM_I_LOOKING_AT  # noqa: E402
from gan_explorer.gui.widgets.latent_map import HelpButton  # noqa: E402


MEAN_COLOUR, STD_COLOUR, MAX_COLOUR = (31, 119, 180), (255, 127, 14), (44, 160, 44)


def _curve_key(*curves) -> str:
    """A plot's title row naming its curves in their colours: ('mean', (r, g, b)), ..."""
    return "&nbsp;&nbsp;".join(f"<span style='color: rgb{tuple(colour)}'>&#9473;&nbsp;{name}</span>"
                               for name, colour in curves)


def _image_box(title: str):
    view = pg.GraphicsLayoutWidget()
    box = view.addViewBox(lockAspect=True, invertY=True)
    box.setMouseEnabled(False, False)
    item = pg.ImageItem(axisOrder="row-major")
    box.addItem(item)
    view.setToolTip(title)
    return view, box, item


WIDE = 760  # from this width the layer list sits beside the views; below it, above them (a dock)


def short_layer_names(names: list[str]) -> list[str]:
    """The distinguishing part of each layer name: the dotted prefix every name shares is dropped
    ('synthesis.b16.conv1' -> 'b16.conv1'); a name that is the prefix itself (the whole network's
    output, 'synthesis') stays as it is."""
    parts = [name.split(".") for name in names]
    longer = [p for p in parts if len(p) > 1]
    if not longer:
        return list(names)
    common = 0  # leading components shared by every name, each longer name keeping one of its own
    limit = min(len(p) for p in longer) - 1
    while common < limit and len({tuple(p[:common + 1]) for p in parts}) == 1:
        common += 1
    return [".".join(p[common:]) if len(p) > common else ".".join(p) for p in parts]


class LayerViewerWidget(QWidget):
    sigViewRequested = Signal(str, int, bool, bool)   # layer, channel (-1 = all), dB, normalise per channel
    sigAblate = Signal(str, list, float)               # layer, channels, scale (0 = off, 1 = unchanged)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layers: list[tuple] = []
        self.dissection = None  # a core DissectionReport (plain data: unit_names, top_units, layers)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["layer", "kind", "output"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)  # the short names, whole
        header.setSectionResizeMode(1, QHeaderView.Stretch)           # the kind gives way (elided)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setMinimumSize(120, 90)
        self.table.itemSelectionChanged.connect(self.request_view)

        self.grid_view, self.grid_box, self.grid_item = _image_box("channels of the selected layer")
        self.spectrum_view, self.spectrum_box, self.spectrum_item = _image_box("2-D spectrum (log magnitude)")
        for view in (self.grid_view, self.spectrum_view):
            view.setMinimumSize(80, 80)
        self.stats_plot = pg.PlotWidget(background="w")
        self.stats_plot.setMinimumSize(150, 110)
        self.stats_plot.setToolTip("Mean, standard deviation and maximum of each channel")
        # The title row names the curves: a legend inside so small a plot covered them and was clipped.
        self.stats_plot.setTitle(_curve_key(("mean", MEAN_COLOUR), ("std", STD_COLOUR), ("max", MAX_COLOUR)),
                                 size="8pt")
        self.stats_plot.setLabel("bottom", "channel")
        self.mean_curve = self.stats_plot.plot(pen=pg.mkPen(MEAN_COLOUR, width=2))
        self.std_curve = self.stats_plot.plot(pen=pg.mkPen(STD_COLOUR, width=2))
        self.max_curve = self.stats_plot.plot(pen=pg.mkPen(MAX_COLOUR, width=2))

        self.channel = QSpinBox()
        self.channel.setRange(-1, 0)
        self.channel.setSpecialValueText("all")
        self.channel.setValue(-1)
        self.db = QCheckBox("dB")
        self.db.setToolTip("Show activations in decibels (log magnitude)")
        self.per_channel = QCheckBox("per channel")
        self.per_channel.setToolTip("Normalise each channel on its own (off: one scale for the layer)")
        self.per_channel.setChecked(True)
        for control in (self.channel,):
            control.valueChanged.connect(self.request_view)
        for box in (self.db, self.per_channel):
            box.toggled.connect(self.request_view)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(-10.0, 10.0)
        self.scale.setSingleStep(0.5)
        self.scale.setValue(0.0)
        self.ablate_button = QPushButton("Ablate")
        self.ablate_button.setToolTip("Multiply the chosen channel (or all) by the scale and re-render "
                                      "(0 switches it off)")
        self.ablate_button.clicked.connect(self._ablate)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Undo the ablation")
        self.reset_button.clicked.connect(lambda: self.sigAblate.emit(self.current_layer() or "", [], 1.0))
        self.units_part = QComboBox()
        self.units_part.setToolTip("Sort the units by their IoU with this part (best part: each unit's own)")
        self.units_part.currentIndexChanged.connect(self._fill_units)
        self.units_count = QSpinBox()
        self.units_count.setRange(1, 64)
        self.units_count.setValue(8)
        self.units_count.setToolTip("How many of the part's best units to switch off")
        self.ablate_part_button = QPushButton("Ablate top")
        self.ablate_part_button.setToolTip("Switch off the chosen part's best units of this layer and re-render")
        self.ablate_part_button.clicked.connect(self._ablate_part)
        self.units_table = QTableWidget(0, 3)
        self.units_table.setHorizontalHeaderLabels(["unit", "part", "IoU"])
        self.units_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.units_table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.units_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.units_table.verticalHeader().setVisible(False)
        self.units_table.verticalHeader().setDefaultSectionSize(20)
        self.units_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.units_table.setMinimumHeight(70)
        self.units_table.itemSelectionChanged.connect(self._unit_clicked)
        self.units_box = QWidget()
        units_layout = QVBoxLayout(self.units_box)
        units_layout.setContentsMargins(0, 0, 0, 0)
        units_row = QHBoxLayout()
        units_row.addWidget(QLabel("Units by"))
        units_row.addWidget(self.units_part, 1)
        units_row.addWidget(self.units_count)
        units_row.addWidget(self.ablate_part_button)
        units_layout.addLayout(units_row)
        units_layout.addWidget(self.units_table)
        self.units_box.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.help = QLabel(WHAT_AM_I_LOOKING_AT)
        self.help.setWordWrap(True)
        self.help.setVisible(False)
        self.help_button = HelpButton(self.help)

        view_row = QHBoxLayout()  # what is shown
        view_row.addWidget(QLabel("Channel"))
        view_row.addWidget(self.channel)
        view_row.addWidget(self.db)
        view_row.addWidget(self.per_channel)
        view_row.addStretch(1)
        view_row.addWidget(self.help_button)
        ablate_row = QHBoxLayout()  # what is changed
        ablate_row.addWidget(QLabel("Scale"))
        ablate_row.addWidget(self.scale)
        ablate_row.addWidget(self.ablate_button)
        ablate_row.addWidget(self.reset_button)
        ablate_row.addStretch(1)
        under = QHBoxLayout()  # the spectrum and the statistics share a row under the channels
        under.addWidget(self.spectrum_view, 2)
        under.addWidget(self.stats_plot, 3)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(view_row)
        right_layout.addLayout(ablate_row)
        right_layout.addWidget(self.grid_view, 3)
        right_layout.addLayout(under, 2)
        right_layout.addWidget(self.units_box, 2)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.help)
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.splitter)

    def resizeEvent(self, event):
        """In a narrow dock the layer list sits above the views; in a wide one, beside them."""
        super().resizeEvent(event)
        orientation = Qt.Horizontal if event.size().width() >= WIDE else Qt.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            total = event.size().width() if orientation == Qt.Horizontal else event.size().height()
            self.splitter.setSizes([total // 3, total - total // 3])

    # --- data in --------------------------------------------------------------------------
    def set_layers(self, layers):
        """layers: [(name, kind, shape), ...] or core LayerInfo objects, in running order."""
        self.layers = [(getattr(x, "name", None) or x[0], getattr(x, "kind", None) or x[1],
                        tuple(getattr(x, "shape", None) or x[2])) for x in layers]
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.layers))
        shown = short_layer_names([name for name, _, _ in self.layers])
        for row, ((name, kind, shape), short) in enumerate(zip(self.layers, shown)):
            for col, text in enumerate((short, kind, " x ".join(str(s) for s in shape))):
                item = QTableWidgetItem(text)
                item.setToolTip(name)  # the full module name
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)

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
        self._fill_units()

    def _ablate(self):
        name = self.current_layer()
        if name is None:
            return
        channel = int(self.channel.value())
        channels = list(range(self.channels_of_current())) if channel < 0 else [channel]
        self.sigAblate.emit(name, channels, float(self.scale.value()))

    # --- dissection: named units ------------------------------------------------------------
    def set_dissection(self, report):
        """report: a DissectionReport (or None to forget it). Its layers get a units table."""
        self.dissection = report
        self.units_part.blockSignals(True)
        self.units_part.clear()
        if report is not None:
            self.units_part.addItem("best part", "")
            for name in report.part_names:
                self.units_part.addItem(name, name)
        self.units_part.blockSignals(False)
        self._fill_units()

    def unit_label(self, layer: str, unit: int) -> str:
        """'hair 0.41': the unit's best part and IoU ('' when the layer was not dissected)."""
        if self.dissection is None or layer not in self.dissection.layers:
            return ""
        part, iou = self.dissection.unit_names(layer)[unit]
        return f"{part} {iou:.2f}"

    def _dissected_layer(self) -> str | None:
        name = self.current_layer()
        return name if self.dissection is not None and name in self.dissection.layers else None

    def _fill_units(self, *_):
        layer = self._dissected_layer()
        self.units_box.setVisible(layer is not None)
        if layer is None:
            return
        part = self.units_part.currentData() or ""
        names = self.dissection.unit_names(layer)
        if part:
            order = [u for u, _ in self.dissection.top_units(layer, part, len(names))]
            rows = [(u, part, float(self.dissection.layer_iou(layer)[u, self.dissection.part_names.index(part)]))
                    for u in order]
        else:
            rows = sorted(((u, p, v) for u, (p, v) in enumerate(names)), key=lambda r: -r[2])
        self.ablate_part_button.setEnabled(bool(part))
        self.units_table.blockSignals(True)
        self.units_table.setRowCount(len(rows))
        for row, (unit, name, iou) in enumerate(rows):
            for col, text in enumerate((str(unit), name, f"{iou:.2f}")):
                self.units_table.setItem(row, col, QTableWidgetItem(text))
        self.units_table.blockSignals(False)
        channel = int(self.channel.value())
        if channel >= 0 and channel < len(names):
            self.status.setText(f"unit {channel}: {self.unit_label(layer, channel)}")

    def _unit_clicked(self):
        rows = self.units_table.selectionModel().selectedRows()
        if not rows:
            return
        unit = int(self.units_table.item(rows[0].row(), 0).text())
        self.channel.setValue(unit)  # shows that unit (valueChanged -> request_view)

    def _ablate_part(self):
        layer = self._dissected_layer()
        part = self.units_part.currentData() or ""
        if layer is None or not part:
            return
        units = [u for u, _ in self.dissection.top_units(layer, part, int(self.units_count.value()))]
        self.status.setText(f"{part}: units {', '.join(map(str, units))} of {layer} switched off")
        self.sigAblate.emit(layer, units, 0.0)
