"""Pictures into the model: CycleGAN translates them (A→B, B→A), a VAE / autoencoder encodes them."""

from __future__ import annotations

import random

from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from gan_explorer.core.explorer.requests import TranslatePicture, TranslateSample
from gan_explorer.gui.session_bridge import subscribe

PICTURE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp)"
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


class TranslatePanel(QWidget):
    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        self.explorer = explorer
        layout = QVBoxLayout(self)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.direction = QComboBox()
        self.direction.addItem("A → B", "AB")
        self.direction.addItem("B → A", "BA")
        self.direction.setToolTip("CycleGAN has two generators: domain A to B and back")
        layout.addWidget(self.direction)
        self.open_btn = QPushButton("Open picture…")
        self.open_btn.clicked.connect(self._open_dialog)
        layout.addWidget(self.open_btn)
        self.sample_btn = QPushButton("Random training sample")
        self.sample_btn.setToolTip("Translate a random picture of the dataset the model was trained on")
        self.sample_btn.clicked.connect(lambda: self.translate_training_sample())
        layout.addWidget(self.sample_btn)
        layout.addStretch(1)
        subscribe(self, explorer.events.model_opened, self._model_opened)

    def _model_opened(self, info):
        translation = info.is_translation
        self.direction.setEnabled(translation)
        self.sample_btn.setEnabled(translation and bool(info.provenance.get("data")))
        if translation:
            self.hint.setText("Drop a picture on the view, or open one: shown left as it is, right translated.")
        elif info.can("has_encoder"):
            self.hint.setText("Drop a picture on the view, or open one: the encoder turns it into a latent, "
                              "which becomes the current image (undoable, bookmarkable).")
        else:
            self.hint.setText("This model has no encoder and translates nothing.")

    def _open_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open picture", "", PICTURE_FILTER)
        if path:
            self.use_picture(path)

    def use_picture(self, picture):
        """Translate (CycleGAN) or encode (VAE / autoencoder) a picture path or HWC array."""
        info = self.explorer.info
        if info is None:
            return None
        if info.is_translation:
            return self.explorer.run_job(TranslatePicture(purpose="translate", picture=picture,
                                                          direction=self.direction.currentData()))
        if info.can("has_encoder"):
            return self.explorer.encode_picture(picture)
        self.explorer.events.message.emit("This model has no encoder: pictures cannot be turned into latents")
        return None

    def translate_training_sample(self, index: int | None = None):
        info = self.explorer.info
        direction = self.direction.currentData()
        spec = (info.provenance if info else {}).get("data" if direction == "AB" else "data_b")
        if not spec:
            self.explorer.events.message.emit("This model does not say which data it was trained on: open a picture")
            return None
        index = random.randrange(10**6) if index is None else index
        return self.explorer.run_job(TranslateSample(purpose="translate", data=spec, direction=direction, index=index))
