"""The Z, W and Directions tabs: slider banks that show the latent model's edits and forward moves."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QHBoxLayout, QInputDialog, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from gan_explorer.core.explorer.jobs import RenderBatch
from gan_explorer.gui.session_bridge import follow, subscribe
from gan_explorer.gui.widgets.image_view import array_to_qimage
from gan_explorer.gui.widgets.slider_bank import LayerRange, SliderBank

PREVIEW_STRENGTHS = (-2.0, 0.0, 2.0)


class ZPanel(QWidget):
    """Raw z dimensions. The readout shows z's value (the seed's value plus the edit)."""

    def __init__(self, latent, viewer, parent=None):
        super().__init__(parent)
        self.latent, self.viewer = latent, viewer
        self.base_z: np.ndarray | None = None
        layout = QVBoxLayout(self)
        hint = QLabel("Z: the random input. Each slider moves one dimension of z (in units of σ = 1, z's "
                      "spread); the readout shows z's value and the edit.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.bank = SliderBank(value_label=self._label)
        self.bank.setToolTip("Z is the input noise vector; the mapping network turns it into w")
        layout.addWidget(self.bank, 1)
        self.bank.sigValueChanged.connect(latent.set_z)
        self.bank.sigReleased.connect(latent.end_gesture)
        self.bank.sigReset.connect(lambda: latent.change(z_edits=()))
        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, latent.events.changed, self._state_changed)

    def _label(self, item, value):
        if self.base_z is None or item >= len(self.base_z):
            return f"{value:+.2f}"
        return f"{self.base_z[item] + value:+.2f} ({value:+.2f})"

    def _model_opened(self, info):
        if not info.is_translation:
            self.bank.set_items([f"z[{i}]" for i in range(info.z_dim)])
        self._state_changed(self.latent.state)

    def _state_changed(self, state):
        info = self.viewer.info
        if info is not None and not info.is_translation:
            if state.z:
                self.base_z = np.asarray(state.z, dtype=np.float64)
            else:
                from gan_explorer.core.models.base import z_from_seed

                self.base_z = z_from_seed(state.seed, info.z_dim)[0]
        self.bank.set_values({int(d): v for d, v in state.z_edits})


class WPanel(QWidget):
    """Raw w dimensions over a layer range, in units of the real spread of sampled w."""

    def __init__(self, latent, viewer, parent=None):
        super().__init__(parent)
        self.latent = latent
        layout = QVBoxLayout(self)
        hint = QLabel("W: the mapping network's output. Each slider moves one dimension of w, in units of its "
                      "own σ (measured from 2000 sampled w when the model opened), over the chosen layers (W+).")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.range = LayerRange()
        layout.addWidget(self.range)
        self.bank = SliderBank()
        layout.addWidget(self.bank, 1)
        self.bank.sigValueChanged.connect(lambda dim, v: latent.set_w(dim, v, self.range.value()))
        self.bank.sigReleased.connect(latent.end_gesture)
        self.bank.sigReset.connect(lambda: latent.clear_offsets("w:"))
        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, latent.events.changed, lambda _s: self.bank.set_values(latent.w_values()))

    def _model_opened(self, info):
        if info.is_translation:
            return
        std = info.w_std if info.w_std is not None else np.ones(info.w_dim)
        self.bank.set_items([f"w[{i}]" for i in range(info.w_dim)],
                            [f"w[{i}]: σ = {std[i]:.3f} (spread of sampled w)" for i in range(info.w_dim)])
        self.range.set_num_ws(info.num_ws)


class DirectionsPanel(QWidget):
    """Directions found by PCA (GANSpace) or SeFa, with a preview strip per visible slider."""

    def __init__(self, directions, latent, viewer, parent=None):
        super().__init__(parent)
        self.directions, self.latent, self.viewer = directions, latent, viewer
        self.previewing = None  # the preview strips' job
        self._preview_rows: list[int] = []
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.method = QComboBox()
        self.method.addItem("PCA of w (GANSpace)", "pca")
        self.method.addItem("Closed-form (SeFa)", "sefa")
        self.method.setToolTip("PCA (GANSpace): the main axes along which sampled w vary. SeFa: the directions "
                               "that change the style layers' input the most, computed from the weights alone")
        self.find_btn = QPushButton("Find directions")
        self.find_btn.setToolTip("Compute 20 directions for the open model (in the background)")
        self.find_btn.clicked.connect(self.find)
        row.addWidget(self.method, 1)
        row.addWidget(self.find_btn)
        layout.addLayout(row)
        self.range = LayerRange()
        layout.addWidget(self.range)
        self.preview_btn = QPushButton("Preview this page (−2σ, 0, +2σ)")
        self.preview_btn.setToolTip("Render each visible direction at −2σ, 0 and +2σ from the current image")
        self.preview_btn.clicked.connect(self.preview)
        self.preview_btn.setEnabled(False)
        layout.addWidget(self.preview_btn)
        row = QHBoxLayout()
        self.save_index = QSpinBox()
        self.save_index.setPrefix("direction ")
        self.save_index.setToolTip("Which direction to name (its number in the list below)")
        self.save_strength = QDoubleSpinBox()
        self.save_strength.setRange(-10, 10)
        self.save_strength.setValue(2.0)
        self.save_strength.setSuffix(" σ")
        self.save_strength.setToolTip("Its default strength")
        self.save_btn = QPushButton("Save to library…")
        self.save_btn.setToolTip("Name this direction (with the layer range above) and keep it in this model's "
                                 "library: it appears as a named slider in the Library tab")
        self.save_btn.clicked.connect(self._save_dialog)
        self.save_btn.setEnabled(False)
        row.addWidget(self.save_index)
        row.addWidget(self.save_strength)
        row.addWidget(self.save_btn)
        layout.addLayout(row)
        self.bank = SliderBank()
        layout.addWidget(self.bank, 1)
        self.bank.sigValueChanged.connect(lambda i, v: directions.set_value(i, v, self.range.value()))
        self.bank.sigReleased.connect(latent.end_gesture)
        self.bank.sigReset.connect(lambda: latent.clear_offsets("d:"))
        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, directions.events.found, self._directions_changed)
        subscribe(self, latent.events.changed, lambda _s: self.bank.set_values(directions.values()))

    def _model_opened(self, info):
        if not info.is_translation:
            self.range.set_num_ws(info.num_ws)
            sefa = self.method.findData("sefa")
            self.method.model().item(sefa).setEnabled(info.can("has_mapping"))
            if not info.can("has_mapping"):
                self.method.setCurrentIndex(0)

    def find(self):
        if self.viewer.info is None:
            return None
        self.find_btn.setEnabled(False)
        return self.directions.find(self.method.currentData())

    def save_direction(self, index: int, name: str):
        return self.directions.save_found(index, name, self.range.value(), self.save_strength.value())

    def _save_dialog(self):
        d = self.directions.found
        if d is None:
            return
        index = self.save_index.value()
        name, ok = QInputDialog.getText(self, "Name the direction", "Name (e.g. smile, glasses, age):",
                                        text=d.names[index])
        if ok and name.strip():
            self.save_direction(index, name.strip())

    def _directions_changed(self, directions):
        self.find_btn.setEnabled(True)
        self.preview_btn.setEnabled(directions is not None)
        self.save_btn.setEnabled(directions is not None)
        self.save_index.setRange(0, max(len(directions.names) - 1, 0) if directions is not None else 0)
        self.bank.set_items(directions.names if directions is not None else [])

    def preview(self):
        """A strip of three small images per visible direction: the current image pushed by -2, 0, +2 sigma."""
        if self.directions.found is None:
            return None
        rows = self.bank.visible_items()
        states = [self.directions.offset_state(item, amount, self.range.value())
                  for item in rows for amount in PREVIEW_STRENGTHS]
        self.preview_btn.setEnabled(False)
        self._preview_rows = rows
        self.previewing = follow(self, self.viewer.submit(RenderBatch(states=tuple(states))),
                                 on_done=self._previews_done)
        return self.previewing

    def _previews_done(self, handle):
        self.preview_btn.setEnabled(self.directions.found is not None)
        if not handle.ok:
            return
        images = handle.result.images
        visible = self.bank.visible_items()
        for k, item in enumerate(self._preview_rows):
            if item not in visible:
                continue  # the page changed meanwhile
            strip = np.concatenate(images[3 * k: 3 * k + 3], axis=1)
            pixmap = QPixmap.fromImage(array_to_qimage(strip))  # the bank scales it once, to its row
            self.bank.set_preview(visible.index(item), pixmap)
