"""The Parts panel: paint part masks on a few samples with a brush, train the per-pixel part
classifier (DatasetGAN) from them, see the parts of the current image, and dissect the units.

All state lives in the core PartsModel (core/explorer/parts.py); this widget shows its samples
and masks, turns mouse strokes into brush dabs and follows its jobs (progress and Cancel). A
dissection is handed to the layer viewer, which then names units ("hair 0.41").
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import Qt, Signal  # noqa: E402
from PySide6.QtGui import QColor, QPixmap, QIcon  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QCheckBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from gan_explorer.core.explorer.parts import UNLABELLED  # noqa: E402
from gan_explorer.gui.session_bridge import follow, subscribe  # noqa: E402
from gan_explorer.gui.widgets.understand import JobBar, help_button  # noqa: E402

HELP = (
    "Paint which part each pixel is on a few samples (pick a part, then click or drag on the picture; "
    "'Fill rest' gives every unpainted pixel the chosen part, e.g. the background), then Train: a small "
    "classifier learns, from the generator's own feature maps, to label every pixel of every image it "
    "makes (DatasetGAN, Zhang et al. 2021). 'Parts of the image' shows it on the current image. "
    "'Dissect' scores every unit of every layer by how well its strongest activations cover each part "
    "(GAN Dissection, Bau et al. 2019); the Layers tab then names units and can switch off a part's best "
    "units."
)
OVERLAY_ALPHA = 140  # how opaque painted parts are over the sample


def colours(count: int) -> np.ndarray:
    """[count, 3] uint8: the parts' colours, as the headless `parts` command draws them."""
    from gan_explorer.core.analysis.parts import part_colours

    return part_colours(count)


def overlay(mask: np.ndarray, count: int) -> np.ndarray:
    """[H, W] part indices (UNLABELLED: clear) -> [H, W, 4] uint8 RGBA."""
    palette = colours(max(count, 1))
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    known = mask != UNLABELLED
    rgba[known, :3] = palette[np.minimum(mask[known], len(palette) - 1)]
    rgba[known, 3] = OVERLAY_ALPHA
    return rgba


class BrushItem(pg.ImageItem):
    """The mask overlay: a click or a drag paints at the pixel under the pointer."""

    def __init__(self, on_paint):
        super().__init__(axisOrder="row-major")
        self.on_paint = on_paint

    def mouseClickEvent(self, event):
        if event.button() == Qt.LeftButton:
            event.accept()
            self.on_paint(event.pos())

    def mouseDragEvent(self, event):
        if event.button() != Qt.LeftButton:
            event.ignore()
            return
        event.accept()
        self.on_paint(event.pos())


class PartsPanel(QWidget):
    sigDissected = Signal(object)  # a DissectionReport (for the layer viewer)

    def __init__(self, parts, viewer, layer_viewer=None, parent=None):
        super().__init__(parent)
        self.parts, self.viewer, self.layer_viewer = parts, viewer, layer_viewer
        self.index = 0  # the sample painted on

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        hint = QLabel("Paint parts on a few samples, train, and every image gets its parts")
        hint.setWordWrap(True)
        top.addWidget(hint, 1)
        top.addWidget(help_button(HELP))
        layout.addLayout(top)

        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setValue(4)
        self.count.setToolTip("How many samples to paint on")
        self.sample_job = JobBar("Sample")
        self.sample_job.layout().insertWidget(1, self.count)
        self.sample_job.run_btn.clicked.connect(lambda: self.sample())
        layout.addWidget(self.sample_job)

        row = QHBoxLayout()
        self.previous_btn, self.next_btn = QPushButton("<"), QPushButton(">")
        self.previous_btn.clicked.connect(lambda: self.show_sample(self.index - 1))
        self.next_btn.clicked.connect(lambda: self.show_sample(self.index + 1))
        self.sample_label = QLabel("no samples")
        row.addWidget(self.previous_btn)
        row.addWidget(self.sample_label, 1)
        row.addWidget(self.next_btn)
        layout.addLayout(row)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setMinimumSize(180, 180)
        self.box = self.canvas.addViewBox(lockAspect=True, invertY=True)
        self.box.setMouseEnabled(False, False)
        self.picture = pg.ImageItem(axisOrder="row-major")
        self.brush_layer = BrushItem(self._paint_at)
        self.box.addItem(self.picture)
        self.box.addItem(self.brush_layer)
        layout.addWidget(self.canvas, 3)

        brush = QHBoxLayout()
        self.radius = QSpinBox()
        self.radius.setRange(1, 64)
        self.radius.setValue(2)
        self.radius.setPrefix("brush ")
        self.radius.setSuffix(" px")
        self.erase = QCheckBox("Erase")
        self.fill_btn = QPushButton("Fill rest")
        self.fill_btn.setToolTip("Every pixel not painted yet gets the chosen part")
        self.fill_btn.clicked.connect(self.fill_rest)
        self.clear_btn = QPushButton("Clear")
        self.clear_btn.clicked.connect(lambda: self.parts.clear(self.index) if self.parts.masks else None)
        for w in (self.radius, self.erase, self.fill_btn, self.clear_btn):
            brush.addWidget(w)
        layout.addLayout(brush)

        self.part_list = QListWidget()
        self.part_list.setMaximumHeight(130)
        layout.addWidget(self.part_list)
        add = QHBoxLayout()
        self.new_part = QLineEdit()
        self.new_part.setPlaceholderText("new part name")
        self.add_btn = QPushButton("Add part")
        self.add_btn.clicked.connect(self.add_part)
        self.faces_btn = QPushButton("Faces' parts")
        self.faces_btn.setToolTip("The procedural faces' part list (background, skin, hair, neck, eyes, ...)")
        self.faces_btn.clicked.connect(self.parts.use_face_parts)
        add.addWidget(self.new_part, 1)
        add.addWidget(self.add_btn)
        add.addWidget(self.faces_btn)
        layout.addLayout(add)

        self.steps = QSpinBox()
        self.steps.setRange(10, 5000)
        self.steps.setValue(300)
        self.steps.setPrefix("steps ")
        self.train_job = JobBar("Train")
        self.train_job.layout().insertWidget(1, self.steps)
        self.train_job.run_btn.clicked.connect(lambda: self.train())
        layout.addWidget(self.train_job)
        files = QHBoxLayout()
        self.segment_btn = QPushButton("Parts of the image")
        self.segment_btn.setToolTip("Label every pixel of the current image with the trained classifier")
        self.segment_btn.clicked.connect(lambda: self.segment_current())
        self.save_btn = QPushButton("Save…")
        self.save_btn.clicked.connect(self._save)
        self.load_btn = QPushButton("Load…")
        self.load_btn.clicked.connect(self._load)
        for w in (self.segment_btn, self.save_btn, self.load_btn):
            files.addWidget(w)
        layout.addLayout(files)
        self.samples_for_dissection = QSpinBox()
        self.samples_for_dissection.setRange(8, 2000)
        self.samples_for_dissection.setValue(100)
        self.samples_for_dissection.setToolTip("Generated samples the unit scores pool over")
        self.dissect_job = JobBar("Dissect")
        self.dissect_job.layout().insertWidget(1, self.samples_for_dissection)
        self.dissect_job.run_btn.clicked.connect(lambda: self.dissect())
        layout.addWidget(self.dissect_job)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.segment_view, self.segment_box = pg.GraphicsLayoutWidget(), None
        self.segment_view.setMinimumSize(100, 100)
        self.segment_box = self.segment_view.addViewBox(lockAspect=True, invertY=True)
        self.segment_box.setMouseEnabled(False, False)
        self.segment_item = pg.ImageItem(axisOrder="row-major")
        self.segment_box.addItem(self.segment_item)
        self.segment_view.setVisible(False)
        layout.addWidget(self.segment_view, 1)

        subscribe(self, parts.events.samples_changed, lambda _s: self.show_sample(0))
        subscribe(self, parts.events.mask_changed, lambda i: self._draw_mask() if i == self.index else None)
        subscribe(self, parts.events.parts_changed, lambda _p: self._fill_parts())
        subscribe(self, parts.events.classifier_changed, self._classifier_changed)
        subscribe(self, parts.events.dissection_changed, self._dissection_changed)
        self._fill_parts()
        self._update_buttons()

    # --- parts list ---------------------------------------------------------------------------
    def _fill_parts(self):
        current = max(self.part_list.currentRow(), 0)
        self.part_list.clear()
        palette = colours(len(self.parts.part_names))
        for name, colour in zip(self.parts.part_names, palette):
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*[int(c) for c in colour]))
            self.part_list.addItem(QListWidgetItem(QIcon(swatch), name))
        self.part_list.setCurrentRow(min(current, len(self.parts.part_names) - 1))
        self._draw_mask()

    def add_part(self):
        try:
            index = self.parts.add_part(self.new_part.text())
        except Exception as exc:
            self.status.setText(str(exc))
            return
        self.new_part.clear()
        self.part_list.setCurrentRow(index)

    def current_part(self) -> int | None:
        return None if self.erase.isChecked() else max(self.part_list.currentRow(), 0)

    # --- samples and painting ---------------------------------------------------------------------
    def sample(self):
        return self.sample_job.follow(self.parts.sample(self.count.value()), lambda h: self._report(h, "sampled"))

    def show_sample(self, index: int):
        samples = self.parts.samples
        if samples is None or not len(samples.images):
            self.picture.clear()
            self.brush_layer.clear()
            self.sample_label.setText("no samples")
            self._update_buttons()
            return
        self.index = int(np.clip(index, 0, len(samples.images) - 1))
        self.picture.setImage(np.ascontiguousarray(samples.images[self.index]), levels=(0, 255))
        self.sample_label.setText(f"sample {self.index + 1} of {len(samples.images)} (seed {samples.seeds[self.index]})")
        self._draw_mask()
        self.box.autoRange(padding=0)
        self._update_buttons()

    def _draw_mask(self):
        if not self.parts.masks:
            return
        self.brush_layer.setImage(overlay(self.parts.masks[self.index], len(self.parts.part_names)), levels=None,
                                  autoLevels=False)

    def _paint_at(self, pos):
        if not self.parts.masks:
            return
        # item coordinates: pixel j spans [j, j + 1); the model puts pixel centres on whole numbers
        self.parts.paint(self.index, pos.x() - 0.5, pos.y() - 0.5, float(self.radius.value()), self.current_part())

    def fill_rest(self):
        if self.parts.masks:
            self.parts.fill_unpainted(self.index, max(self.part_list.currentRow(), 0))

    # --- classifier and dissection ---------------------------------------------------------------
    def train(self):
        try:
            handle = self.parts.train(self.steps.value())
        except Exception as exc:
            self.status.setText(str(exc))
            return None
        return self.train_job.follow(handle, lambda h: self._report(h, "trained"))

    def _classifier_changed(self, trained):
        if trained is not None:
            shown = ", ".join(f"{n} {v:.2f}" for n, v in zip(trained.part_names, trained.train_iou) if np.isfinite(v))
            self.status.setText(f"trained on {trained.labelled_pixels} painted pixels; IoU on them: {shown}"
                                if trained.labelled_pixels else "classifier loaded")
        self._update_buttons()

    def segment_current(self):
        handle = self.parts.segment_current()
        if handle is None:
            self.status.setText("train a classifier first")
            return None
        return follow(self, handle, on_done=self._segmented)

    def _segmented(self, handle):
        if not handle.ok:
            self._report(handle, "")
            return
        parts = handle.result
        self.segment_item.setImage(colours(len(self.parts.part_names))[parts], levels=(0, 255))
        self.segment_box.autoRange(padding=0)
        self.segment_view.setVisible(True)
        names = self.parts.part_names
        areas = np.bincount(parts.reshape(-1), minlength=len(names)) / parts.size
        self.status.setText("parts of the image: " + ", ".join(f"{n} {a:.0%}" for n, a in zip(names, areas) if a))

    def dissect(self):
        try:
            handle = self.parts.dissect(self.samples_for_dissection.value())
        except Exception as exc:
            self.status.setText(str(exc))
            return None
        return self.dissect_job.follow(handle, lambda h: self._report(h, "dissected"))

    def _dissection_changed(self, report):
        if self.layer_viewer is not None:
            self.layer_viewer.set_dissection(report)
        self.sigDissected.emit(report)
        if report is not None:
            best = report.best_table()
            lines = [f"{part}: {max(best[part].values()):.2f} ({max(best[part], key=best[part].get).split('.')[-2]})"
                     for part in report.part_names]
            self.status.setText("best unit IoU per part: " + "; ".join(lines) + ". The Layers tab names the units.")

    def _report(self, handle, what):
        if handle.ok or handle.cancelled:
            if handle.cancelled:
                self.status.setText("cancelled")
        else:
            self.status.setText(str(handle.error))
        self._update_buttons()

    def _update_buttons(self):
        has_samples = self.parts.samples is not None and len(self.parts.masks) > 0
        for w in (self.previous_btn, self.next_btn, self.fill_btn, self.clear_btn):
            w.setEnabled(has_samples)
        self.train_job.run_btn.setEnabled(has_samples)
        trained = self.parts.trained is not None
        for w in (self.segment_btn, self.save_btn, self.dissect_job.run_btn):
            w.setEnabled(trained)

    def _save(self):
        path, _ = QFileDialog.getSaveFileName(self, "Save part classifier", "parts.npz", "Part classifier (*.npz)")
        if path:
            try:
                self.parts.save_classifier(path)
            except Exception as exc:
                self.status.setText(str(exc))

    def _load(self):
        path, _ = QFileDialog.getOpenFileName(self, "Load part classifier", "", "Part classifier (*.npz)")
        if path:
            try:
                self.parts.load_classifier(path)
            except Exception as exc:
                self.status.setText(str(exc))
