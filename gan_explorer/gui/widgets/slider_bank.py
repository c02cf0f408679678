"""A pageable bank of sliders: over raw z dimensions, raw w dimensions, or discovered directions."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout,
    QWidget,
)

SLIDER_STEPS = 100  # slider units per sigma


class SliderBank(QWidget):
    """`count` sliders showing items [page * count, ...). Values are in units of sigma."""

    sigValueChanged = Signal(int, float)   # item index, value
    sigReleased = Signal()
    sigReset = Signal()

    def __init__(self, count=8, parent=None):
        super().__init__(parent)
        self.count = count
        self.total = 0
        self.values: dict[int, float] = {}
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.page = QSpinBox()
        self.page.setPrefix("page ")
        self.page_label = QLabel("of 0")
        self.range = QDoubleSpinBox()
        self.range.setRange(0.5, 20)
        self.range.setValue(3.0)
        self.range.setSuffix(" σ")
        reset = QPushButton("Reset")
        top.addWidget(self.page)
        top.addWidget(self.page_label)
        top.addStretch(1)
        top.addWidget(QLabel("range ±"))
        top.addWidget(self.range)
        top.addWidget(reset)
        layout.addLayout(top)
        grid = QGridLayout()
        self.labels, self.sliders, self.readouts, self.previews = [], [], [], []
        for i in range(count):
            label, slider, readout = QLabel(), QSlider(Qt.Horizontal), QLabel("0.00")
            preview = QLabel()
            self.previews.append(preview)
            readout.setMinimumWidth(40)
            slider.valueChanged.connect(lambda v, i=i: self._slider_moved(i, v))
            slider.sliderReleased.connect(self.sigReleased.emit)
            grid.addWidget(label, i, 0)
            grid.addWidget(slider, i, 1)
            grid.addWidget(readout, i, 2)
            grid.addWidget(preview, i, 3)
            self.labels.append(label)
            self.sliders.append(slider)
            self.readouts.append(readout)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.page.valueChanged.connect(lambda _: self._refresh())
        self.range.valueChanged.connect(lambda _: self._refresh())
        reset.clicked.connect(self.reset)
        self.names: list[str] = []
        self.set_items([])

    def set_items(self, names: list[str]):
        self.names = list(names)
        self.total = len(names)
        pages = max((self.total + self.count - 1) // self.count, 1)
        self.page.setRange(0, pages - 1)
        self.page_label.setText(f"of {pages}")
        self.values.clear()
        self._refresh()

    def _refresh(self):
        limit = self.range.value()
        for i, (label, slider, readout) in enumerate(zip(self.labels, self.sliders, self.readouts)):
            item = self.page.value() * self.count + i
            visible = item < self.total
            for w in (label, slider, readout, self.previews[i]):
                w.setVisible(visible)
            self.previews[i].clear()  # previews belong to the page they were made for
            if not visible:
                continue
            label.setText(self.names[item])
            slider.blockSignals(True)
            slider.setRange(int(-limit * SLIDER_STEPS), int(limit * SLIDER_STEPS))
            slider.setValue(int(round(self.values.get(item, 0.0) * SLIDER_STEPS)))
            slider.blockSignals(False)
            readout.setText(f"{self.values.get(item, 0.0):+.2f}")

    def _slider_moved(self, i, v):
        item = self.page.value() * self.count + i
        value = v / SLIDER_STEPS
        self.values[item] = value
        self.readouts[i].setText(f"{value:+.2f}")
        self.sigValueChanged.emit(item, value)

    def visible_items(self) -> list[int]:
        start = self.page.value() * self.count
        return list(range(start, min(start + self.count, self.total)))

    def set_preview(self, row: int, pixmap):
        self.previews[row].setPixmap(pixmap)

    def set_values(self, values: dict[int, float]):
        self.values = dict(values)
        self._refresh()

    def reset(self):
        self.values.clear()
        self._refresh()
        self.sigReset.emit()


class LayerRange(QWidget):
    """Start/end layer of an edit in W (coarse / middle / fine presets)."""

    sigChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.start, self.end = QSpinBox(), QSpinBox()
        self.preset = QComboBox()
        self.preset.addItems(["all", "coarse", "middle", "fine"])
        row.addWidget(QLabel("layers"))
        row.addWidget(self.start)
        row.addWidget(QLabel("to"))
        row.addWidget(self.end)
        row.addWidget(self.preset)
        self.start.valueChanged.connect(lambda _: self.sigChanged.emit())
        self.end.valueChanged.connect(lambda _: self.sigChanged.emit())
        self.preset.currentTextChanged.connect(self._preset)
        self.num_ws = 1

    def set_num_ws(self, num_ws: int):
        self.num_ws = num_ws
        for w in (self.start, self.end):
            w.setRange(0, max(num_ws - 1, 0))
        self.start.setValue(0)
        self.end.setValue(num_ws - 1)

    def _preset(self, name):
        from gan_explorer.core.latent.ops import layer_groups

        if name == "all":
            lo, hi = 0, self.num_ws - 1
        else:
            group = layer_groups(self.num_ws)[name]
            if len(group) == 0:
                return
            lo, hi = group.start, group.stop - 1
        self.start.setValue(lo)
        self.end.setValue(hi)

    def value(self) -> tuple[int, int]:
        lo, hi = self.start.value(), self.end.value()
        return min(lo, hi), max(lo, hi)
