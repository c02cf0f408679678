"""The Understand dock: a map of the latent space, what each layer sees, the factors a model
learnt, your own attribute, and quality metrics. Each panel runs its analysis as an explorer job
(core/analysis/jobs.py, core/metrics) and shows the numpy results; no model math here."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
    QSpinBox, QTabWidget, QToolButton, QVBoxLayout, QWidget,
)

from gan_explorer.core.analysis import HELP
from gan_explorer.core.explorer.requests import Call
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.gui.session_bridge import JobTracker, subscribe
from gan_explorer.gui.widgets.image_grid import ImageGrid


def ws_state(ws: np.ndarray, base: LatentState) -> LatentState:
    return base.with_changes(ws=tuple(map(tuple, np.asarray(ws, np.float32).tolist())), z_edits=(), w_offsets=(),
                             mix_seed=-1, mix_layers=())


def _ws_of_states(model, context, states):
    """A job: the ws each state renders from (no synthesis), for placing them on a map."""
    import torch

    from gan_explorer.core.render import ws_for_state

    with torch.no_grad():
        return [ws_for_state(model, s)[0].cpu().numpy() for s in states]


def _ws_of_map_point(model, context, latent_map, index):
    return latent_map.ws(model, index)[0].detach().cpu().numpy()


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
        row.addWidget(self.run_btn)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_btn)

    def busy(self, on: bool):
        self.run_btn.setEnabled(not on)
        self.cancel_btn.setEnabled(on)
        if on:
            self.bar.setValue(0)

    def progress(self, p):
        self.bar.setMaximum(max(p.total, 1))
        self.bar.setValue(p.done)


def help_button(text: str) -> QToolButton:
    button = QToolButton()
    button.setText("?")
    button.setToolTip("What am I looking at?")
    button.clicked.connect(lambda: QMessageBox.information(button, "What am I looking at?", text))
    return button


class MapPanel(QWidget):
    def __init__(self, explorer, parent=None):
        from gan_explorer.gui.widgets.latent_map import LatentMapWidget

        super().__init__(parent)
        self.explorer = explorer
        self.map = None
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
        for w in (self.num, self.space, self.method):
            row.addWidget(w)
        row.addWidget(help_button(HELP["latent_map"]))
        layout.addLayout(row)
        self.job = JobBar("Compute map")
        layout.addWidget(self.job)
        self.view = LatentMapWidget()
        layout.addWidget(self.view, 1)
        self.job.run_btn.clicked.connect(self.compute)
        self.job.cancel_btn.clicked.connect(lambda: explorer.cancel_jobs("map"))
        self.view.sigPointClicked.connect(self.go_to_point)
        self.jobs = JobTracker(self, explorer, ["map", "map_marks", "map_point"], self.job.progress, self._finished)
        subscribe(self, explorer.events.model_opened, self._model_opened)
        subscribe(self, explorer.events.image_shown, lambda _r: self.place_current())
        subscribe(self, explorer.events.bookmarks_changed, lambda _v: self.place_marks())
        subscribe(self, explorer.events.keyframes_changed, lambda _v: self.place_marks())

    def _model_opened(self, info):
        self.map = None
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
        from gan_explorer.core.analysis.jobs import map_job

        self.job.busy(True)
        kwargs = (("num", self.num.value()), ("space", self.space.currentData()), ("method", self.method.currentData()),
                  ("truncation_psi", self.explorer.state.truncation_psi))
        return self.explorer.run_job(Call(purpose="map", function=map_job, kwargs=kwargs))

    def _finished(self, result):
        if result.purpose == "map":
            self.job.busy(False)
            if result.error or result.cancelled:
                return
            m = result.value
            self.map = m
            self.view.set_map(m.points, m.thumbnails, m.colors, m.color_source,
                              f"{m.method.upper()} of {m.space} ({len(m.points)} latents)")
            self.place_current()
            self.place_marks()
        elif result.purpose == "map_marks" and not result.error and self.map is not None and result.value:
            n_book = result.value[0]
            points = self._project(result.value[1])
            if points is None:
                return
            bookmarks = self.explorer.bookmarks
            labels = [bookmarks.name(i) for i in range(n_book)] if bookmarks else []
            self.view.set_bookmarks(points[:n_book], labels)
            self.view.set_path(points[n_book:])
        elif result.purpose == "map_point" and not result.error and result.value is not None:
            self.explorer.set_state(ws_state(result.value, self.explorer.state.base()))

    def _project(self, ws_list):
        if self.map is None or not len(ws_list) or self.map.space == "z":
            return None
        try:
            return self.map.project_ws(np.stack(ws_list))
        except Exception:  # a latent of another shape (after a model switch): nothing to place
            return None

    def place_current(self):
        result = self.explorer.last_result
        if self.map is None or result is None or result.ws is None:
            return
        if self.map.space == "z":
            z = self.explorer.current_z()
            if z is not None:
                self.view.set_current(self.map.project(z)[0])
            return
        points = self._project([result.ws])
        if points is not None:
            self.view.set_current(points[0])

    def place_marks(self):
        """Bookmarks and the interpolation path, placed where their ws land (ws made on the worker)."""
        if self.map is None or self.map.space == "z":
            return
        bookmarks = self.explorer.bookmarks
        states = [bookmarks.state(i) for i in range(len(bookmarks.items))] if bookmarks else []
        n_book = len(states)
        states += [k.state for k in self.explorer.keyframes]
        if not states:
            return

        def with_count(model, context, states):
            return n_book, _ws_of_states(model, context, states)

        self.explorer.run_job(Call(purpose="map_marks", function=with_count, kwargs=(("states", tuple(states)),)))

    def go_to_point(self, index: int):
        """A click on a point renders that latent (made on the worker) and makes it current."""
        if self.map is None:
            return None
        return self.explorer.run_job(Call(purpose="map_point", function=_ws_of_map_point,
                                          kwargs=(("latent_map", self.map), ("index", int(index)))))


def available_spaces_for(info) -> list[str]:
    if info.can("has_mapping"):
        return ["w", "z"]
    if info.can("has_encoder"):
        return ["z", "code"]
    return ["z"]


class LayersPanel(QWidget):
    def __init__(self, explorer, parent=None):
        from gan_explorer.gui.widgets.layer_viewer import LayerViewerWidget

        super().__init__(parent)
        self.explorer = explorer
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        hint = QLabel("Every layer of the generator for the current latent: pick one to see its channels")
        hint.setWordWrap(True)
        row.addWidget(hint, 1)
        row.addWidget(help_button(HELP["layers"]))
        layout.addLayout(row)
        self.viewer = LayerViewerWidget()
        layout.addWidget(self.viewer, 1)
        self.viewer.sigViewRequested.connect(self.show_layer)
        self.viewer.sigAblate.connect(self.ablate)
        self.jobs = JobTracker(self, explorer, ["layers", "layer_view", "ablation"], on_finished=self._finished)
        self._listed_token = None  # the model whose layers are listed (listing costs a forward pass)
        subscribe(self, explorer.events.model_opened, self._model_opened)

    def _inputs(self):
        result = self.explorer.last_result
        if result is None or result.ws is None:
            return None
        import torch

        return torch.from_numpy(np.asarray(result.ws, np.float32)[None])

    def _model_opened(self, info):
        self.viewer.set_layers([])
        self._listed_token = None
        if self.isVisible():
            self.list_layers()

    def showEvent(self, event):
        super().showEvent(event)
        self.list_layers()

    def list_layers(self):
        """List the open model's layers once per model, when the panel is first shown."""
        from gan_explorer.core.analysis.jobs import layers_job

        info = self.explorer.info
        if info is None or info.is_translation or self._listed_token == info.token:
            return None
        self._listed_token = info.token
        return self.explorer.run_job(Call(purpose="layers", function=layers_job))

    def show_layer(self, layer: str, channel: int, db: bool, per_channel: bool):
        from gan_explorer.core.analysis.jobs import layer_view_job

        inputs = self._inputs()
        if inputs is None or not layer:
            return None
        return self.explorer.run_job(Call(purpose="layer_view", function=layer_view_job, kwargs=(
            ("inputs", inputs), ("layer", layer), ("channel", None if channel < 0 else channel), ("db", db),
            ("per_channel", per_channel), ("noise_mode", self.explorer.state.noise_mode))))

    def ablate(self, layer: str, channels: list, scale: float):
        from gan_explorer.core.analysis.jobs import ablation_job

        inputs = self._inputs()
        if inputs is None:
            return None
        return self.explorer.run_job(Call(purpose="ablation", function=ablation_job, kwargs=(
            ("inputs", inputs), ("layer", layer), ("channels", list(channels)), ("scale", float(scale)),
            ("noise_mode", self.explorer.state.noise_mode))))

    def _finished(self, result):
        if result.error or result.cancelled:
            return
        if result.purpose == "layers":
            self.viewer.set_layers(result.value)
        elif result.purpose == "layer_view":
            view = result.value
            self.viewer.show_view(view.grid, view.stats, view.spectrum)
        elif result.purpose == "ablation":
            self.explorer.show_frame(result.value)  # the ablated image in the view (the state is unchanged)


class FactorsPanel(QWidget):
    """The factor probe (procedural faces): one named slider per factor, saved to the library."""

    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        self.explorer = explorer
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
        self.job.run_btn.clicked.connect(self.probe)
        self.job.cancel_btn.clicked.connect(lambda: explorer.cancel_jobs("probe"))
        self.jobs = JobTracker(self, explorer, ["probe"], self.job.progress, self._finished)
        subscribe(self, explorer.events.model_opened, lambda info: self.job.run_btn.setEnabled(
            not info.is_translation))

    def probe(self, **overrides):
        from gan_explorer.core.analysis.jobs import probe_job

        self.job.busy(True)
        kwargs = {"num": self.num.value(), "conditional": "all" if self.conditional.isChecked() else None,
                  "truncation_psi": self.explorer.state.truncation_psi, **overrides}
        return self.explorer.run_job(Call(purpose="probe", function=probe_job, kwargs=tuple(kwargs.items())))

    def _finished(self, result):
        self.job.busy(False)
        if result.error or result.cancelled:
            if result.error:
                self.text.setPlainText(result.error)
            return
        self.report = result.value
        lines = []
        for name, fd in self.report.factor_directions.items():
            lines.append(f"{name:14s} held-out {fd.metric} {fd.score:.2f}  (slider unit σ = {fd.sigma:.3f})")
            if fd.space == "w":
                self.explorer.save_direction(f"factor: {name}", fd.direction, fd.sigma, (0, -1), 2.0,
                                             f"factor probe ({fd.metric} {fd.score:.2f})")
        self.text.setPlainText("\n".join(lines) + "\n\nSaved as named sliders in the Library tab.")


class AttributePanel(QWidget):
    """Your own attribute: mark samples 'has it' / 'has not'; a linear boundary in W becomes a slider."""

    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        self.explorer = explorer
        self.candidates = None
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
        self.job.run_btn.clicked.connect(self.show_samples)
        self.job.cancel_btn.clicked.connect(lambda: explorer.cancel_jobs("attribute_grid"))
        self.jobs = JobTracker(self, explorer, ["attribute_grid", "attribute_fit"], self.job.progress, self._finished)
        subscribe(self, explorer.events.model_opened, lambda info: self._reset(info))

    def _reset(self, info):
        self.candidates, self.marks = None, {}
        self.grid.set_shape(0, 0)
        self.job.run_btn.setEnabled(not info.is_translation)

    def show_samples(self, count: int = 48, seed: int | None = None):
        from gan_explorer.core.analysis.jobs import attribute_grid_job

        self.job.busy(True)
        self.marks = {}
        seed = self.explorer.state.seed if seed is None else seed
        return self.explorer.run_job(Call(purpose="attribute_grid", function=attribute_grid_job, kwargs=(
            ("count", count), ("seed", seed), ("truncation_psi", self.explorer.state.truncation_psi))))

    def _finished(self, result):
        self.job.busy(False)
        if result.error:
            self.status.setText(result.error)
            return
        if result.cancelled:
            return
        if result.purpose == "attribute_grid":
            self.candidates, images = result.value
            cols = 8
            self.grid.set_shape((len(images) + cols - 1) // cols, cols)
            for i, image in enumerate(images):
                self.grid.set_cell(i // cols, i % cols, image)
            self.status.setText("")
        elif result.purpose == "attribute_fit":
            fit = result.value
            accuracy = "n/a" if fit.cv_accuracy is None else f"{fit.cv_accuracy:.2f}"
            self.status.setText(f"cross-validated accuracy {accuracy} ({fit.num_positive} with, "
                                f"{fit.num_negative} without)")
            self.explorer.save_direction(self.name.text().strip() or "my attribute", fit.direction, fit.sigma,
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
        if self.candidates is None or index >= len(self.candidates.seeds):
            return
        cycle = {None: True, True: False, False: None}
        self.mark(index, cycle[self.marks.get(index)])

    def _paint_marks(self):
        with_it = sum(1 for v in self.marks.values() if v)
        self.status.setText(f"{with_it} with, {len(self.marks) - with_it} without")
        self.grid.marks = {divmod(i, self.grid.cols): v for i, v in self.marks.items()}
        self.grid.update()

    def fit(self):
        from gan_explorer.core.analysis.attribute import fit_attribute

        if self.candidates is None:
            return None
        ws = self.candidates.ws.detach().cpu().numpy()
        positive = ws[[i for i, v in self.marks.items() if v]]
        negative = ws[[i for i, v in self.marks.items() if not v]]

        def job(model, context, positive, negative):
            return fit_attribute(positive, negative)

        return self.explorer.run_job(Call(purpose="attribute_fit", function=job,
                                          kwargs=(("positive", positive), ("negative", negative))))


class MetricsPanel(QWidget):
    """Quality of the open model against a dataset, on offline features (never called FID)."""

    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        self.explorer = explorer
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
        self.job.run_btn.clicked.connect(self.measure)
        self.job.cancel_btn.clicked.connect(lambda: explorer.cancel_jobs("metrics"))
        self.jobs = JobTracker(self, explorer, ["metrics"], self.job.progress, self._finished)
        subscribe(self, explorer.events.model_opened, lambda info: self._model_opened(info))

    def _model_opened(self, info):
        self.job.run_btn.setEnabled(not info.is_translation)
        data = info.provenance.get("data")
        if isinstance(data, str) and data:
            self.data.setText(data)

    def measure(self):
        import tempfile

        from gan_explorer.core.metrics.evaluate import evaluate_model, parse_metrics

        try:
            metrics = parse_metrics(self.metrics.text())
        except Exception as exc:
            self.text.setPlainText(str(exc))
            return None
        grid = tempfile.mktemp(suffix=".png", prefix="gan_explorer-closest-") if "nn" in metrics else None

        def job(model, context, data, metrics, num, grid_path):
            return evaluate_model(model, data, metrics, num, grid_path=grid_path, progress=context.progress,
                                  should_stop=context.check)

        self.job.busy(True)
        return self.explorer.run_job(Call(purpose="metrics", function=job, kwargs=(
            ("data", self.data.text().strip()), ("metrics", metrics), ("num", self.num.value()), ("grid_path", grid))))

    def _finished(self, result):
        from gan_explorer.core.metrics.evaluate import summary_lines

        self.job.busy(False)
        if result.error:
            self.text.setPlainText(result.error)
        elif not result.cancelled:
            self.result = result.value
            self.text.setPlainText("\n".join(summary_lines(result.value)))


class UnderstandPanel(QTabWidget):
    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        self.map_panel = MapPanel(explorer)
        self.layers_panel = LayersPanel(explorer)
        self.factors_panel = FactorsPanel(explorer)
        self.attribute_panel = AttributePanel(explorer)
        self.metrics_panel = MetricsPanel(explorer)
        for panel, title in ((self.map_panel, "Map"), (self.layers_panel, "Layers"), (self.factors_panel, "Factors"),
                             (self.attribute_panel, "Attribute"), (self.metrics_panel, "Metrics")):
            self.addTab(panel, title)
        self.setTabPosition(QTabWidget.North)
        self.setDocumentMode(True)
        self.setAttribute(Qt.WA_StyledBackground, True)
