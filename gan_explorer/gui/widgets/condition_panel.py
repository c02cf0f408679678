"""The class or factor selector of a conditional model (hidden for every other model)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QWidget

from gan_explorer.core.explorer.conditions import class_condition, class_of, current_condition, factor_range, \
    with_factor
from gan_explorer.gui.session_bridge import subscribe
from gan_explorer.gui.widgets.slider_bank import QuietComboBox, QuietSlider, quiet

SLIDER_STEPS = 100  # a factor slider's resolution over the factor's range

TIPS = {
    "class": "This model was trained with class labels: it draws the class you choose. The seed keeps the same z; "
             "the class enters the mapping network, so the same seed looks alike across classes",
    "factor": "This model was trained conditioned on this factor of the procedural faces: it draws the value you "
              "set (values outside the trained range extrapolate)",
}


class ConditionPanel(QWidget):
    """A combo box of classes, or one slider per conditioning factor; edits go to Explorer.set_condition."""

    def __init__(self, latent, viewer, parent=None):
        super().__init__(parent)
        self.latent = latent
        self.info = None
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.classes = quiet(QuietComboBox())
        self.classes.setToolTip(TIPS["class"])
        self.classes.currentIndexChanged.connect(self._class_chosen)
        self.factor_sliders: dict[str, tuple[QuietSlider, QLabel]] = {}
        self.setVisible(False)
        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, latent.events.changed, self.show_state)

    def _clear(self):
        """Remove every row of the previous model; takeRow leaves the row's name label alive (it
        would be drawn over the next model's rows), so it is deleted here too."""
        while self.form.rowCount():
            row = self.form.takeRow(0)
            label = row.labelItem.widget() if row.labelItem is not None else None
            if label is not None:
                label.hide()
                label.deleteLater()
        for slider, label in self.factor_sliders.values():
            slider.deleteLater()
            label.deleteLater()
        self.factor_sliders.clear()

    def _model_opened(self, info):
        self.info = info if getattr(info, "c_dim", 0) else None
        self._clear()
        self.setVisible(self.info is not None)
        if self.info is None:
            return
        if info.c_kind == "class":
            self.classes.blockSignals(True)
            self.classes.clear()
            self.classes.addItems(list(info.c_names))
            self.classes.blockSignals(False)
            self.form.addRow("Class", self.classes)
            self.classes.setVisible(True)
        else:
            self.classes.setVisible(False)
            for name in info.c_names:
                self._add_factor(name)
        self.show_state(self.latent.state)

    def _add_factor(self, name):
        low, high = factor_range(name)
        slider = quiet(QuietSlider(Qt.Horizontal))
        slider.setRange(0, SLIDER_STEPS)
        slider.setToolTip(f"{TIPS['factor']}: {name} from {low:g} to {high:g}")
        label = QLabel()
        label.setMinimumWidth(36)
        row = QHBoxLayout()
        row.addWidget(slider, 1)
        row.addWidget(label)
        self.form.addRow(name.replace("_", " "), row)
        slider.valueChanged.connect(lambda v, name=name: self._factor_moved(name, v))
        slider.sliderReleased.connect(self.latent.end_gesture)
        self.factor_sliders[name] = (slider, label)

    def _class_chosen(self, index):
        if self.info is not None and index >= 0:
            self._set_condition(class_condition(self.info, index))

    def _factor_moved(self, name, step):
        low, high = factor_range(name)
        value = low + (high - low) * step / SLIDER_STEPS
        slider, label = self.factor_sliders[name]
        label.setText(f"{value:.2f}")
        condition = with_factor(self.info, self.latent.state.condition, name, value)
        self._set_condition(condition, gesture=f"c:{name}" if slider.isSliderDown() else None)

    def _set_condition(self, condition, gesture: str | None = None):
        """Condition the model (a one-hot class or factor values): one undo step."""
        if self.info is not None and len(condition) == self.info.c_dim:
            self.latent.change(gesture, condition=tuple(float(v) for v in condition))

    def show_state(self, state):
        """Reflect a state's condition (undo, a bookmark, a dropped picture) without emitting changes."""
        if self.info is None or state is None:
            return
        if self.info.c_kind == "class":
            self.classes.blockSignals(True)
            self.classes.setCurrentIndex(class_of(self.info, state.condition))
            self.classes.blockSignals(False)
            return
        for name, value in zip(self.info.c_names, current_condition(self.info, state.condition)):
            slider, label = self.factor_sliders[name]
            low, high = factor_range(name)
            slider.blockSignals(True)
            slider.setValue(round((value - low) / (high - low) * SLIDER_STEPS))
            slider.blockSignals(False)
            label.setText(f"{value:.2f}")
