"""Seed, truncation and noise controls."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QPushButton, QSlider, QSpinBox, QWidget,
)


class LatentPanel(QWidget):
    sigChanged = Signal(dict, str)  # changes for LatentState, gesture key

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        prev_btn, next_btn, rand_btn = QPushButton("◀"), QPushButton("▶"), QPushButton("Random")
        for b in (prev_btn, next_btn):
            b.setFixedWidth(32)
        row = QHBoxLayout()
        row.addWidget(self.seed, 1)
        row.addWidget(prev_btn)
        row.addWidget(next_btn)
        row.addWidget(rand_btn)
        form.addRow("Seed", row)
        prev_btn.clicked.connect(lambda: self.seed.setValue(max(self.seed.value() - 1, 0)))
        next_btn.clicked.connect(lambda: self.seed.setValue(self.seed.value() + 1))
        rand_btn.clicked.connect(lambda: self.seed.setValue(random.randrange(0, 100000)))
        self.seed.valueChanged.connect(lambda v: self.sigChanged.emit({"seed": int(v), "z": (), "ws": ()}, ""))

        self.psi_slider = QSlider(Qt.Horizontal)
        self.psi_slider.setRange(-100, 200)  # psi in [-1, 2], step 0.01
        self.psi_slider.setValue(100)
        self.psi = QDoubleSpinBox()
        self.psi.setRange(-1.0, 2.0)
        self.psi.setSingleStep(0.05)
        self.psi.setValue(1.0)
        row = QHBoxLayout()
        row.addWidget(self.psi_slider, 1)
        row.addWidget(self.psi)
        form.addRow("Truncation ψ", row)
        self.psi_slider.valueChanged.connect(lambda v: self.psi.setValue(v / 100))
        self.psi.valueChanged.connect(self._psi_changed)

        self.cutoff = QSpinBox()
        self.cutoff.setRange(0, 64)
        self.cutoff.setSpecialValueText("all layers")
        form.addRow("Truncation cutoff", self.cutoff)
        self.cutoff.valueChanged.connect(
            lambda v: self.sigChanged.emit({"truncation_cutoff": int(v) or None}, "cutoff"))

        self.noise_mode = QComboBox()
        self.noise_mode.addItems(["const", "random", "none"])
        self.noise_seed = QSpinBox()
        self.noise_seed.setRange(0, 2**31 - 1)
        row = QHBoxLayout()
        row.addWidget(self.noise_mode, 1)
        row.addWidget(self.noise_seed)
        form.addRow("Noise (mode, seed)", row)
        self.noise_mode.currentTextChanged.connect(lambda t: self.sigChanged.emit({"noise_mode": t}, ""))
        self.noise_seed.valueChanged.connect(lambda v: self.sigChanged.emit({"noise_seed": int(v)}, "noise_seed"))

        # StyleGAN3: move the image (the synthesis input's transform).
        self.translate_x, self.translate_y, self.rotate = QDoubleSpinBox(), QDoubleSpinBox(), QDoubleSpinBox()
        for key, box, (lo, hi, step) in (("x", self.translate_x, (-1, 1, 0.02)), ("y", self.translate_y, (-1, 1, 0.02)),
                                         ("angle", self.rotate, (-180, 180, 1))):
            box.setRange(lo, hi)
            box.setSingleStep(step)
            box.valueChanged.connect(lambda _v, key=key: self._transform_changed(key))
        self.rotate.setSuffix("°")
        row = QHBoxLayout()
        row.addWidget(self.translate_x)
        row.addWidget(self.translate_y)
        row.addWidget(self.rotate)
        form.addRow("Move (x, y, angle)", row)
        self.set_transform_enabled(False)

    def _transform_changed(self, key):
        transform = (self.translate_x.value(), self.translate_y.value(), self.rotate.value())
        self.sigChanged.emit({"transform": transform}, f"transform_{key}")

    def set_transform_enabled(self, enabled: bool):
        for box in (self.translate_x, self.translate_y, self.rotate):
            box.setEnabled(enabled)
            box.setToolTip("" if enabled else "only StyleGAN3 networks can be moved")

    def _psi_changed(self, value):
        self.psi_slider.blockSignals(True)
        self.psi_slider.setValue(round(value * 100))
        self.psi_slider.blockSignals(False)
        self.sigChanged.emit({"truncation_psi": float(value)}, "psi")

    def show_state(self, state, num_ws=None, has_noise=True):
        """Reflect a state (after undo, a bookmark...) without emitting changes."""
        for widget, value in ((self.seed, state.seed), (self.psi, state.truncation_psi),
                              (self.cutoff, state.truncation_cutoff or 0), (self.noise_seed, state.noise_seed)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.psi_slider.blockSignals(True)
        self.psi_slider.setValue(round(state.truncation_psi * 100))
        self.psi_slider.blockSignals(False)
        self.noise_mode.blockSignals(True)
        self.noise_mode.setCurrentText(state.noise_mode)
        self.noise_mode.blockSignals(False)
        for box, value in zip((self.translate_x, self.translate_y, self.rotate), state.transform):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        if num_ws is not None:
            self.cutoff.setMaximum(num_ws)
        self.noise_mode.setEnabled(has_noise)
        self.noise_seed.setEnabled(has_noise)
