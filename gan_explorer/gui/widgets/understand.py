"""The Understand dock: a map of the latent space, what each layer sees, the factors a model
learnt, your own attribute, and quality metrics. Each panel asks the analyses model
(core/explorer/analyses.py) for a job, follows its handle and shows the numpy results; no model
math here."""

from __future__ import annotations

import importlib.util

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
    QSpinBox, QTabWidget, QToolButton, QVBoxLayout, QWidget,
)

from gan_explorer.core.analysis import HELP
from gan_explorer.gui.session_bridge import follow, subscribe
from gan_explorer.gui.widgets.image_grid import ImageGrid


class JobBar(QWidget):
    """Run / Cancel and a progress bar for one panel's job."""

    def __init__(self, run_text: str, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.run_btn = QPushButton(run_text)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.bar = QProgressBar()
        self.bar.setMaximumHeight(16)
        self.handle = None  # the job followed now
        self.cancel_btn.clicked.connect(self.cancel)
        row.addWidget(self.run_btn)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_btn)

    def busy(self, on: bool):
        self.run_btn.setEnabled(not on)
        self.cancel_btn.setEnabled(on)
        if on:
            self.bar.setValue(0)

    def follow(self, handle, on_done):
        """Show `handle`'s progress, cancel it with Cancel, and call `on_done(handle)` at its end."""
        self.busy(True)
        self.handle = handle

        def done(h):
            self.busy(False)
            self.handle = None
            on_done(h)

        return follow(self, handle, self.progress, done)

    def cancel(self):
        if self.handle is not None:
            self.handle.cancel()

    def progress(self, p):
        self.bar.setMaximum(max(p.total, 1))
        self.bar.setValue(p.done)

    def clear(self):
        """Another model opened: the bar no longer tells of the previous model's job."""
        self.bar.setMaximum(100)
        self.bar.setValue(0)


def help_button(text: str) -> QToolButton:
    button = QToolButton()
    button.setText("?")
    button.setToolTip("What am I looking at?")
    button.clicked.connect(lambda: QMessageBox.information(button, "What am I looking at?", text))
    return button


class MapPanel(QWidget):
    def __init__(self, analyses, viewer, bookmarks, keyframes, parent=None):
        from gan_explorer.gui.widgets.latent_map import LatentMapWidget

        super().__init__(parent)
        self.analyses, self.viewer, self.bookmarks, self.keyframes = analyses, viewer, bookmarks, keyframes
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.num = QSpinBox()
        self.num.setRange(100, 20000)
        self.num.setValue(1000)
        self.num.setSuffix(" latents")
        self.space = QComboBox()
        self.space.setToolTip("Which latents to place: z (inputs), w (after the mapping network), or the codes "
                              "a VAE / autoencoder gives dataset pictures")
        self.method = QComboBox()
        for name in ("pca", "tsne", "umap"):
            self.method.addItem(name.upper() if name != "tsne" else "t-SNE", name)
        self.method.setToolTip("PCA keeps distances along the main axes; t-SNE and UMAP keep neighbours "
                               "(scikit-learn / umap-learn)")
        if importlib.util.find_spec("umap") is None:  # optional: offered only when installed
            umap = self.method.model().item(self.method.findData("umap"))
            umap.setEnabled(False)
            umap.setToolTip("UMAP needs umap-learn: pip install umap-learn")
        for w in (self.num, self.space, self.method):
            row.addWidget(w)
        row.addWidget(help_button(HELP["latent_map"]))
        layout.addLayout(row)
        self.job = JobBar("Compute map")
        layout.addWidget(self.job)
        self.view = LatentMapWidget()
        layout.addWidget(self.view, 1)
        self.job.run_btn.clicked.connect(lambda: self.compute())
        self.view.sigPointClicked.connect(self.go_to_point)
        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, viewer.events.image_shown, lambda _r: self.place_current())
        subscribe(self, bookmarks.events.changed, lambda _v: self.place_marks())
        subscribe(self, keyframes.events.changed, lambda _v: self.place_marks())
        subscribe(self, analyses.events.map_changed, self._map_changed)

    @property
    def map(self):
        return self.analyses.latent_map

    def _model_opened(self, info):
        self.view.set_map(np.zeros((0, 2), np.float32))
        self.space.clear()
        if info.is_translation:
            self.job.run_btn.setEnabled(False)
            return
        self.job.run_btn.setEnabled(True)
        for space in available_spaces_for(info):
            self.space.addItem(space.upper() if space != "code" else "codes of the data", space)
        if info.can("has_mapping"):
            self.space.setCurrentIndex(self.space.findData("w"))

    def compute(self):
        handle = self.analyses.compute_map(self.num.value(), self.space.currentData(), self.method.currentData())
        return self.job.follow(handle, lambda _h: None)

    def _map_changed(self, m):
        if m is None:
            return
        self.view.set_map(m.points, m.thumbnails, m.colors, m.color_source,
                          f"{m.method.upper()} of {m.space} ({len(m.points)} latents)")
        self.place_current()
        self.place_marks()

    def place_current(self):
        point = self.analyses.current_point()
        if point is not None:
            self.view.set_current(point)

    def place_marks(self):
        """Bookmarks and the interpolation path, placed where their ws land (ws made on the worker)."""
        handle = self.analyses.place_marks(self.bookmarks.states() if self.bookmarks.store is not None else [],
                                           self.keyframes.states())
        if handle is not None:
            follow(self, handle, on_done=self._marks_placed)
        return handle

    def _marks_placed(self, handle):
        if not handle.ok:
            return
        marks = handle.result
        points = self.analyses.project_on_map(list(marks.bookmarks) + list(marks.path))
        if points is None:
            return
        n_book = len(marks.bookmarks)
        labels = [self.bookmarks.name(i) for i in range(min(n_book, len(self.bookmarks)))]
        self.view.set_bookmarks(points[:n_book], labels)
        self.view.set_path(points[n_book:])

    def go_to_point(self, index: int):
        """A click on a point renders that latent (made on the worker) and makes it current."""
        return self.analyses.go_to_point(index)


def available_spaces_for(info) -> list[str]:
    if info.can("has_mapping"):
        return ["w", "z"]
    if info.can("has_encoder"):
        return ["z", "code"]
    return ["z"]


class LayersPanel(QWidget):
    def __init__(self, analyses, viewer, parent=None):
        from gan_explorer.gui.widgets.layer_viewer import LayerViewerWidget

        super().__init__(parent)
        self.analyses, self.viewer = analyses, viewer
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        hint = QLabel("Every layer of the generator for the current latent: pick one to see its channels")
        hint.setWordWrap(True)
        row.addWidget(hint, 1)
        row.addWidget(help_button(HELP["layers"]))
        layout.addLayout(row)
        self.layer_viewer = LayerViewerWidget()
        layout.addWidget(self.layer_viewer, 1)
        self.layer_viewer.sigViewRequested.connect(self.show_layer)
        self.layer_viewer.sigAblate.connect(self.ablate)
        self._listed_token = None  # the model whose layers are listed (listing costs a forward pass)
        subscribe(self, viewer.events.model_opened, self._model_opened)

    def _model_opened(self, info):
        self.layer_viewer.set_layers([])
        self._listed_token = None
        if self.isVisible():
            self.list_layers()

    def showEvent(self, event):
        super().showEvent(event)
        self.list_layers()

    def list_layers(self):
        """List the open model's layers once per model, when the panel is first shown."""
        info = self.viewer.info
        if info is None or info.is_translation or self._listed_token == info.token:
            return None
        self._listed_token = info.token
        return follow(self, self.analyses.list_layers(),
                      on_done=lambda h: self.layer_viewer.set_layers(h.result) if h.ok else None)

    def show_layer(self, layer: str, channel: int, db: bool, per_channel: bool):
        handle = self.analyses.view_layer(layer, None if channel < 0 else channel, db, per_channel)
        if handle is None:
            return None
        return follow(self, handle, on_done=self._view_done)

    def _view_done(self, handle):
        if handle.ok:
            view = handle.result
            self.layer_viewer.show_view(view.grid, view.stats, view.spectrum)

    def ablate(self, layer: str, channels: list, scale: float):
        """The ablated image in the view (the state is unchanged)."""
        return self.analyses.ablate(layer, channels, scale)


class FactorsPanel(QWidget):
    """The factor probe (procedural faces): one named slider per factor, saved to the library."""

    def __init__(self, analyses, directions, viewer, parent=None):
        super().__init__(parent)
        self.analyses, self.directions = analyses, directions
        self.report = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.num = QSpinBox()
        self.num.setRange(200, 20000)
        self.num.setValue(2000)
        self.num.setSuffix(" samples")
        self.conditional = QCheckBox("conditional")
        self.conditional.setChecked(True)
        self.conditional.setToolTip("Project the other factors out of each direction, so a slider changes its "
                                    "factor alone")
        row.addWidget(self.num)
        row.addWidget(self.conditional)
        row.addStretch(1)
        row.addWidget(help_button(HELP["factor_probe"]))
        layout.addLayout(row)
        self.job = JobBar("Find factor directions")
        self.job.run_btn.setToolTip("Label sampled images with the factor regressor (trained on procedural faces) "
                                    "and fit one direction per factor; they become named sliders in the Library tab")
        layout.addWidget(self.job)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        layout.addWidget(self.text, 1)
        self.job.run_btn.clicked.connect(lambda: self.probe())
        subscribe(self, viewer.events.model_opened, lambda info: self.job.run_btn.setEnabled(
            not info.is_translation))

    def probe(self, num: int | None = None, **options):
        handle = self.analyses.probe(num or self.num.value(), self.conditional.isChecked(), **options)
        return self.job.follow(handle, self._finished)

    def _finished(self, handle):
        if not handle.ok:
            if handle.error:
                self.text.setPlainText(handle.error)
            return
        self.report = handle.result
        lines = []
        for name, fd in self.report.factor_directions.items():
            lines.append(f"{name:14s} held-out {fd.metric} {fd.score:.2f}  (slider unit σ = {fd.sigma:.3f})")
            if fd.space == "w":
                self.directions.save(f"factor: {name}", fd.direction, fd.sigma, (0, -1), 2.0,
                                             f"factor probe ({fd.metric} {fd.score:.2f})")
        self.text.setPlainText("\n".join(lines) + "\n\nSaved as named sliders in the Library tab.")


class AttributePanel(QWidget):
    """Your own attribute: mark samples 'has it' / 'has not'; a linear boundary in W becomes a slider."""

    def __init__(self, analyses, directions, viewer, parent=None):
        super().__init__(parent)
        self.analyses, self.directions = analyses, directions
        self.samples = None  # AttributeSamples shown in the grid
        self.marks: dict[int, bool] = {}
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.name = QLineEdit("my attribute")
        self.name.setToolTip("The name of the slider you will get")
        row.addWidget(self.name, 1)
        row.addWidget(help_button(HELP["attribute"]))
        layout.addLayout(row)
        self.job = JobBar("Show 48 samples")
        layout.addWidget(self.job)
        hint = QLabel("Click a sample once: has it (green); twice: has not (red); three times: unmarked.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.grid = ImageGrid()
        self.grid.sigCellClicked.connect(self._clicked)
        layout.addWidget(self.grid, 1)
        row = QHBoxLayout()
        self.status = QLabel("")
        self.fit_btn = QPushButton("Fit and save slider")
        self.fit_btn.clicked.connect(self.fit)
        row.addWidget(self.status, 1)
        row.addWidget(self.fit_btn)
        layout.addLayout(row)
        # clicked(checked) would arrive as the count: call with no argument.
        self.job.run_btn.clicked.connect(lambda: self.show_samples())
        subscribe(self, viewer.events.model_opened, lambda info: self._reset(info))

    def _reset(self, info):
        self.samples, self.marks = None, {}
        self.fit_btn.setEnabled(False)
        self.grid.set_shape(0, 0)
        self.job.run_btn.setEnabled(not info.is_translation)

    def show_samples(self, count: int = 48, seed: int | None = None):
        self.marks = {}
        return self.job.follow(self.analyses.attribute_samples(count, seed), self._samples_done)

    def _samples_done(self, handle):
        if handle.error:
            self.status.setText(handle.error)
        if not handle.ok:
            return
        self.samples = handle.result
        images = self.samples.images
        cols = 8
        self.grid.set_shape((len(images) + cols - 1) // cols, cols)
        for i, image in enumerate(images):
            self.grid.set_cell(i // cols, i % cols, image)
        self.status.setText("")
        self.fit_btn.setEnabled(True)

    def _fit_done(self, handle):
        if handle.error:
            self.status.setText(handle.error)
        if not handle.ok:
            return
        fit = handle.result
        accuracy = "n/a" if fit.cv_accuracy is None else f"{fit.cv_accuracy:.2f}"
        self.status.setText(f"cross-validated accuracy {accuracy} ({fit.num_positive} with, "
                            f"{fit.num_negative} without)")
        self.directions.save(self.name.text().strip() or "my attribute", fit.direction, fit.sigma,
                                         (0, -1), 2.0, f"marked by you (accuracy {accuracy})")

    def mark(self, index: int, has_it: bool | None):
        if has_it is None:
            self.marks.pop(index, None)
        else:
            self.marks[index] = has_it
        self.grid.selected = None
        self._paint_marks()

    def _clicked(self, r, c):
        index = r * self.grid.cols + c
        if self.samples is None or index >= len(self.samples.seeds):
            return
        cycle = {None: True, True: False, False: None}
        self.mark(index, cycle[self.marks.get(index)])

    def _paint_marks(self):
        with_it = sum(1 for v in self.marks.values() if v)
        self.status.setText(f"{with_it} with, {len(self.marks) - with_it} without")
        self.grid.marks = {divmod(i, self.grid.cols): v for i, v in self.marks.items()}
        self.grid.update()

    def fit(self):
        if self.samples is None:
            return None
        return self.job.follow(self.analyses.fit_attribute(self.samples.ws, self.marks), self._fit_done)


class MetricsPanel(QWidget):
    """Quality of the open model against a dataset, on offline features (never called FID)."""

    def __init__(self, analyses, viewer, parent=None):
        super().__init__(parent)
        self.analyses = analyses
        self.result = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.data = QLineEdit("faces:64")
        self.data.setToolTip("The real images to compare with: a folder, a .zip, or faces:RES")
        self.metrics = QLineEdit("fd,kid,pr")
        self.metrics.setToolTip("fd, kid, pr (precision/recall, density/coverage), ppl, nn (memorisation)")
        self.num = QSpinBox()
        self.num.setRange(100, 50000)
        self.num.setValue(1000)
        self.num.setSuffix(" samples")
        for w in (self.data, self.metrics, self.num):
            row.addWidget(w)
        layout.addLayout(row)
        self.job = JobBar("Measure")
        layout.addWidget(self.job)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        layout.addWidget(self.text, 1)
        self.job.run_btn.clicked.connect(lambda: self.measure())
        subscribe(self, viewer.events.model_opened, lambda info: self._model_opened(info))

    def _model_opened(self, info):
        self.job.run_btn.setEnabled(not info.is_translation)
        data = info.provenance.get("data")
        if isinstance(data, str) and data:
            self.data.setText(data)

    def measure(self):
        import tempfile

        from gan_explorer.core.metrics.evaluate import parse_metrics

        try:
            metrics = parse_metrics(self.metrics.text())
        except Exception as exc:
            self.text.setPlainText(str(exc))
            return None
        grid = tempfile.mktemp(suffix=".png", prefix="gan_explorer-closest-") if "nn" in metrics else None

        handle = self.analyses.measure(self.data.text().strip(), metrics, self.num.value(), grid)
        return self.job.follow(handle, self._finished)

    def _finished(self, handle):
        from gan_explorer.core.metrics.evaluate import summary_lines

        if handle.error:
            self.text.setPlainText(handle.error)
        elif handle.ok:
            self.result = handle.result
            self.text.setPlainText("\n".join(summary_lines(handle.result)))


class UnderstandPanel(QTabWidget):
    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        a, v = explorer.analyses, explorer.viewer
        self.map_panel = MapPanel(a, v, explorer.bookmarks, explorer.keyframes)
        self.layers_panel = LayersPanel(a, v)
        self.factors_panel = FactorsPanel(a, explorer.directions, v)
        self.attribute_panel = AttributePanel(a, explorer.directions, v)
        self.metrics_panel = MetricsPanel(a, v)
        for panel, title in ((self.map_panel, "Map"), (self.layers_panel, "Layers"), (self.factors_panel, "Factors"),
                             (self.attribute_panel, "Attribute"), (self.metrics_panel, "Metrics")):
            self.addTab(panel, title)
        self.setTabPosition(QTabWidget.North)
        self.setDocumentMode(True)
        self.setAttribute(Qt.WA_StyledBackground, True)
        subscribe(self, v.events.model_opened, self._model_opened)

    def _model_opened(self, info):
        """No bar tells of the previous model's jobs; a translation model (CycleGAN) has no latent to map,
        probe or measure: nothing here applies to it."""
        for index in range(self.count()):
            panel = self.widget(index)
            panel.setEnabled(not info.is_translation)
            if hasattr(panel, "job"):
                panel.job.clear()
