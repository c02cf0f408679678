"""The explorer window: docks and menus; rendering happens in RenderWorker's thread."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import torch
import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDockWidget, QFileDialog, QFrame, QHBoxLayout, QLabel, QListWidget,
    QListWidgetItem, QMainWindow, QMessageBox, QPlainTextEdit, QPushButton, QScrollArea, QTabWidget,
    QVBoxLayout, QWidget,
)

import gan_explorer
from gan_explorer.core.render import LatentState, RenderRequest
from gan_explorer.core.session import Bookmarks, History
from gan_explorer.gui.render_worker import RenderWorker
from gan_explorer.gui.training_monitor import TrainingWorkspace
from gan_explorer.gui.widgets.image_view import ImageView
from gan_explorer.gui.widgets.interpolation_panel import InterpolationPanel
from gan_explorer.gui.widgets.mixing_panel import MixingPanel
from gan_explorer.gui.widgets.latent_panel import LatentPanel
from gan_explorer.gui.widgets.slider_bank import LayerRange, SliderBank

MODEL_FILTER = "Models (*.safetensors *.pkl *.pt *.pth);;All files (*)"
MAX_RECENT = 10


class MainWindow(QMainWindow):
    sigImageShown = Signal(int)   # request id of the image now on screen
    sigModelReady = Signal(str)   # path of the model now open
    sigError = Signal(str)        # an error shown to the user
    sigJobFinished = Signal(str)  # a batch job (mix, play, export, encode, translate) ended

    def __init__(self, sync: bool = False, settings: QSettings | None = None, data_dir=None):
        super().__init__()
        self.setWindowTitle(f"gan_explorer {gan_explorer.__version__}")
        self.settings = settings or QSettings("gan_explorer", "gan_explorer")
        self.data_dir = data_dir
        self.worker = RenderWorker(sync=sync)
        self.worker.sigRendered.connect(self._on_rendered)
        self.worker.sigModelLoaded.connect(self._on_model_loaded)
        self.worker.sigModelFailed.connect(self._on_model_failed)
        self.worker.sigDirections.connect(self._on_directions)
        self.worker.sigJobProgress.connect(self._on_job_progress)
        self.worker.sigJobDone.connect(self._on_job_done)
        self._jobs: dict[int, dict] = {}
        self._next_job = 0
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._play_next)
        self._play_frames: list = []
        self._play_index = 0
        self.history = History(LatentState())
        self.info: dict | None = None
        self.model_path: str | None = None
        self.bookmarks: Bookmarks | None = None
        self._token = 0
        self._active_token = 0  # the model the worker renders now
        self._next_id = 0
        self._shown_id = -1
        self._last_sent_id = -1
        self._frame_times: list[float] = []
        self.last_result = None
        self.directions = None

        self.view = ImageView()
        self.view.sigDropped.connect(self._dropped)
        self.workspace = TrainingWorkspace(self.settings)
        self.workspace.sigExplore.connect(self.explore_snapshot)
        # The workspace scrolls rather than widening the window: its form and plots would
        # otherwise add to the explorer's docks and push the window past a laptop screen.
        self.train_page = QScrollArea()
        self.train_page.setWidget(self.workspace)
        self.train_page.setWidgetResizable(True)
        self.train_page.setFrameShape(QFrame.NoFrame)
        self.central = QTabWidget()
        self.central.addTab(self.view, "Explore")
        self.central.addTab(self.train_page, "Train")
        self.setCentralWidget(self.central)
        self.central.currentChanged.connect(self._central_changed)
        self._build_docks()
        self._build_menus()
        self.status = QLabel("no model")
        self.statusBar().addPermanentWidget(self.status)
        self.setAcceptDrops(True)
        self.resize(1200, 800)
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        layout = self.settings.value("window_state")
        if layout is not None:
            self.restoreState(layout)
        self.worker.start()
        device = self.settings.value("device")
        if device:
            from gan_explorer.core.devices import available_devices

            if str(device) in available_devices():
                self.worker.set_device(str(device))
        self._update_enabled()

    # ----- layout -------------------------------------------------------------------------
    def _build_docks(self):
        left = QWidget()
        layout = QVBoxLayout(left)
        self.latent_panel = LatentPanel()
        self.latent_panel.sigChanged.connect(self.change_state)
        layout.addWidget(self.latent_panel)
        layout.addWidget(QLabel("Model"))
        self.info_box = QPlainTextEdit()
        self.info_box.setReadOnly(True)
        self.info_box.setMaximumHeight(180)
        layout.addWidget(self.info_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Bookmarks"))
        self.add_bookmark_btn = QPushButton("Add")
        self.add_bookmark_btn.clicked.connect(self.add_bookmark)
        row.addStretch(1)
        row.addWidget(self.add_bookmark_btn)
        layout.addLayout(row)
        self.bookmark_list = QListWidget()
        self.bookmark_list.setIconSize(QPixmap(48, 48).size())
        self.bookmark_list.itemActivated.connect(self._bookmark_activated)
        self.bookmark_list.itemDoubleClicked.connect(self._bookmark_activated)
        layout.addWidget(self.bookmark_list, 1)
        dock = QDockWidget("Latent", self)
        dock.setObjectName("latent_dock")
        dock.setWidget(left)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)

        self.tabs = QTabWidget()
        self._picked_tab = 0
        self._updating_tabs = False
        self.tabs.currentChanged.connect(self._tab_picked)
        self.z_bank = SliderBank(8)
        self.z_bank.sigValueChanged.connect(self._z_slider)
        self.z_bank.sigReleased.connect(self.history.end_gesture)
        self.z_bank.sigReset.connect(lambda: self.change_state({"z_edits": ()}, ""))
        self.tabs.addTab(self.z_bank, "Z")

        w_tab = QWidget()
        w_layout = QVBoxLayout(w_tab)
        self.w_range = LayerRange()
        self.w_bank = SliderBank(8)
        self.w_bank.sigValueChanged.connect(self._w_slider)
        self.w_bank.sigReleased.connect(self.history.end_gesture)
        self.w_bank.sigReset.connect(lambda: self._clear_offsets("w:"))
        w_layout.addWidget(self.w_range)
        w_layout.addWidget(self.w_bank)
        self.tabs.addTab(w_tab, "W")

        d_tab = QWidget()
        d_layout = QVBoxLayout(d_tab)
        row = QHBoxLayout()
        self.direction_method = QComboBox()
        self.direction_method.addItem("PCA of w (GANSpace)", "pca")
        self.direction_method.addItem("Closed-form (SeFa)", "sefa")
        self.compute_btn = QPushButton("Find directions")
        self.compute_btn.clicked.connect(self.compute_directions)
        row.addWidget(self.direction_method, 1)
        row.addWidget(self.compute_btn)
        d_layout.addLayout(row)
        self.d_range = LayerRange()
        self.d_bank = SliderBank(10)
        self.d_bank.sigValueChanged.connect(self._direction_slider)
        self.d_bank.sigReleased.connect(self.history.end_gesture)
        self.d_bank.sigReset.connect(lambda: self._clear_offsets("d:"))
        d_layout.addWidget(self.d_range)
        self.preview_btn = QPushButton("Preview this page (−2σ, 0, +2σ)")
        self.preview_btn.clicked.connect(self.preview_directions)
        d_layout.addWidget(self.preview_btn)
        d_layout.addWidget(self.d_bank)
        self.tabs.addTab(d_tab, "Directions")
        self.mixing = MixingPanel()
        self.mixing.sigRender.connect(self.render_mixing)
        self.mixing.sigCellChosen.connect(self.choose_mixing_cell)
        self.tabs.addTab(self.mixing, "Mixing")
        self.interpolation = InterpolationPanel()
        self.interpolation.sigAddKeyframe.connect(self.add_keyframe)
        self.interpolation.sigPlay.connect(lambda: self.run_interpolation("play"))
        self.interpolation.sigExport.connect(self._export_dialog)
        self.interpolation.sigCancel.connect(self.cancel_jobs)
        self.tabs.addTab(self.interpolation, "Interpolation")

        translate = QWidget()
        t_layout = QVBoxLayout(translate)
        self.translate_direction = QComboBox()
        self.translate_direction.addItem("A → B", "AB")
        self.translate_direction.addItem("B → A", "BA")
        open_image = QPushButton("Open image…")
        open_image.clicked.connect(self._open_image_dialog)
        t_layout.addWidget(QLabel("Drop a picture on the view, or open one:\nshown left as input, right translated."))
        t_layout.addWidget(self.translate_direction)
        t_layout.addWidget(open_image)
        self.sample_btn = QPushButton("Random training sample")
        self.sample_btn.setToolTip("Translate a random image of the dataset the model was trained on")
        self.sample_btn.clicked.connect(self.translate_training_sample)
        t_layout.addWidget(self.sample_btn)
        t_layout.addStretch(1)
        self.translate_tab = translate
        self.tabs.addTab(translate, "Translate / Encode")
        dock = QDockWidget("Sliders", self)
        dock.setObjectName("slider_dock")
        dock.setWidget(self.tabs)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)

    def _build_menus(self):
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = file_menu.addAction("&Open model…", self._open_dialog, QKeySequence.Open)
        file_menu.addAction("Open r&un…", self._open_run_dialog)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._refresh_recent()
        file_menu.addSeparator()
        self.save_image_action = file_menu.addAction("&Save image…", self._save_image_dialog, QKeySequence.Save)
        self.save_latent_action = file_menu.addAction("Save &latent…", self._save_latent_dialog)
        self.copy_action = file_menu.addAction("&Copy image", self.copy_image, QKeySequence.Copy)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", self.close, QKeySequence.Quit)
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = edit.addAction("&Undo", self.undo, QKeySequence.Undo)
        self.redo_action = edit.addAction("&Redo", self.redo, QKeySequence("Ctrl+Shift+Z"))
        device_menu = self.menuBar().addMenu("&Device")
        from gan_explorer.core.devices import available_devices

        for name in ["cpu", "cuda", "mps"]:
            action = device_menu.addAction(name.upper(), lambda n=name: self.set_device(n))
            action.setEnabled(name in available_devices())
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About", self.show_about)

    # ----- model --------------------------------------------------------------------------
    def _open_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self.settings.value("last_dir", ""), MODEL_FILTER)
        if path:
            self.open_model(path)

    def _central_changed(self, index):
        """The explorer's docks make room while the training workspace is shown."""
        exploring = self.central.widget(index) is self.view
        for dock in self.findChildren(QDockWidget):
            dock.setVisible(exploring)

    def _tab_picked(self, index: int):
        if not self._updating_tabs and index >= 0 and self.tabs.isTabEnabled(index):
            self._picked_tab = index

    def _open_run_dialog(self):
        path = QFileDialog.getExistingDirectory(self, "Open run directory")
        if path:
            self.central.setCurrentWidget(self.train_page)
            self.workspace.attach(path)

    def explore_snapshot(self, path: str):
        self.central.setCurrentWidget(self.view)
        self.open_model(path)

    def open_model(self, path: str):
        """Ask the worker to load `path`; the current model keeps working until it succeeds."""
        self._token += 1  # the newest load asked for; an older one finishing late is ignored
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        self.worker.load_model(str(path), self._token)

    def _on_model_loaded(self, payload):
        if payload["token"] != self._token:
            return
        self._active_token = payload["token"]
        self.info = payload["info"]
        self.model_path = payload["path"]
        self._remember_recent(self.model_path)
        info = self.info
        caps = info["capabilities"]
        lines = [f"{Path(self.model_path).name}", f"family       {info['family']}",
                 f"resolution   {info['img_resolution']} px x {info['img_channels']}"]
        if not caps["is_translation"]:
            lines.append(f"z / w dims   {info['z_dim']} / {info['w_dim']}, num_ws {info['num_ws']}")
        lines.append(f"parameters   {info['parameters']:,}")
        if info["provenance"]:
            lines.append("provenance   " + json.dumps(info["provenance"], default=str)[:300])
        self.info_box.setPlainText("\n".join(lines))
        self.directions = None
        self.d_bank.set_items([])
        if not caps["is_translation"]:
            self.z_bank.set_items([f"z[{i}]" for i in range(info["z_dim"])])
            self.w_bank.set_items([f"w[{i}]" for i in range(info["w_dim"])])
            for r in (self.w_range, self.d_range):
                r.set_num_ws(info["num_ws"])
            self.mixing.set_num_ws(info["num_ws"])
        self.latent_panel.set_transform_enabled(caps.get("has_transform", False))
        self.bookmarks = Bookmarks(self.model_path, self.data_dir)
        self._refresh_bookmarks()
        state = LatentState(seed=self.latent_panel.seed.value(), truncation_psi=self.latent_panel.psi.value(),
                            transform=(0.0, 0.0, 0.0),
                            noise_mode=self.latent_panel.noise_mode.currentText() if caps["has_noise"] else "const")
        self.history.reset(state)
        self._show_state(state)
        self._update_enabled()
        self.statusBar().showMessage(f"Opened {self.model_path}", 5000)
        self.sigModelReady.emit(self.model_path)
        self.request_render()

    def _on_model_failed(self, payload):
        message = payload["error"]
        self.statusBar().showMessage(message, 15000)
        self.sigError.emit(message)
        if not getattr(self, "quiet_errors", False):
            QMessageBox.warning(self, "Cannot open model", message)

    def set_device(self, name: str):
        self.worker.set_device(name)
        self.settings.setValue("device", name)
        self.request_render()

    # ----- latent state -------------------------------------------------------------------
    @property
    def state(self) -> LatentState:
        return self.history.current

    def change_state(self, changes: dict, gesture: str = ""):
        if "seed" in changes:  # raw z edits belong to a seed
            changes.setdefault("z_edits", ())
            self.z_bank.set_values({})
        self.history.push(self.state.with_changes(**changes), gesture or None)
        self._update_enabled()
        self.request_render()

    def _z_slider(self, dim, value):
        self.history.push(self.state.with_z_edit(dim, value), f"z{dim}")
        self.request_render()

    def _w_slider(self, dim, value):
        start, end = self.w_range.value()
        sigma = 1.0
        self.history.push(self.state.with_w_offset(f"w:{dim}", start, end, dim=dim, amount=value * sigma), f"w{dim}")
        self.request_render()

    def _direction_slider(self, index, value):
        if self.directions is None:
            return
        start, end = self.d_range.value()
        direction = self.directions["directions"][index]
        sigma = float(self.directions["sigma"][index])
        self.history.push(self.state.with_w_offset(f"d:{index}", start, end, direction=direction,
                                                   amount=value * sigma), f"d{index}")
        self.request_render()

    def _clear_offsets(self, prefix):
        kept = tuple(o for o in self.state.w_offsets if not o[0].startswith(prefix))
        self.change_state({"w_offsets": kept})

    def compute_directions(self):
        if self.info is None:
            return
        self.compute_btn.setEnabled(False)
        self.statusBar().showMessage("Finding directions…")
        self.worker.compute_directions(self.direction_method.currentData(), 20)

    def _on_directions(self, payload):
        self.compute_btn.setEnabled(True)
        if "error" in payload:
            self.statusBar().showMessage(payload["error"], 10000)
            return
        self.directions = payload
        label = "PC" if payload["method"] == "pca" else "SeFa"
        self.d_bank.set_items([f"{label} {i}" for i in range(len(payload["directions"]))])
        self._clear_offsets("d:")
        self.statusBar().showMessage(f"{len(payload['directions'])} directions found", 5000)

    def preview_directions(self):
        """A strip of three small images per visible direction: the current image pushed by -2, 0, +2 sigma."""
        if self.directions is None:
            return
        start, end = self.d_range.value()
        states, rows = [], self.d_bank.visible_items()
        for item in rows:
            direction, sigma = self.directions["directions"][item], float(self.directions["sigma"][item])
            for amount in (-2.0, 0.0, 2.0):
                states.append(self.state.with_w_offset(f"d:{item}", start, end, direction=direction,
                                                       amount=amount * sigma))
        self.preview_btn.setEnabled(False)
        self.worker.render_batch(self._start_job("previews", rows=rows), states)

    def undo(self):
        self._show_state(self.history.undo())
        self.request_render()

    def redo(self):
        self._show_state(self.history.redo())
        self.request_render()

    def _show_state(self, state: LatentState):
        caps = (self.info or {}).get("capabilities", {})
        self.latent_panel.show_state(state, (self.info or {}).get("num_ws"), caps.get("has_noise", False))
        self.z_bank.set_values({int(d): v for d, v in state.z_edits})
        self.w_bank.set_values({int(o[3]): o[5] for o in state.w_offsets if o[0].startswith("w:")})
        if self.directions is not None:
            sigma = self.directions["sigma"]
            self.d_bank.set_values({int(o[0][2:]): o[5] / float(sigma[int(o[0][2:])])
                                    for o in state.w_offsets if o[0].startswith("d:")})
        self._update_enabled()

    def _update_enabled(self):
        has_model = self.info is not None
        caps = (self.info or {}).get("capabilities", {})
        latent = has_model and not caps.get("is_translation", False)
        translation = has_model and caps.get("is_translation", False)
        for w in (self.latent_panel, self.add_bookmark_btn):
            w.setEnabled(latent)
        self.tabs.setEnabled(has_model)
        self._updating_tabs = True  # the moves Qt makes while tabs switch on and off are not the user's
        for i in range(self.tabs.count()):
            self.tabs.setTabEnabled(i, latent)
        self.tabs.setTabEnabled(2, latent and caps.get("has_mapping", False))
        self.tabs.setTabEnabled(3, latent and caps.get("style_mixing", False))
        can_translate = translation or caps.get("has_encoder", False)
        self.tabs.setTabEnabled(self.tabs.indexOf(self.translate_tab), bool(can_translate))
        self.translate_direction.setEnabled(bool(translation))
        self.sample_btn.setEnabled(bool(translation) and bool((self.info or {}).get("provenance", {}).get("data")))
        if translation:
            self.tabs.setCurrentWidget(self.translate_tab)
        elif latent:
            # Qt moves off a tab when it is disabled (all are while no model is open); go back
            # to the tab the user last picked, or the first one.
            picked = self._picked_tab
            self.tabs.setCurrentIndex(picked if self.tabs.isTabEnabled(picked) else 0)
        self._updating_tabs = False
        for a in (self.save_image_action, self.save_latent_action, self.copy_action):
            a.setEnabled(self.view.image is not None)
        self.undo_action.setEnabled(self.history.can_undo())
        self.redo_action.setEnabled(self.history.can_redo())

    # ----- rendering ----------------------------------------------------------------------
    def request_render(self):
        if self.info is None or self.info["capabilities"]["is_translation"]:
            return
        self._next_id += 1
        self._last_sent_id = self._next_id
        self.worker.request_render(RenderRequest(self._next_id, self.state, self._active_token))

    def _on_rendered(self, result):
        if result.request_id <= self._shown_id or result.model_token != self._active_token:
            return  # stale: a newer image is already shown, or it is of a previous model
        if result.error:
            self.statusBar().showMessage(f"Render failed: {result.error}", 10000)
            self.sigError.emit(result.error)
            return
        self._shown_id = result.request_id
        self.last_result = result
        if result.extra.get("fell_back_to_cpu"):
            self.statusBar().showMessage("Out of GPU memory: rendering on the CPU now", 10000)
        self.view.set_image(result.image)
        now = time.perf_counter()
        self._frame_times = [t for t in self._frame_times if now - t < 1.0] + [now]
        fps = len(self._frame_times)
        self.status.setText(f"{self.info['family']} {self.info['img_resolution']} px · render {result.render_ms:.0f} ms"
                            f" · {fps} fps")
        self._update_enabled()
        self.sigImageShown.emit(result.request_id)

    # ----- batch jobs: mixing grid, interpolation, encode / translate --------------------------
    def _start_job(self, kind, **data) -> int:
        self._next_job += 1
        self._jobs[self._next_job] = {"kind": kind, **data}
        return self._next_job

    def _base_state(self, **changes):
        s = self.state
        return LatentState(seed=s.seed, truncation_psi=s.truncation_psi, truncation_cutoff=s.truncation_cutoff,
                           noise_mode=s.noise_mode, noise_seed=s.noise_seed, transform=s.transform).with_changes(**changes)

    def render_mixing(self, rows, cols, layers):
        states = [self._base_state(seed=c) for c in cols] + [self._base_state(seed=r) for r in rows]
        states += [self._base_state(seed=r, mix_seed=c, mix_layers=tuple(layers)) for r in rows for c in cols]
        self.mixing.render_btn.setEnabled(False)
        self.worker.render_batch(self._start_job("mix"), states)

    def choose_mixing_cell(self, row_seed, col_seed):
        state = self._base_state(seed=row_seed, mix_seed=col_seed, mix_layers=tuple(self.mixing.layers()))
        self.history.push(state)
        self._show_state(state)
        self.request_render()

    def add_keyframe(self):
        self.interpolation.add(self.state, f"seed {self.state.seed}" + (" (edited)" if self.state.w_offsets
                                                                         or self.state.z_edits else ""))

    def run_interpolation(self, purpose, path=None):
        keys = self.interpolation.keyframes
        if len(keys) < 2:
            self.statusBar().showMessage("Add at least two keyframes", 5000)
            return None
        job = self._start_job(purpose, path=path, fps=self.interpolation.fps.value())
        self.interpolation.set_busy(True)
        self.interpolation.progress.setValue(0)
        export = {"export_path": str(path), "fps": self.interpolation.fps.value()} if purpose == "export" else {}
        self.worker.render_interpolation(job, list(keys), **self.interpolation.settings(), **export)
        return job

    def _export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export animation", "interpolation.gif",
                                              "GIF (*.gif);;MP4 (*.mp4);;PNG frames (a folder name)")
        if path:
            self.run_interpolation("export", path)

    def cancel_jobs(self):
        for job in list(self._jobs):
            self.worker.cancel_job(job)

    def _open_image_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.use_picture(path)

    def _dropped(self, path):
        if Path(path).suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".bmp") and self.info is not None:
            self.use_picture(path)
        else:
            self.open_model(path)

    def use_picture(self, path):
        """VAE / autoencoder: encode the picture to a latent; CycleGAN: translate it (decoded on the worker)."""
        caps = (self.info or {}).get("capabilities", {})
        image = str(path)
        if caps.get("is_translation"):
            self.worker.translate_image(self._start_job("translate"), image, self.translate_direction.currentData())
        elif caps.get("has_encoder"):
            self.worker.encode_image(self._start_job("encode"), image)
        else:
            self.statusBar().showMessage("This model has no encoder: pictures cannot be turned into latents", 8000)

    def translate_training_sample(self, index: int | None = None):
        import random

        provenance = (self.info or {}).get("provenance", {})
        direction = self.translate_direction.currentData()
        spec = provenance.get("data" if direction == "AB" else "data_b")
        if not spec:
            self.statusBar().showMessage("This model does not say which data it was trained on: open an image", 8000)
            return
        index = random.randrange(10**6) if index is None else index
        self.worker.translate_sample(self._start_job("translate"), spec, direction, index)

    def _on_job_progress(self, payload):
        job = self._jobs.get(payload["job"])
        if job and job["kind"] in ("play", "export"):
            self.interpolation.progress.setMaximum(payload["total"])
            self.interpolation.progress.setValue(payload["done"])

    def _on_job_done(self, payload):
        job = self._jobs.pop(payload["job"], None)
        if job is None:
            if payload.get("error"):
                self.statusBar().showMessage(payload["error"], 10000)
            return
        kind = job["kind"]
        if kind in ("play", "export"):
            self.interpolation.set_busy(False)
        if kind == "mix":
            self.mixing.render_btn.setEnabled(True)
        if kind == "previews":
            self.preview_btn.setEnabled(True)
        if payload.get("error"):
            self.statusBar().showMessage(payload["error"], 10000)
            self.sigError.emit(payload["error"])
            return
        if payload.get("cancelled"):
            self.statusBar().showMessage("Cancelled", 5000)
            self.sigJobFinished.emit(kind)
            return
        if kind == "mix":
            self.mixing.show_images(payload["images"])
        elif kind == "previews":
            from gan_explorer.gui.widgets.image_view import array_to_qimage

            images = payload["images"]
            for row, _item in enumerate(job["rows"]):
                strip = np.concatenate(images[3 * row: 3 * row + 3], axis=1)
                pixmap = QPixmap.fromImage(array_to_qimage(strip)).scaledToHeight(32, Qt.SmoothTransformation)
                self.d_bank.set_preview(row, pixmap)
        elif kind == "play":
            self._play_frames, self._play_index = payload["images"], 0
            self._play_timer.start(int(1000 / job["fps"]))
        elif kind == "export":
            self.statusBar().showMessage(f"Exported {payload['frames']} frames to {payload['exported']}", 8000)
        elif kind == "encode":
            ws = payload["ws"]
            state = LatentState(seed=self.state.seed, ws=tuple(map(tuple, ws.tolist())))
            self.history.push(state)
            self.request_render()
        elif kind == "translate":
            source, translated = payload["images"]
            self.view.set_image(np.concatenate([source, translated], axis=1))
            self._update_enabled()
        self.sigJobFinished.emit(kind)

    def _play_next(self):
        if not self._play_frames:
            self._play_timer.stop()
            return
        self.view.set_image(self._play_frames[self._play_index % len(self._play_frames)])
        self._play_index += 1
        if self._play_index >= len(self._play_frames) and not self.interpolation.loop.isChecked():
            self._play_timer.stop()

    # ----- saving ---------------------------------------------------------------------------
    def _save_image_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Save image", f"seed{self.state.seed:04d}.png", "PNG (*.png)")
        if path:
            self.save_image(path)

    def save_image(self, path):
        from gan_explorer.core.io.images import save_image

        save_image(path, self.view.image)

    def _save_latent_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Save latent", f"seed{self.state.seed:04d}.npy",
                                              "NumPy (*.npy);;JSON (*.json)")
        if path:
            self.save_latent(path)

    def save_latent(self, path):
        from gan_explorer.core.latent.files import save_latent

        ws = torch.from_numpy(self.last_result.ws[None])
        save_latent(path, ws, seed=self.state.seed, model=Path(self.model_path).name)

    def copy_image(self):
        from gan_explorer.gui.widgets.image_view import array_to_qimage

        if self.view.image is not None:
            QApplication.clipboard().setImage(array_to_qimage(self.view.image))

    # ----- bookmarks ------------------------------------------------------------------------
    def add_bookmark(self):
        if self.bookmarks is None or self.view.image is None:
            return
        thumb = Image.fromarray(self.view.image).resize((64, 64))
        buf = io.BytesIO()
        thumb.save(buf, format="PNG")
        self.bookmarks.add(self.state, thumbnail_png=buf.getvalue())
        self._refresh_bookmarks()

    def _refresh_bookmarks(self):
        self.bookmark_list.clear()
        if self.bookmarks is None:
            return
        for i, item in enumerate(self.bookmarks.items):
            entry = QListWidgetItem(item["name"])
            png = self.bookmarks.thumbnail(i)
            if png:
                pixmap = QPixmap()
                pixmap.loadFromData(png)
                entry.setIcon(QIcon(pixmap))
            self.bookmark_list.addItem(entry)

    def _bookmark_activated(self, item):
        state = self.bookmarks.state(self.bookmark_list.row(item))
        self.history.push(state)
        self._show_state(state)
        self.request_render()

    # ----- recent files, settings -----------------------------------------------------------
    def _remember_recent(self, path):
        recent = [p for p in (self.settings.value("recent", []) or []) if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.setValue("last_model", path)
        self.settings.setValue("last_dir", str(Path(path).parent))
        self._refresh_recent()

    def _refresh_recent(self):
        self.recent_menu.clear()
        recent = self.settings.value("recent", []) or []
        if isinstance(recent, str):
            recent = [recent]
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_model(p))
        self.recent_menu.setEnabled(bool(recent))

    def show_about(self):
        import PySide6

        QMessageBox.about(self, "About gan_explorer",
                          f"gan_explorer {gan_explorer.__version__}\nPyTorch {torch.__version__}\n"
                          f"Qt (PySide6) {PySide6.__version__}\nDevice: {self.worker.device}")

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # drops outside the image view: same meaning as on it
        urls = event.mimeData().urls()
        if urls:
            self._dropped(urls[0].toLocalFile())

    def closeEvent(self, event):
        self.central.setCurrentWidget(self.view)  # save the layout with the explorer's docks shown
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.workspace.shutdown()
        self.worker.stop()
        super().closeEvent(event)


def grab_png(widget, path):
    widget.grab().save(str(path), "PNG")


