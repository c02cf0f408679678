"""Pictures into the model: CycleGAN translates them (A→B, B→A), a VAE / autoencoder encodes them."""

from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from gan_explorer.core.explorer.pictures import PICTURE_SUFFIXES  # noqa: F401  (the window's drop test)
from gan_explorer.gui.session_bridge import follow, subscribe
from gan_explorer.gui.widgets.image_view import array_to_qimage

PICTURE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp)"


class TranslatePanel(QWidget):
    def __init__(self, pictures, viewer, parent=None):
        super().__init__(parent)
        self.pictures, self.viewer = pictures, viewer
        self.projecting = None
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

        # Projection: any GAN finds the latent of a picture by optimisation (core/latent/projection.py).
        self.project_box = QWidget()
        box = QVBoxLayout(self.project_box)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.space = QComboBox()
        for text, value in (("W+ (closest)", "w+"), ("W (editable)", "w"), ("Z", "z")):
            self.space.addItem(text, value)
        self.space.setToolTip("W+: one w per layer, the closest reconstruction; W: one w, edits behave better; "
                              "Z: the input noise (GAN / DCGAN)")
        self.steps = QSpinBox()
        self.steps.setRange(10, 5000)
        self.steps.setValue(300)
        self.steps.setSuffix(" steps")
        self.loss = QComboBox()
        for value in ("auto", "perceptual", "structural", "l2", "l1"):
            self.loss.addItem(value, value)
        self.loss.setToolTip("auto: perceptual on the offline faces network where it fits, else MS-SSIM + "
                             "gradients; l2 / l1: pixels only (blurrier)")
        self.choose_crop = QCheckBox("Choose the crop")
        self.choose_crop.setToolTip("Off: the largest centred square of the picture. On: a box over the picture "
                                    "says which square the model should reconstruct")
        for w in (self.space, self.steps, self.loss, self.choose_crop):
            row.addWidget(w)
        box.addLayout(row)
        row = QHBoxLayout()
        self.project_btn = QPushButton("Project picture…")
        self.project_btn.setToolTip("Find the latent whose image looks like a picture of yours; it becomes the "
                                    "current image (undoable), ready to edit")
        self.project_btn.clicked.connect(self._project_dialog)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel)
        row.addWidget(self.project_btn)
        row.addWidget(self.cancel_btn)
        box.addLayout(row)
        self.progress = QProgressBar()
        box.addWidget(self.progress)
        self.target = QLabel()
        self.target.setAlignment(Qt.AlignCenter)
        self.target.setToolTip("The picture as the model sees it (cropped and resized), beside the result")
        box.addWidget(self.target)
        layout.addWidget(self.project_box)
        layout.addStretch(1)
        subscribe(self, viewer.events.model_opened, self._model_opened)

    def _model_opened(self, info):
        translation = info.is_translation
        self.direction.setEnabled(translation)
        self.sample_btn.setEnabled(translation and bool(info.provenance.get("data")))
        if translation:
            self.hint.setText("Drop a picture on the view, or open one: shown left as it is, right translated.")
        elif info.can("has_encoder"):
            self.hint.setText("Drop a picture on the view, or open one: the encoder turns it into a latent, "
                              "which becomes the current image (undoable, bookmarkable). Projection below "
                              "optimises it further.")
        else:
            self.hint.setText("Drop a picture on the view, or use Project picture: the latent whose image looks "
                              "like it is found by optimisation and becomes the current image.")
        self.project_box.setVisible(not translation)
        self.target.clear()
        self.progress.setValue(0)  # no stale bar from the previous model
        self.project_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        space_z = self.space.findData("z")
        self.space.model().item(space_z).setEnabled(not info.can("has_mapping") or info.family == "stylegan")
        if not info.can("has_mapping"):
            self.space.setCurrentIndex(space_z)

    def _open_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open picture", "", PICTURE_FILTER)
        if path:
            self.use_picture(path)

    def use_picture(self, picture):
        """Translate (CycleGAN) or encode (VAE / autoencoder) a picture path or HWC array."""
        info = self.viewer.info
        if info is None:
            return None
        if info.is_translation:
            return self.pictures.translate(picture, self.direction.currentData())
        if info.can("has_encoder"):
            return self.pictures.encode(picture)
        return self.project(picture)

    def _project_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Project a picture", "", PICTURE_FILTER)
        if path:
            self.project(path)

    def project(self, picture, crop=None):
        """Project a picture (path or HWC array) as a worker job with progress, previews and Cancel;
        `crop` (left, top, right, bottom), else the crop box the user draws when "Choose the crop" is on."""
        if crop is None and self.choose_crop.isChecked():
            crop = self.ask_crop(picture)
            if crop is None:
                return None
        self.project_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setValue(0)
        handle = self.pictures.project(picture, self.space.currentData(), self.steps.value(), self.loss.currentData(),
                                       crop)
        self.projecting = follow(self, handle, self._projection_progress, self._projection_done)
        return self.projecting

    def cancel(self):
        if self.projecting is not None:
            self.projecting.cancel()

    def ask_crop(self, picture, dialog_factory=None):
        """The crop box the user chooses over the picture, or None (cancelled, or unreadable: one line)."""
        from gan_explorer.core.errors import GanExplorerError
        from gan_explorer.gui.widgets.crop_dialog import CropDialog

        try:
            dialog = (dialog_factory or CropDialog)(picture, self)
        except GanExplorerError as exc:
            self.viewer.events.message.emit(str(exc))
            return None
        if dialog.exec() != QDialog.Accepted:
            return None
        return dialog.crop_box()

    def _projection_progress(self, progress):
        self.progress.setMaximum(progress.total)
        self.progress.setValue(progress.done)

    def _projection_done(self, handle):
        self.projecting = None
        self.project_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        if not handle.ok:
            return
        projection = handle.result
        self.last_projection = projection
        target = np.ascontiguousarray(np.concatenate([projection.target[0], projection.images[0]], axis=1))
        self.target.setPixmap(QPixmap.fromImage(array_to_qimage(target)).scaledToHeight(96, Qt.SmoothTransformation))

    def translate_training_sample(self, index: int | None = None):
        index = random.randrange(10**6) if index is None else index
        return self.pictures.translate_sample(self.direction.currentData(), index)
