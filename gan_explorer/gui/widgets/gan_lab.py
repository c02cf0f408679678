"""The live 2-D GAN lab: watch a generator and a discriminator play on toy distributions.

The plane shows D's output as a heat map (green where D says "real", purple where it says
"fake"; for the WGANs the critic's value), the real points (green), the generated points
(purple), G's gradient arrows on generated points (where G's loss pushes them), and the image
of a grid of z under G (the latent plane G folds onto the data). Below: the loss curves.

Self-contained: `GanLabWidget()` works alone; it owns one core LabRunner for its lifetime (a
thread of its own, or synchronous for tests) and stops it on close. All training is in
gan_explorer.core.lab2d: the widget sends typed commands and draws the frames it gets back,
dropping any frame or error whose token is not the runner's newest (made before a Reset).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider,
    QSpinBox, QSplitter, QVBoxLayout, QWidget,
)

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.lab2d import DATASETS, LOSS_DEFAULTS, LOSS_TITLES, LOSSES, VIEW_EXTENT, LabConfig, LabFrame
from gan_explorer.core.lab2d.runner import LabError, LabRunner

DATASET_TITLES = {"ring": "Ring of 8 Gaussians", "grid": "5 x 5 grid", "moons": "Two moons", "spiral": "Spiral",
                  "drawn": "Drawn by you (drag on the plane)"}
REAL_COLOUR = (30, 150, 70)
FAKE_COLOUR = (130, 60, 180)
ARROW_MAX = 0.35      # the longest gradient arrow, in plane units (the others scale with it)
SPEEDS = (1, 2, 3, 5, 10, 20, 50)  # iterations per frame the speed slider picks from
DEFAULT_SPEED = 3  # ~30 smooth frames/s on 2 cores; more iterations per frame train faster but jerkier


def curve_key(*curves) -> str:
    """A plot's title row naming its curves in their colours: ('D loss', (r, g, b)), ..."""
    return "&nbsp;&nbsp;&nbsp;".join(f"<span style='color: rgb{tuple(colour)}'>&#9473;&nbsp;{name}</span>"
                                     for name, colour in curves)


def _heat_lut() -> np.ndarray:
    """Purple (fake) -> white -> green (real), pale enough that the points stay readable."""
    cmap = pg.ColorMap([0.0, 0.5, 1.0], [(200, 160, 230), (250, 250, 250), (150, 215, 165)])
    return cmap.getLookupTable(0.0, 1.0, 256)


def arrow_segments(origins: np.ndarray, vectors: np.ndarray, longest: float = ARROW_MAX) -> np.ndarray:
    """Line segments (pairs of points) drawing an arrow per origin: shaft plus two barbs.

    Vectors are scaled together so the longest is `longest` long: relative sizes stay visible.
    """
    n = len(origins)
    if n == 0:
        return np.zeros((0, 2))
    norms = np.linalg.norm(vectors, axis=1)
    peak = norms.max()
    scaled = vectors * (longest / peak) if peak > 0 and np.isfinite(peak) else np.zeros_like(vectors)
    tips = origins + scaled
    length = np.linalg.norm(scaled, axis=1, keepdims=True)
    unit = np.divide(scaled, length, out=np.zeros_like(scaled), where=length > 0)
    head = np.minimum(0.35 * length, 0.06)
    cos, sin = np.cos(np.radians(25)), np.sin(np.radians(25))
    back = -unit
    barb1 = tips + head * np.stack([back[:, 0] * cos - back[:, 1] * sin, back[:, 0] * sin + back[:, 1] * cos], 1)
    barb2 = tips + head * np.stack([back[:, 0] * cos + back[:, 1] * sin, -back[:, 0] * sin + back[:, 1] * cos], 1)
    return np.stack([origins, tips, tips, barb1, tips, barb2], 1).reshape(-1, 2)


class _DrawingViewBox(pg.ViewBox):
    """A fixed view that, while drawing is on, turns clicks and drags into data points."""

    sigPointsDrawn = Signal(object)   # [k, 2] new points in plane coordinates
    sigStrokeFinished = Signal()

    def __init__(self):
        super().__init__(enableMenu=False)
        self.drawing = False
        self.setMouseEnabled(False, False)

    def _add(self, scene_pos):
        p = self.mapSceneToView(scene_pos)
        self.sigPointsDrawn.emit(np.array([[p.x(), p.y()]], np.float32))

    def mouseClickEvent(self, ev):
        if self.drawing and ev.button() == Qt.LeftButton:
            ev.accept()
            self._add(ev.scenePos())
            self.sigStrokeFinished.emit()
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        if self.drawing and ev.button() == Qt.LeftButton:
            ev.accept()
            self._add(ev.scenePos())
            if ev.isFinish():
                self.sigStrokeFinished.emit()
        else:
            ev.ignore()


class FreeHeight(QWidget):
    """A panel whose height does not depend on its width. Its word-wrapped labels would otherwise
    make the whole lab report height-for-width, and a scroll area around it (the window's GAN lab
    page) then asks for the lab's preferred height, 800 px, and scrolls on a 1366x768 screen where
    the lab fits at its minimum size."""

    def hasHeightForWidth(self) -> bool:
        return False


class _FrameBridge(QObject):
    """Carries frames and errors from the runner's thread to the UI thread (queued signals)."""

    sigFrame = Signal(object)  # LabFrame
    sigError = Signal(object)  # LabError


class GanLabWidget(QWidget):
    sigFrameShown = Signal(int)   # G steps of the frame just drawn

    def __init__(self, parent=None, sync: bool = False, config: LabConfig = LabConfig()):
        super().__init__(parent)
        self.sync = sync
        self.config = config
        self.drawn_points = np.zeros((0, 2), np.float32)
        self.last_frame: LabFrame | None = None
        self._shown_real: np.ndarray | None = None
        self.frames_shown = 0
        self.frames_dropped = 0  # frames (and errors) from before a Reset, never drawn
        self.lab_ready = False   # the settings were accepted: frames will come
        self.error = ""
        self._bridge = _FrameBridge()
        self._bridge.sigFrame.connect(self._show_frame)
        self._bridge.sigError.connect(self._show_error)
        self._build_ui()
        self._load_config_into_form(config)
        self._sync_timer = QTimer(self)  # sync mode only: plays on the UI thread, one batch per turn
        self._sync_timer.setInterval(0)
        self._sync_timer.timeout.connect(self._advance)
        # One runner for the widget's life: a Reset is a command to it, not a new thread.
        self.runner: LabRunner | None = LabRunner(self._bridge.sigFrame.emit, None, sync=sync,
                                                  on_error=self._bridge.sigError.emit,
                                                  speed=SPEEDS[self.speed.value()])
        self._view_range_changed()
        self._apply_config(config)

    # Construction.
    def _build_ui(self):
        self.plane_box = _DrawingViewBox()
        self.plane = pg.PlotWidget(viewBox=self.plane_box, background="w")
        self.plane.setAspectLocked(True)
        xmin, xmax, ymin, ymax = VIEW_EXTENT
        self.plane.setRange(xRange=(xmin, xmax), yRange=(ymin, ymax), padding=0)
        self.plane.setMinimumSize(360, 360)
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setLookupTable(_heat_lut())
        self.latent_curve = pg.PlotDataItem(pen=pg.mkPen((*FAKE_COLOUR, 90), width=1), connect="finite")
        self.real_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL_COLOUR, 200))
        self.fake_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*FAKE_COLOUR, 220))
        self.arrows = pg.PlotDataItem(pen=pg.mkPen((40, 40, 40, 200), width=1), connect="pairs")
        self.drawn_item = pg.ScatterPlotItem(size=6, pen=pg.mkPen(0, 0, 0), brush=pg.mkBrush(255, 200, 0))
        for item in (self.heat, self.latent_curve, self.real_points, self.fake_points, self.arrows, self.drawn_item):
            self.plane.addItem(item)
        self.heat.setZValue(-10)
        self.plane_box.sigPointsDrawn.connect(self._points_drawn)
        self.plane_box.sigStrokeFinished.connect(self._stroke_finished)
        self.plane_box.sigRangeChanged.connect(self._view_range_changed)

        self.curves = pg.PlotWidget(background="w")
        self.curves.setMinimumHeight(140)
        # The title row names the curves (a legend inside the plot covered them).
        self.curves.setTitle(curve_key(("D loss", REAL_COLOUR), ("G loss", FAKE_COLOUR)), size="9pt")
        self.curves.setLabel("bottom", "D steps")
        self.d_curve = self.curves.plot(pen=pg.mkPen(*REAL_COLOUR, width=1))
        self.g_curve = self.curves.plot(pen=pg.mkPen(*FAKE_COLOUR, width=1))
        for c in (self.d_curve, self.g_curve):
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)

        # Controls.
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play_toggled)
        self.d_step_button = QPushButton("D step")
        self.d_step_button.setToolTip("one discriminator (critic) update, then pause")
        self.d_step_button.clicked.connect(lambda: self._command("step_d"))
        self.g_step_button = QPushButton("G step")
        self.g_step_button.setToolTip("one generator update, then pause")
        self.g_step_button.clicked.connect(lambda: self._command("step_g"))
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("new random networks with the settings below")
        self.reset_button.clicked.connect(self.reset)
        self.speed = QSlider(Qt.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(SPEEDS.index(DEFAULT_SPEED))
        self.speed_label = QLabel()
        self.speed.valueChanged.connect(self._speed_changed)

        self.dataset = QComboBox()
        for name in DATASETS:
            self.dataset.addItem(DATASET_TITLES[name], name)
        self.clear_drawing = QPushButton("Clear drawing")
        self.clear_drawing.clicked.connect(self._clear_drawing)
        self.loss = QComboBox()
        for name in LOSSES:
            self.loss.addItem(LOSS_TITLES[name], name)
        self.z_dim = QComboBox()
        self.z_dim.addItem("1 (G draws a curve)", 1)
        self.z_dim.addItem("2 (G folds a plane)", 2)
        self.g_hidden, self.g_layers = self._spin(4, 512), self._spin(1, 8)
        self.d_hidden, self.d_layers = self._spin(4, 512), self._spin(1, 8)
        self.lr_g, self.lr_d = self._lr_spin(), self._lr_spin()
        self.n_critic = self._spin(1, 20)
        self.batch = self._spin(8, 4096)
        self.seed = self._spin(0, 10**6)
        for w in (self.dataset, self.loss, self.z_dim):
            w.currentIndexChanged.connect(self._settings_changed)
        for w in (self.g_hidden, self.g_layers, self.d_hidden, self.d_layers, self.lr_g, self.lr_d, self.n_critic,
                  self.batch, self.seed):
            w.editingFinished.connect(self._settings_changed)
        self.loss.currentIndexChanged.connect(self._loss_changed)

        self.show_heat, self.show_arrows, self.show_latent = (QCheckBox(t) for t in ("heat map", "G's gradients", "z-grid under G"))
        self.show_real, self.show_fake = QCheckBox("real"), QCheckBox("generated")
        for box, item in ((self.show_heat, self.heat), (self.show_arrows, self.arrows),
                          (self.show_latent, self.latent_curve), (self.show_real, self.real_points),
                          (self.show_fake, self.fake_points)):
            box.setChecked(True)
            box.toggled.connect(item.setVisible)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.coverage_label = QLabel()
        self.coverage_label.setWordWrap(True)
        self.field_label = QLabel()

        buttons = QHBoxLayout()
        for b in (self.play_button, self.d_step_button, self.g_step_button, self.reset_button):
            buttons.addWidget(b)
        speed_row = QHBoxLayout()
        speed_row.addWidget(QLabel("speed"))
        speed_row.addWidget(self.speed, 1)
        speed_row.addWidget(self.speed_label)

        form = QFormLayout()
        form.addRow("data", self.dataset)
        form.addRow("", self.clear_drawing)
        form.addRow("objective", self.loss)
        form.addRow("latent dim", self.z_dim)
        form.addRow("G width / layers", self._pair(self.g_hidden, self.g_layers))
        form.addRow("D width / layers", self._pair(self.d_hidden, self.d_layers))
        form.addRow("lr G / lr D", self._pair(self.lr_g, self.lr_d))
        form.addRow("D steps per G step", self.n_critic)
        form.addRow("batch", self.batch)
        form.addRow("seed", self.seed)
        settings = QGroupBox("Settings (a change resets the networks)")
        settings.setLayout(form)
        shows = QGroupBox("Show")
        show_layout = QVBoxLayout(shows)
        for box in (self.show_heat, self.show_arrows, self.show_latent, self.show_real, self.show_fake):
            show_layout.addWidget(box)

        side = QVBoxLayout()
        side.addLayout(buttons)
        side.addLayout(speed_row)
        side.addWidget(settings)
        side.addWidget(shows)
        side.addWidget(self.field_label)
        side.addWidget(self.coverage_label)
        side.addWidget(self.status)
        side.addStretch(1)
        side_widget = FreeHeight()
        side_widget.setLayout(side)
        side_widget.setMaximumWidth(380)

        split = QSplitter(Qt.Vertical)
        split.addWidget(self.plane)
        split.addWidget(self.curves)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(side_widget)
        self._speed_changed(self.speed.value())

    @staticmethod
    def _spin(lo, hi):
        s = QSpinBox()
        s.setRange(lo, hi)
        return s

    @staticmethod
    def _lr_spin():
        s = QDoubleSpinBox()
        s.setDecimals(5)
        s.setRange(1e-5, 0.1)
        s.setSingleStep(1e-4)
        return s

    @staticmethod
    def _pair(a, b):
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(a)
        row.addWidget(b)
        return w

    def _load_config_into_form(self, config: LabConfig):
        c = config.resolved()
        widgets = (self.dataset, self.loss, self.z_dim, self.g_hidden, self.g_layers, self.d_hidden, self.d_layers,
                   self.lr_g, self.lr_d, self.n_critic, self.batch, self.seed)
        for w in widgets:
            w.blockSignals(True)
        self.dataset.setCurrentIndex(self.dataset.findData(c.dataset))
        self.loss.setCurrentIndex(self.loss.findData(c.loss))
        self.z_dim.setCurrentIndex(self.z_dim.findData(c.z_dim))
        self.g_hidden.setValue(c.g_hidden)
        self.g_layers.setValue(c.g_layers)
        self.d_hidden.setValue(c.d_hidden)
        self.d_layers.setValue(c.d_layers)
        self.lr_g.setValue(c.lr_g)
        self.lr_d.setValue(c.lr_d)
        self.n_critic.setValue(c.n_critic)
        self.batch.setValue(c.batch)
        self.seed.setValue(c.seed)
        for w in widgets:
            w.blockSignals(False)
        self.clear_drawing.setEnabled(c.dataset == "drawn")
        self.plane_box.drawing = c.dataset == "drawn"

    def config_from_form(self) -> LabConfig:
        return LabConfig(
            dataset=self.dataset.currentData(), loss=self.loss.currentData(), z_dim=self.z_dim.currentData(),
            g_hidden=self.g_hidden.value(), g_layers=self.g_layers.value(), d_hidden=self.d_hidden.value(),
            d_layers=self.d_layers.value(), lr_g=self.lr_g.value(), lr_d=self.lr_d.value(),
            n_critic=self.n_critic.value(), batch=self.batch.value(), clip=self.config.clip,
            gp_lambda=self.config.gp_lambda, seed=self.seed.value())

    # The runner.
    def _apply_config(self, config: LabConfig):
        """Reset the runner to `config` (new networks, a new token: older frames are dropped);
        with 'drawn' and fewer than 3 points, no lab until the user draws."""
        self.config = config
        self.error = ""
        # Until the new lab's first frame replaces it (the first lab of a session also waits for
        # torch.optim's first import, seconds on a busy machine). Set before the reset: a synchronous
        # runner draws its first frame within it.
        self._set_status("Building the networks…")
        try:
            self.runner.reset(config, self.drawn_points if config.dataset == "drawn" else None)
        except GanExplorerError as exc:
            self.lab_ready = False
            self._clear_view()
            self._set_status(str(exc) if config.dataset != "drawn" else
                             "Drag on the plane to draw the data (at least 3 points), then press Play.")
            return
        self.lab_ready = True
        if self.play_button.isChecked():
            self._command("play")

    def _advance(self):
        if self.runner is not None:
            self.runner.advance()

    def _stop_runner(self):
        self._sync_timer.stop()
        if self.runner is not None:
            self.runner.close()
            self.runner = None

    def _command(self, name):
        if self.runner is None:
            return
        if name in ("step_d", "step_g") and self.play_button.isChecked():
            self.play_button.setChecked(False)  # stepping pauses, as in GAN Lab
        getattr(self.runner, name)()
        if self.sync:
            if name == "play":
                self._sync_timer.start()
            elif name in ("pause", "step_d", "step_g"):
                self._sync_timer.stop()

    # Slots.
    def play(self):
        self.play_button.setChecked(True)

    def pause(self):
        self.play_button.setChecked(False)

    def reset(self):
        if self.runner is None:  # shut down
            return
        try:
            config = self.config_from_form()
            config.validate()
        except GanExplorerError as exc:
            self._show_error(str(exc))
            return
        self._apply_config(config)

    def _view_range_changed(self, *args):
        if getattr(self, "runner", None) is not None:
            (xmin, xmax), (ymin, ymax) = self.plane_box.viewRange()
            self.runner.set_extent((xmin, xmax, ymin, ymax))
            if not self.runner.playing:
                self.runner.request_frame()

    def _play_toggled(self, on):
        self.play_button.setText("Pause" if on else "Play")
        self._command("play" if on else "pause")

    def _speed_changed(self, index):
        self.speed_label.setText(f"{SPEEDS[index]} it/frame")
        if getattr(self, "runner", None) is not None:
            self.runner.set_speed(SPEEDS[index])

    def _loss_changed(self):
        # A new objective brings its paper's learning rates and D steps (the user may change them after).
        d = LOSS_DEFAULTS[self.loss.currentData()]
        for w, v in ((self.lr_g, d["lr_g"]), (self.lr_d, d["lr_d"]), (self.n_critic, d["n_critic"])):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self.reset()

    def _settings_changed(self):
        if self.sender() is self.loss:
            return  # _loss_changed resets with the loss's defaults
        new = self.config_from_form()
        drawing = new.dataset == "drawn"
        self.clear_drawing.setEnabled(drawing)
        self.plane_box.drawing = drawing
        self.drawn_item.setData(pos=self.drawn_points if drawing else np.zeros((0, 2)))
        if new != self.config or not self.lab_ready:
            self.reset()

    def _points_drawn(self, points):
        self.drawn_points = np.concatenate([self.drawn_points, points])[-5000:]
        self.drawn_item.setData(pos=self.drawn_points)

    def _stroke_finished(self):
        if len(self.drawn_points) >= 3:
            self.reset()

    def _clear_drawing(self):
        self.drawn_points = np.zeros((0, 2), np.float32)
        self.drawn_item.setData(pos=self.drawn_points)
        self.reset()

    def set_drawn_points(self, points):
        """Replace the drawing (what dragging on the plane builds up) and reset the networks."""
        self.drawn_points = np.asarray(points, np.float32).reshape(-1, 2)
        self.drawn_item.setData(pos=self.drawn_points)
        self.reset()

    def _show_error(self, error: LabError | str):
        if isinstance(error, LabError):
            if self.runner is None or not self.runner.is_current(error):
                self.frames_dropped += 1  # about a lab reset since
                return
            error = error.message
        message = error
        self.error = message
        self.play_button.setChecked(False)
        self._set_status(message, error=True)

    def _set_status(self, text, error=False):
        self.status.setStyleSheet("color: #b00020" if error else "")
        self.status.setText(text)

    def _clear_view(self):
        self._shown_real = None
        for item in (self.real_points, self.fake_points, self.drawn_item):
            item.setData(pos=np.zeros((0, 2)))
        self.arrows.setData([], [])
        self.latent_curve.setData([], [])
        self.heat.clear()
        self.d_curve.setData([], [])
        self.g_curve.setData([], [])
        self.coverage_label.setText("")

    def _show_frame(self, frame: LabFrame):
        runner = self.runner
        if runner is None or not runner.is_current(frame):  # made before a Reset: never drawn
            self.frames_dropped += 1
            if runner is not None:
                runner.frame_shown(frame.token)
            return
        try:
            self.last_frame = frame
            field = frame.field
            if frame.field_label.startswith("D(x)"):
                levels = (0.0, 1.0)
            else:  # a critic's values have no fixed range or offset: its lowest purple, its highest green
                lo, hi = float(field.min()), float(field.max())
                levels = (lo, hi if hi > lo else lo + 1.0)
            self.heat.setImage(field, autoLevels=False, levels=levels)
            xmin, xmax, ymin, ymax = frame.extent
            self.heat.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))  # after setImage: it scales by size
            if self._shown_real is None or not np.array_equal(self._shown_real, frame.real):
                self.real_points.setData(pos=frame.real)  # the same sample every frame until a reset
                self._shown_real = frame.real
            self.fake_points.setData(pos=frame.fake)
            seg = arrow_segments(frame.arrow_from, frame.arrow_vec)
            self.arrows.setData(seg[:, 0], seg[:, 1], connect="pairs")
            self.latent_curve.setData(frame.latent_grid[:, 0], frame.latent_grid[:, 1], connect="finite")
            self.d_curve.setData(*frame.d_curve)
            self.g_curve.setData(*frame.g_curve)
            if frame.config.dataset == "drawn":
                self.drawn_item.setData(pos=self.drawn_points)
            if frame.field_label.startswith("D(x)"):
                self.field_label.setText(f"heat map: {frame.field_label} (purple: fake, green: real)")
            else:
                self.field_label.setText(f"heat map: {frame.field_label} from {levels[0]:.3g} (purple) "
                                         f"to {levels[1]:.3g} (green)")
            self.coverage_label.setText(f"{frame.coverage} (at G step {frame.coverage_g_steps})"
                                        if frame.coverage is not None else "")
            if not self.error:
                self._set_status(f"G steps {frame.g_steps}, D steps {frame.d_steps}")
            self.frames_shown += 1
            self.sigFrameShown.emit(frame.g_steps)
        finally:
            runner.frame_shown(frame.token)

    def closeEvent(self, event):
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self):
        """Stop the worker thread (joined); the widget keeps its last frame."""
        self._stop_runner()
