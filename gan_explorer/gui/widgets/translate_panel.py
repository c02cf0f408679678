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
TUNED_TITLE = " [tuned to a photo]"  # added to the window's title while the latent renders through a tuning


class TranslatePanel(QWidget):
    def __init__(self, pictures, viewer, parent=None):
        super().__init__(parent)
        self.pictures, self.viewer = pictures, viewer
        self.projecting = None
        self.tuning = None
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
        # Pivotal tuning (issue #28): a W pivot, then the weights tuned so that it renders the photo.
        row = QHBoxLayout()
        self.keep_likeness = QCheckBox("Keep the likeness (pivotal tuning)")
        self.keep_likeness.setToolTip("Project into W (editable), then fine-tune the generator's weights briefly so "
                                      "that the latent renders the photo itself; edits act on the latent and render "
                                      "through the tuned weights. Stored in the data folder and carried by exports")
        self.tune_steps = QSpinBox()
        self.tune_steps.setRange(1, 2000)
        self.tune_steps.setValue(100)
        self.tune_steps.setSuffix(" tuning steps")
        self.tune_steps.setToolTip("The step budget of the tuning (the paper: a few hundred; ~1-2 s a step for "
                                   "the 64 px demo on a laptop CPU)")
        # The tuning's pivot is a W projection: the space box says so while the choice is on.
        self.keep_likeness.toggled.connect(self._likeness_toggled)
        row.addWidget(self.keep_likeness)
        row.addWidget(self.tune_steps)
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
        row = QHBoxLayout()
        self.tuning_label = QLabel()
        self.tuning_label.setWordWrap(True)
        self.base_btn = QPushButton("Base model")
        self.base_btn.setToolTip("Render the current latent with the base model again (undoable)")
        self.base_btn.clicked.connect(self.pictures.return_to_base)
        row.addWidget(self.tuning_label, 1)
        row.addWidget(self.base_btn)
        box.addLayout(row)
        self._show_tuning(self.pictures.latent.state)
        layout.addWidget(self.project_box)
        layout.addStretch(1)
        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, pictures.events.tuning, self._tuning_started)
        subscribe(self, pictures.latent.events.changed, self._show_tuning)

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
        tune_steps = self.tune_steps.value() if self.keep_likeness.isChecked() else 0
        handle = self.pictures.project(picture, self.space.currentData(), self.steps.value(), self.loss.currentData(),
                                       crop, tune_steps=tune_steps)
        self.projecting = follow(self, handle, self._projection_progress, self._projection_done)
        return self.projecting

    def cancel(self):
        """Stop the projection, or the tuning after it (which leaves the plain projection)."""
        if self.projecting is not None:
            self.projecting.cancel()
        if self.tuning is not None:
            self.tuning.cancel()

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
        tuning_next = self.tuning is not None
        self.project_btn.setEnabled(not tuning_next)
        self.cancel_btn.setEnabled(tuning_next)
        if not handle.ok:
            return
        projection = handle.result
        self.last_projection = projection
        self._compare(projection.target[0], projection.images[0])

    def _compare(self, *images):
        """Before | projected (| tuned), side by side under the controls."""
        row = np.ascontiguousarray(np.concatenate(images, axis=1))
        self.target.setPixmap(QPixmap.fromImage(array_to_qimage(row)).scaledToHeight(96, Qt.SmoothTransformation))

    def _tuning_started(self, handle):
        self.tuning = handle
        self.project_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setValue(0)
        follow(self, handle, self._projection_progress, self._tuning_done)

    def _tuning_done(self, handle):
        self.tuning = None
        self.project_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        if handle.ok:
            tuned = handle.result
            self._compare(tuned.target, tuned.projected, tuned.tuned)
            self.target.setToolTip(f"The photo as the model sees it | the W projection ({tuned.pivot_psnr:.1f} dB) "
                                   f"| tuned ({tuned.psnr:.1f} dB)")

    def _likeness_toggled(self, on: bool):
        if on:
            self.space.setCurrentIndex(self.space.findData("w"))
        self.space.setEnabled(not on)

    def _show_tuning(self, state):
        """Whether the current latent renders through a tuning, and the way back to the base model."""
        tuned = bool(getattr(state, "tuning", ""))
        self.tuning_label.setText(f"Tuning applied ({state.tuning[:8]}): the generator is tuned to the photo"
                                  if tuned else "")
        self.base_btn.setVisible(tuned)
        window = self.window()
        if window is not self:  # the title says it too, wherever the user looks
            title = window.windowTitle().replace(TUNED_TITLE, "")
            window.setWindowTitle(title + TUNED_TITLE if tuned else title)

    def translate_training_sample(self, index: int | None = None):
        index = random.randrange(10**6) if index is None else index
        return self.pictures.translate_sample(self.direction.currentData(), index)
