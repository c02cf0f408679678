"""Seed, truncation and noise controls, and the edits in force; they show the latent model's state
and forward changes to it."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from gan_explorer.gui.session_bridge import subscribe
from gan_explorer.gui.widgets.condition_panel import ConditionPanel
from gan_explorer.gui.widgets.slider_bank import QuietComboBox, QuietDoubleSpinBox, QuietSlider, QuietSpinBox, quiet

TIPS = {
    "seed": "The random seed that picks z (NVIDIA's convention: the same seed gives the same face as their tools). "
            "Type a number and press Enter, or use the arrows",
    "psi": "Truncation ψ: pulls w toward the average w (w_avg). 1 = off; below 1 gives more typical, cleaner but "
           "less varied images; 0 gives the average image; above 1 exaggerates",
    "cutoff": "Truncate only the first N layers of W+ (the coarse ones); 'all layers' truncates every layer",
    "noise": "Per-layer noise (StyleGAN): const = the fixed noise stored in the model (repeatable), random = fresh "
             "noise from the noise seed (hair and skin details change), none = no noise (smoother)",
    "noise_seed": "Seed of the random noise (noise mode 'random')",
    "move": "StyleGAN3 only: translate (x, y, in image units) and rotate the image through the synthesis "
            "network's input transform",
}


class LatentPanel(QWidget):
    def __init__(self, latent, viewer, parent=None):
        super().__init__(parent)
        self.latent = latent
        form = QFormLayout(self)
        self.seed = quiet(QuietSpinBox())
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)  # a typed seed is committed on Enter / focus-out, not per keystroke
        self.seed.setToolTip(TIPS["seed"])
        prev_btn, next_btn, rand_btn = QPushButton("◀"), QPushButton("▶"), QPushButton("Random")
        prev_btn.setToolTip("Previous seed")
        next_btn.setToolTip("Next seed")
        rand_btn.setToolTip("A random seed")
        for b in (prev_btn, next_btn):
            b.setFixedWidth(32)
        row = QHBoxLayout()
        row.addWidget(self.seed, 1)
        row.addWidget(prev_btn)
        row.addWidget(next_btn)
        row.addWidget(rand_btn)
        form.addRow("Seed", row)
        self.condition = ConditionPanel(latent, viewer)  # shows itself for conditional models only
        form.addRow(self.condition)
        prev_btn.clicked.connect(lambda: self.seed.setValue(max(self.seed.value() - 1, 0)))
        next_btn.clicked.connect(lambda: self.seed.setValue(self.seed.value() + 1))
        rand_btn.clicked.connect(lambda: self.seed.setValue(random.randrange(0, 100000)))
        self.seed.valueChanged.connect(lambda v: latent.set_seed(int(v)))

        self.psi_slider = quiet(QuietSlider(Qt.Horizontal))
        self.psi_slider.setRange(-100, 200)  # psi in [-1, 2], step 0.01
        self.psi_slider.setValue(100)
        self.psi = quiet(QuietDoubleSpinBox())
        self.psi.setRange(-1.0, 2.0)
        self.psi.setSingleStep(0.05)
        self.psi.setValue(1.0)
        self.psi.setKeyboardTracking(False)
        for w in (self.psi_slider, self.psi):
            w.setToolTip(TIPS["psi"])
        row = QHBoxLayout()
        row.addWidget(self.psi_slider, 1)
        row.addWidget(self.psi)
        form.addRow("Truncation ψ", row)
        self.psi_slider.valueChanged.connect(lambda v: self.psi.setValue(v / 100))
        self.psi_slider.sliderReleased.connect(latent.end_gesture)
        self.psi.valueChanged.connect(self._psi_changed)

        self.cutoff = quiet(QuietSpinBox())
        self.cutoff.setRange(0, 64)
        self.cutoff.setSpecialValueText("all layers")
        self.cutoff.setToolTip(TIPS["cutoff"])
        form.addRow("Truncation cutoff", self.cutoff)
        self.cutoff.valueChanged.connect(lambda v: latent.change(truncation_cutoff=int(v) or None))

        self.noise_mode = quiet(QuietComboBox())
        self.noise_mode.addItems(["const", "random", "none"])
        self.noise_mode.setToolTip(TIPS["noise"])
        self.noise_seed = quiet(QuietSpinBox())
        self.noise_seed.setRange(0, 2**31 - 1)
        self.noise_seed.setKeyboardTracking(False)
        self.noise_seed.setToolTip(TIPS["noise_seed"])
        row = QHBoxLayout()
        row.addWidget(self.noise_mode, 1)
        row.addWidget(self.noise_seed)
        form.addRow("Noise (mode, seed)", row)
        self.noise_mode.currentTextChanged.connect(lambda t: latent.change(noise_mode=t))
        self.noise_seed.valueChanged.connect(lambda v: latent.change(noise_seed=int(v)))

        # StyleGAN3: move the image (the synthesis input's transform).
        self.translate_x, self.translate_y, self.rotate = (quiet(QuietDoubleSpinBox()) for _ in range(3))
        for key, box, (lo, hi, step) in (("x", self.translate_x, (-1, 1, 0.02)), ("y", self.translate_y, (-1, 1, 0.02)),
                                         ("angle", self.rotate, (-180, 180, 1))):
            box.setRange(lo, hi)
            box.setSingleStep(step)
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda _v, key=key: self._transform_changed(key))
        self.rotate.setSuffix("°")
        row = QHBoxLayout()
        row.addWidget(self.translate_x)
        row.addWidget(self.translate_y)
        row.addWidget(self.rotate)
        form.addRow("Move (x, y, angle)", row)

        # The edits in force, always visible: an edit made in any tab shows here until it is reset.
        self.edits = QLabel("no edits")
        self.edits.setWordWrap(True)
        self.edits.setToolTip("Every edit applied to the image: z and w sliders, directions, library sliders, "
                              "style mixing")
        self.reset_edits_btn = QPushButton("Reset edits")
        self.reset_edits_btn.setToolTip("Remove every edit (one undo step): the image of the seed or latent alone")
        self.reset_edits_btn.clicked.connect(lambda: latent.reset_edits())
        row = QHBoxLayout()
        row.addWidget(self.edits, 1)
        row.addWidget(self.reset_edits_btn)
        form.addRow("Edits", row)
        self.setEnabled(False)
        subscribe(self, latent.events.changed, self.show_state)
        subscribe(self, viewer.events.model_opened, self._model_opened)

    def _transform_changed(self, key):
        transform = (self.translate_x.value(), self.translate_y.value(), self.rotate.value())
        self.latent.change(transform=transform)

    def _psi_changed(self, value):
        self.psi_slider.blockSignals(True)
        self.psi_slider.setValue(round(value * 100))
        self.psi_slider.blockSignals(False)
        self.latent.change("psi" if self.psi_slider.isSliderDown() else None, truncation_psi=float(value))

    def _model_opened(self, info):
        latent = not info.is_translation
        self.setEnabled(latent)
        if not latent:
            return
        self.cutoff.setMaximum(info.num_ws)
        has_noise = info.can("has_noise")
        self.noise_mode.setEnabled(has_noise)
        self.noise_seed.setEnabled(has_noise)
        self.noise_mode.setToolTip(TIPS["noise"] if has_noise else "this model has no noise inputs")
        movable = info.can("has_transform")
        for box in (self.translate_x, self.translate_y, self.rotate):
            box.setEnabled(movable)
            box.setToolTip(TIPS["move"] if movable else "only StyleGAN3 networks can be moved")
        truncates = info.can("has_mapping")
        # PGGAN normalises z before its first layer: scaling z (ψ) draws the same image.
        scale_free = info.family == "pggan"
        for w, tip in ((self.psi, TIPS["psi"]), (self.psi_slider, TIPS["psi"]), (self.cutoff, TIPS["cutoff"])):
            w.setEnabled(not scale_free)
            w.setToolTip(tip)
        if scale_free:
            for w in (self.psi, self.psi_slider, self.cutoff):
                w.setToolTip("PGGAN normalises z first, so truncation (scaling z) does not change its images")
        elif not truncates:
            self.psi.setToolTip(TIPS["psi"] + ". Without a mapping network, ψ scales z toward 0")

    def show_state(self, state):
        """Reflect a state (after undo, a bookmark, a map point...) without emitting changes."""
        from gan_explorer.core.explorer.latent import edits_of

        edits = edits_of(state)
        self.edits.setText(", ".join(e.label for e in edits[:6]) + (f" and {len(edits) - 6} more" if len(edits) > 6
                                                                     else "") if edits else "no edits")
        self.reset_edits_btn.setEnabled(bool(edits))
        self.seed.setToolTip(TIPS["seed"] + (". The image is an explicit latent now (a picture, a map point, a "
                                             "child): a seed replaces it" if state.ws else ""))
        # With explicit ws the seed is not what makes the image: the box says so instead of a bare number.
        self.seed.setPrefix("(latent) " if state.ws else "")
        for widget, value in ((self.seed, state.seed), (self.psi, state.truncation_psi),
                              (self.cutoff, state.truncation_cutoff or 0), (self.noise_seed, state.noise_seed),
                              (self.psi_slider, round(state.truncation_psi * 100))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.noise_mode.blockSignals(True)
        self.noise_mode.setCurrentText(state.noise_mode)
        self.noise_mode.blockSignals(False)
        for box, value in zip((self.translate_x, self.translate_y, self.rotate), state.transform):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
