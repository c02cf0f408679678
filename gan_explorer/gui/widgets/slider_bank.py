"""A pageable bank of sliders over raw z or w dimensions or directions, as many as fit the height."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox, QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QLayout, QPushButton, QSlider,
    QSpinBox, QVBoxLayout, QWidget,
)

SLIDER_STEPS = 100  # slider units per sigma
ROW_SPACING = 2     # pixels between slider rows
ROW_HEIGHT = 26     # pixels per slider row, for fitting rows to the height
PREVIEW_HEIGHT = ROW_HEIGHT - ROW_SPACING  # a preview strip is scaled to fit its row: rows never grow
TOP_HEIGHT = 40     # the page / range / reset row above the sliders
MIN_ROWS, MAX_ROWS = 4, 40


class NoWheelUnlessFocused:
    """Mixin: the mouse wheel changes the control only once it has focus (scrolling a form must
    not change the value under the pointer)."""

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class QuietSlider(NoWheelUnlessFocused, QSlider):
    pass


class QuietSpinBox(NoWheelUnlessFocused, QSpinBox):
    pass


class QuietDoubleSpinBox(NoWheelUnlessFocused, QDoubleSpinBox):
    pass


class QuietComboBox(NoWheelUnlessFocused, QComboBox):
    pass


def quiet(widget):
    widget.setFocusPolicy(Qt.StrongFocus)  # wheel focus would defeat the purpose
    return widget


class SliderBank(QWidget):
    """Sliders for items [page * rows, ...); values are in units of sigma. The number of rows
    follows the widget's height, so a tall dock shows more sliders instead of empty space."""

    sigValueChanged = Signal(int, float)   # item index, value
    sigReleased = Signal()
    sigReset = Signal()

    def __init__(self, parent=None, value_label=None):
        super().__init__(parent)
        self.total = 0
        self.values: dict[int, float] = {}
        self.names: list[str] = []
        self.tooltips: list[str] = []
        self.value_label = value_label  # item, value -> readout text (e.g. z's value besides the offset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # The bank's minimum height is MIN_ROWS rows (minimumSizeHint), not the rows it shows now:
        # it fits its rows to whatever height it gets, so it must be allowed to get less.
        layout.setSizeConstraint(QLayout.SetNoConstraint)
        top = QHBoxLayout()
        self.page = quiet(QuietSpinBox())
        self.page.setPrefix("page ")
        self.page.setToolTip("Which sliders are shown: the items are paged, as many per page as fit")
        self.page_label = QLabel("of 0")
        self.range = quiet(QuietDoubleSpinBox())
        self.range.setRange(0.5, 20)
        self.range.setValue(3.0)
        self.range.setSuffix(" σ")
        self.range.setToolTip("How far the sliders reach, in standard deviations (σ) of sampled latents")
        self.reset_btn = QPushButton("Reset")
        self.reset_btn.setToolTip("Set every slider of this tab back to 0")
        top.addWidget(self.page)
        top.addWidget(self.page_label)
        top.addStretch(1)
        top.addWidget(QLabel("range ±"))
        top.addWidget(self.range)
        top.addWidget(self.reset_btn)
        layout.addLayout(top)
        self.grid = QGridLayout()
        self.grid.setVerticalSpacing(ROW_SPACING)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        self.labels, self.sliders, self.readouts, self.previews = [], [], [], []
        self.page.valueChanged.connect(lambda _: self._refresh())
        self.range.valueChanged.connect(lambda _: self._refresh())
        self.reset_btn.clicked.connect(self.reset)
        self._set_rows(8)
        self.set_items([])

    @property
    def count(self) -> int:
        return len(self.sliders)

    def _set_rows(self, rows: int):
        """Grow or shrink to `rows` slider rows (rows are hidden, not destroyed, when shrinking)."""
        while len(self.sliders) < rows:
            i = len(self.sliders)
            label, slider, readout, preview = QLabel(), quiet(QuietSlider(Qt.Horizontal)), QLabel("0.00"), QLabel()
            readout.setMinimumWidth(52)
            preview.setFixedHeight(PREVIEW_HEIGHT)  # shown or not, a strip never makes its row taller
            preview.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
            slider.valueChanged.connect(lambda v, i=i: self._slider_moved(i, v))
            slider.sliderReleased.connect(self.sigReleased.emit)
            for col, widget in enumerate((label, slider, readout, preview)):
                self.grid.addWidget(widget, i, col)
            self.labels.append(label)
            self.sliders.append(slider)
            self.readouts.append(readout)
            self.previews.append(preview)
        self._rows = rows

    def rows(self) -> int:
        return self._rows

    def minimumSizeHint(self) -> QSize:
        """As wide as the rows need, as high as MIN_ROWS rows: the rows shown follow the height."""
        width = self.layout().minimumSize().width()
        return QSize(width, TOP_HEIGHT + MIN_ROWS * ROW_HEIGHT)

    def sizeHint(self) -> QSize:
        return QSize(self.layout().sizeHint().width(), TOP_HEIGHT + 8 * ROW_HEIGHT)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        fit = max(MIN_ROWS, min(MAX_ROWS, (self.height() - TOP_HEIGHT) // ROW_HEIGHT))
        if fit != self._rows:
            first = self.page.value() * self._rows
            self._set_rows(fit)
            self._repage(first)

    def _repage(self, first_item: int = 0):
        pages = max((self.total + self._rows - 1) // self._rows, 1)
        self.page.blockSignals(True)
        self.page.setRange(0, pages - 1)
        self.page.setValue(min(first_item // self._rows, pages - 1))
        self.page.blockSignals(False)
        self.page_label.setText(f"of {pages}")
        self._refresh()

    def set_items(self, names: list[str], tooltips: list[str] | None = None):
        self.names = list(names)
        self.tooltips = list(tooltips or [])
        self.total = len(names)
        self.values.clear()
        self._repage(0)

    def _refresh(self):
        limit = self.range.value()
        for i, (label, slider, readout) in enumerate(zip(self.labels, self.sliders, self.readouts)):
            item = self.page.value() * self._rows + i
            visible = i < self._rows and item < self.total
            for w in (label, slider, readout, self.previews[i]):
                w.setVisible(visible)
            self.previews[i].clear()  # previews belong to the page they were made for
            if not visible:
                continue
            label.setText(self.names[item])
            if item < len(self.tooltips):
                label.setToolTip(self.tooltips[item])
            slider.blockSignals(True)
            slider.setRange(int(-limit * SLIDER_STEPS), int(limit * SLIDER_STEPS))
            slider.setValue(int(round(self.values.get(item, 0.0) * SLIDER_STEPS)))
            slider.blockSignals(False)
            readout.setText(self._readout(item))

    def _readout(self, item: int) -> str:
        value = self.values.get(item, 0.0)
        return self.value_label(item, value) if self.value_label else f"{value:+.2f}"

    def _slider_moved(self, i, v):
        item = self.page.value() * self._rows + i
        value = v / SLIDER_STEPS
        self.values[item] = value
        self.readouts[i].setText(self._readout(item))
        self.sigValueChanged.emit(item, value)

    def visible_items(self) -> list[int]:
        start = self.page.value() * self._rows
        return list(range(start, min(start + self._rows, self.total)))

    def set_preview(self, row: int, pixmap):
        """Show `pixmap` (a strip of images) beside slider `row`, scaled down to the row's height so
        that the rows, the bank and the window keep their size."""
        if pixmap is not None and not pixmap.isNull() and pixmap.height() > PREVIEW_HEIGHT:
            pixmap = pixmap.scaledToHeight(PREVIEW_HEIGHT, Qt.SmoothTransformation)
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
        self.start, self.end = quiet(QuietSpinBox()), quiet(QuietSpinBox())
        self.preset = quiet(QuietComboBox())
        self.preset.addItems(["all", "coarse", "middle", "fine"])
        self.preset.setToolTip("Which layers of W+ the edit moves. Coarse layers (low resolutions) decide pose "
                               "and shape, middle ones features, fine ones colour and texture")
        for box in (self.start, self.end):
            box.setToolTip("First and last layer (of num_ws) the edit applies to")
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
        self.setEnabled(num_ws > 1)

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


__all__ = ["LayerRange", "SliderBank", "QuietSpinBox", "QuietDoubleSpinBox", "QuietComboBox", "QuietSlider",
           "quiet", "QAbstractSpinBox"]
