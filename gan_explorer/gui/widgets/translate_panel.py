"""Pictures into the model: CycleGAN translates them (A→B, B→A), a VAE / autoencoder encodes them."""

from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from gan_explorer.core.explorer.requests import Call, TranslatePicture, TranslateSample
from gan_explorer.gui.session_bridge import JobTracker, subscribe
from gan_explorer.gui.widgets.image_view import array_to_qimage


def _projection_job(model, context, picture, space, steps, loss, crop=None):
    """A job: project a picture (path or HWC array) into the model; previews go to the progress."""
    from gan_explorer.core.latent.projection import project

    def progress(step, total, loss_value, preview):
        context.progress(step, total, f"loss {loss_value:.4g}", preview)

    return project(model, picture, space=space, steps=steps, loss=loss, crop=crop, progress=progress,
                   should_stop=context.check)

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
        self.cancel_btn.clicked.connect(lambda: explorer.cancel_jobs("projection"))
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
        self.jobs = JobTracker(self, explorer, ["projection"], self._projection_progress, self._projection_done)
        subscribe(self, explorer.events.model_opened, self._model_opened)

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
        info = self.explorer.info
        if info is None:
            return None
        if info.is_translation:
            return self.explorer.run_job(TranslatePicture(purpose="translate", picture=picture,
                                                          direction=self.direction.currentData()))
        if info.can("has_encoder"):
            return self.explorer.encode_picture(picture)
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
        return self.explorer.run_job(Call(purpose="projection", function=_projection_job, kwargs=(
            ("picture", picture), ("space", self.space.currentData()), ("steps", self.steps.value()),
            ("loss", self.loss.currentData()), ("crop", crop))))

    def ask_crop(self, picture, dialog_factory=None):
        """The crop box the user chooses over the picture, or None (cancelled, or unreadable: one line)."""
        from gan_explorer.core.errors import GanExplorerError
        from gan_explorer.gui.widgets.crop_dialog import CropDialog

        try:
            dialog = (dialog_factory or CropDialog)(picture, self)
        except GanExplorerError as exc:
            self.explorer.events.message.emit(str(exc))
            return None
        if dialog.exec() != QDialog.Accepted:
            return None
        return dialog.crop_box()

    def _projection_progress(self, progress):
        self.progress.setMaximum(progress.total)
        self.progress.setValue(progress.done)
        if progress.preview is not None:
            self.explorer.show_frame(progress.preview)  # the reconstruction so far, live

    def _projection_done(self, result):
        self.project_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        if result.error or result.cancelled:
            return
        projection = result.value
        self.last_projection = projection
        target = np.ascontiguousarray(np.concatenate([projection.target[0], projection.images[0]], axis=1))
        self.target.setPixmap(QPixmap.fromImage(array_to_qimage(target)).scaledToHeight(96, Qt.SmoothTransformation))
        self.explorer.change(ws=tuple(map(tuple, projection.ws[0].tolist())))
        self.explorer.events.message.emit(f"Projected into {projection.space.upper()}: {projection.psnr[0]:.1f} dB "
                                          f"in {projection.steps} steps")

    def translate_training_sample(self, index: int | None = None):
        info = self.explorer.info
        direction = self.direction.currentData()
        spec = (info.provenance if info else {}).get("data" if direction == "AB" else "data_b")
        if not spec:
            self.explorer.events.message.emit("This model does not say which data it was trained on: open a picture")
            return None
        index = random.randrange(10**6) if index is None else index
        return self.explorer.run_job(TranslateSample(purpose="translate", data=spec, direction=direction, index=index))
