"""The explorer window: composes docks and menus. State and logic live in core/explorer (small
models composed by Explorer, their session bridged by SessionBridge); each panel is handed the
models it shows and nothing else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QFileDialog, QFrame, QLabel, QMainWindow, QMessageBox, QPlainTextEdit, QScrollArea,
    QTabWidget, QVBoxLayout, QWidget,
)

import gan_explorer
from gan_explorer.core.explorer import log as app_log
from gan_explorer.core.explorer.log import configure_logging
from gan_explorer.core.paths import log_path
from gan_explorer.gui.session_bridge import SessionBridge, subscribe
from gan_explorer.gui.training_monitor import TrainingWorkspace, settings_list
from gan_explorer.gui.widgets.animate_panel import AnimatePanel
from gan_explorer.gui.widgets.bookmarks_panel import BookmarksPanel
from gan_explorer.gui.widgets.breed_panel import BreedPanel
from gan_explorer.gui.widgets.drag_panel import DragPanel
from gan_explorer.gui.widgets.image_view import ImageView, array_to_qimage
from gan_explorer.gui.widgets.interpolation_panel import InterpolationPanel
from gan_explorer.gui.widgets.latent_panel import LatentPanel
from gan_explorer.gui.widgets.latent_sliders import DirectionsPanel, WPanel, ZPanel
from gan_explorer.gui.widgets.library_panel import LibraryPanel
from gan_explorer.gui.widgets.mixing_panel import MixingPanel
from gan_explorer.gui.widgets.perform_panel import PerformPanel
from gan_explorer.gui.widgets.parts_panel import PartsPanel
from gan_explorer.core.explorer.pictures import LATENT_SUFFIXES, PICTURE_SUFFIXES
from gan_explorer.gui.widgets.translate_panel import TranslatePanel
from gan_explorer.gui.widgets.channels_panel import ChannelsPanel
from gan_explorer.gui.widgets.understand import UnderstandPanel
from gan_explorer.gui.widgets.verify_dialog import add_trust_actions
from gan_explorer.core.explorer.parts import PartsModel
from gan_explorer.resources import demo_models
from gan_explorer.core.trust.settings import export_caption

MODEL_FILTER = ("Models, exported pictures and latents (*.safetensors *.pkl *.pt *.pth *.png *.npy *.json);;"
                "Models (*.safetensors *.pkl *.pt *.pth);;Pictures exported by gan_explorer (*.png);;"
                "Latents (*.npy *.json);;All files (*)")
MODEL_SUFFIXES = (".safetensors", ".pkl", ".pt", ".pth")
MAX_RECENT = 10
DEFAULT_SIZE = (1200, 800)
MAX_START_SIZE = (1600, 1000)
STATUS_REFRESH_MS = 500
DEMO_TIPS = {  # what each shipped model (resources/demo) is good for
    "stylegan-faces64": "StyleGAN2 on the procedural faces, 64 px: sliders, directions, style mixing",
    "vae-faces32": "A VAE on the procedural faces, 32 px: it can encode a picture you drop",
    "dcgan-faces32-glasses": "A DCGAN conditioned on glasses, 32 px: set glasses with its slider",
}


class VerticalScrollArea(QScrollArea):
    """Scrolls up and down only: at least as wide as its widget's minimum width (plus room for the
    vertical scrollbar), so that a dock holding it takes the width its controls need instead of
    hiding them behind a horizontal scrollbar."""

    def __init__(self, widget: QWidget, parent=None):
        super().__init__(parent)
        self.setWidget(widget)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        widget.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        inner = self.widget()
        need = max(inner.minimumSizeHint().width(), inner.minimumWidth())
        need += self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QSize(max(hint.width(), need), hint.height())

    def eventFilter(self, watched, event):
        if watched is self.widget() and event.type() == QEvent.LayoutRequest:
            self.updateGeometry()  # its minimum width may have changed: so has ours
        return super().eventFilter(watched, event)


class MainWindow(QMainWindow):
    sigImageShown = Signal(int)   # request id of the image now on screen
    sigModelReady = Signal(str)   # path of the model now open
    sigError = Signal(str)        # an error shown to the user
    sigJobFinished = Signal(str)  # a job ended: the name of its type (RenderBatch, Interpolate, ProjectPicture, ...)

    def __init__(self, sync: bool = False, settings: QSettings | None = None, data_dir=None):
        super().__init__()
        self.settings = settings or QSettings("gan_explorer", "gan_explorer")
        self.data_dir = data_dir
        self.log_file = configure_logging(data_dir)
        self.bridge = SessionBridge(sync=sync, data_dir=data_dir, parent=self)
        self.explorer = self.bridge.explorer
        # OSC and MIDI values arrive on their own threads: queued to this one (also when the session is sync).
        self.explorer.perform.deliver = self.bridge.sigDeliver.emit
        self.viewer, self.latent = self.explorer.viewer, self.explorer.latent
        self.quiet_errors = False
        self._update_title()

        self.view = ImageView()
        self.view.sigDropped.connect(self.open_path)
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
        from gan_explorer.gui.widgets.gan_lab import GanLabWidget

        self.gan_lab = GanLabWidget()  # the live 2-D GAN lab: tiny models on its own thread
        self.lab_page = QScrollArea()  # scrolls rather than widening the window past a laptop screen
        self.lab_page.setWidget(self.gan_lab)
        self.lab_page.setWidgetResizable(True)
        self.lab_page.setFrameShape(QFrame.NoFrame)
        self.central.addTab(self.lab_page, "GAN lab")
        self.setCentralWidget(self.central)
        self.central.currentChanged.connect(self._central_changed)
        self._build_docks()
        self._build_menus()
        self.status = QLabel("no model")
        self.statusBar().addPermanentWidget(self.status)
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start(STATUS_REFRESH_MS)
        self.setAcceptDrops(True)
        self._place_on_screen()
        layout = self.settings.value("window_state")
        if layout is not None:
            self.restoreState(layout)

        events = self.viewer.events
        subscribe(self, events.model_opened, self._model_opened)
        subscribe(self, events.model_failed, self._model_failed)
        subscribe(self, events.image_shown, self._image_shown)
        subscribe(self, events.frame_shown, self.view.set_image)
        subscribe(self, events.render_failed, self._render_failed)
        subscribe(self, events.message, self._message)
        subscribe(self, events.job_started, lambda handle: handle.on_done(self._job_finished))
        subscribe(self, events.device_changed, self._device_changed)
        subscribe(self, self.latent.events.changed, lambda _s: self._update_enabled())
        self.bridge.start()
        if self.engine_action.isChecked():
            self.viewer.set_engine("auto")
        device = self.settings.value("device")
        if device:
            from gan_explorer.core.devices import available_devices

            if str(device) in available_devices():
                self.viewer.set_device(str(device))
        self._update_enabled()
        # What could not be restored (the log's folder, runs set aside) is said, never a traceback.
        problems = [p for p in (app_log.problem, self.workspace.restore_message) if p]
        if problems:
            self._message("; ".join(problems))

    # ----- layout -------------------------------------------------------------------------
    def _build_docks(self):
        left = QWidget()
        layout = QVBoxLayout(left)
        self.latent_panel = LatentPanel(self.latent, self.viewer)
        layout.addWidget(self.latent_panel)
        layout.addWidget(QLabel("Model"))
        self.info_box = QPlainTextEdit()
        self.info_box.setReadOnly(True)
        self.info_box.setMaximumHeight(140)
        layout.addWidget(self.info_box)
        self.bookmarks_panel = BookmarksPanel(self.explorer.bookmarks, self.viewer)
        layout.addWidget(self.bookmarks_panel, 1)
        dock = QDockWidget("Latent", self)
        dock.setObjectName("latent_dock")
        dock.setWidget(left)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        self.latent_dock = dock
        # Understanding the model shares the left side with the latent controls (a tab each).
        self.understand = UnderstandPanel(self.explorer)
        self.understand_dock = QDockWidget("Understand", self)
        self.understand_dock.setObjectName("understand_dock")
        # Tall views scroll; the dock is never narrower than its controls (no sideways scrolling,
        # no Cancel button behind a scrollbar, no jump sideways when a job's Cancel takes focus).
        self.understand_dock.setWidget(VerticalScrollArea(self.understand))
        self.addDockWidget(Qt.LeftDockWidgetArea, self.understand_dock)
        self.tabifyDockWidget(self.latent_dock, self.understand_dock)
        # Control from outside (OSC, MIDI), presets and the output window: a third tab on the left.
        self.perform_panel = PerformPanel(self.explorer.perform, self.viewer)
        self.perform_dock = QDockWidget("Perform", self)
        self.perform_dock.setObjectName("perform_dock")
        self.perform_dock.setWidget(VerticalScrollArea(self.perform_panel))
        self.addDockWidget(Qt.LeftDockWidgetArea, self.perform_dock)
        self.tabifyDockWidget(self.understand_dock, self.perform_dock)
        # Parts (#29): paint part masks, train the part classifier, dissect units (the Layers tab names them).
        self.parts_panel = PartsPanel(PartsModel(self.viewer, self.latent, self.explorer.analyses), self.viewer,
                                      self.understand.layers_panel.layer_viewer)
        self.parts_dock = QDockWidget("Parts", self)
        self.parts_dock.setObjectName("parts_dock")
        self.parts_dock.setWidget(VerticalScrollArea(self.parts_panel))
        self.addDockWidget(Qt.LeftDockWidgetArea, self.parts_dock)
        self.tabifyDockWidget(self.perform_dock, self.parts_dock)
        # Sound-driven animation, loops, blends and bends: beside Perform (the right-hand tab bar is full).
        self.animate_panel = AnimatePanel(self.explorer.animation, self.explorer.network, self.viewer)
        self.animate_dock = QDockWidget("Animate", self)
        self.animate_dock.setObjectName("animate_dock")
        self.animate_dock.setWidget(VerticalScrollArea(self.animate_panel))
        self.addDockWidget(Qt.LeftDockWidgetArea, self.animate_dock)
        self.tabifyDockWidget(self.perform_dock, self.animate_dock)
        self.latent_dock.raise_()

        # A vertical tab bar (it scrolls where the screen is too short for every tab).
        self.tabs = QTabWidget()
        self.tabs.setTabPosition(QTabWidget.West)
        self.tabs.setDocumentMode(True)
        e, viewer, latent = self.explorer, self.viewer, self.latent
        self.z_panel = ZPanel(latent, viewer)
        self.w_panel = WPanel(latent, viewer)
        self.directions_panel = DirectionsPanel(e.directions, latent, viewer)
        self.library_panel = LibraryPanel(e.directions, latent, e.bookmarks)
        self.mixing = MixingPanel(e.mixing, viewer)
        self.breed = BreedPanel(e.breeding, e.bookmarks, viewer)
        self.interpolation = InterpolationPanel(e.keyframes, viewer)
        self.translate_panel = TranslatePanel(e.pictures, viewer)
        self.channels_panel = ChannelsPanel(e.channels, latent, viewer)
        self.drag_panel = DragPanel(e.drag, viewer, self.view)  # point-based editing on the image view
        self._tab_needs = {}
        for panel, title, needs, tip in (
                (self.z_panel, "Z", "latent", "Sliders over the input noise z"),
                (self.w_panel, "W", "latent", "Sliders over w, the mapping network's output"),
                (self.directions_panel, "Directions", "latent", "Directions found by PCA or SeFa"),
                (self.library_panel, "Library", "latent", "Your named directions for this model"),
                (self.mixing, "Mixing", "style_mixing",
                 "Style mixing: coarse / middle / fine layers from other seeds (or classes)"),
                (self.breed, "Breed", "latent", "Grow variations, crossbreed parents"),
                (self.interpolation, "Interpolation", "latent", "Keyframes, playback and animation export"),
                (self.drag_panel, "Drag", "latent", "Drag points of the image to targets (DragGAN), with a mask"),
                (self.channels_panel, "Channels", "style_space",
                 "StyleSpace channels that move one part of the face, each a slider"),
                (self.translate_panel, "Pictures", "latent_or_translation",
                 "Project or encode a picture into the latent space, or translate it")):
            index = self.tabs.addTab(panel, title)
            self.tabs.setTabToolTip(index, tip)
            self._tab_needs[index] = needs
        self._picked_tab = 0
        self._updating_tabs = False
        self.tabs.currentChanged.connect(self._tab_picked)
        dock = QDockWidget("Sliders", self)
        dock.setObjectName("slider_dock")
        dock.setWidget(self.tabs)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.slider_dock = dock

    def _build_menus(self):
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = file_menu.addAction("&Open…", self._open_dialog, QKeySequence.Open)
        self.open_action.setToolTip("A model, a PNG exported by gan_explorer (restores its latent) or a saved latent")
        file_menu.addAction("Open r&un…", self._open_run_dialog)
        self.demo_menu = file_menu.addMenu("Open &demo")
        for path in demo_models():
            action = self.demo_menu.addAction(path.stem, lambda p=str(path): self.open_model(p))
            action.setToolTip(DEMO_TIPS.get(path.stem, ""))
        self.demo_menu.setToolTipsVisible(True)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._refresh_recent()
        self.reopen_action = file_menu.addAction("Reopen the last model at start")
        self.reopen_action.setCheckable(True)
        self.reopen_action.setChecked(self.settings.value("open_on_start", "demo") == "last")
        self.reopen_action.setToolTip("Off: the window opens on the built-in demo model")
        self.reopen_action.toggled.connect(
            lambda on: self.settings.setValue("open_on_start", "last" if on else "demo"))
        file_menu.addSeparator()
        self.save_image_action = file_menu.addAction("&Save image…", self._save_image_dialog, QKeySequence.Save)
        self.save_image_action.setToolTip("A PNG at the model's resolution; it remembers the model and the latent "
                                          "(drop it back on the window to restore them)")
        self.upscale_menu = file_menu.addMenu("Save image &upscaled")
        for factor in (2, 4, 8):
            self.upscale_menu.addAction(f"×{factor} (Lanczos)", lambda f=factor: self._save_image_dialog(f))
        self.save_latent_action = file_menu.addAction("Save &latent…", self._save_latent_dialog)
        self.open_latent_action = file_menu.addAction("Open la&tent…", self._open_latent_dialog)
        self.open_latent_action.setToolTip("A latent saved with Save latent (.npy / .json) or a PNG exported here")
        self.copy_action = file_menu.addAction("&Copy image", self.copy_image, QKeySequence.Copy)
        add_trust_actions(self, file_menu)  # Verify pictures…, the watermark switch (issue #30)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", self.close, QKeySequence.Quit)
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = edit.addAction("&Undo", self.latent.undo, QKeySequence.Undo)
        self.redo_action = edit.addAction("&Redo", self.latent.redo, QKeySequence("Ctrl+Shift+Z"))
        edit.addSeparator()
        self.reset_edits_action = edit.addAction("Reset &edits", lambda: self.latent.reset_edits())
        self.reset_edits_action.setToolTip("Remove every edit of the image (z, w, directions, library, mixing)")
        view = self.menuBar().addMenu("&View")
        for dock in (self.latent_dock, self.understand_dock, self.perform_dock, self.animate_dock, self.parts_dock,
                     self.slider_dock):
            view.addAction(dock.toggleViewAction())  # a dock closed with its x comes back from here
        view.addSeparator()
        self.smooth_action = view.addAction("Smooth scaling")
        self.smooth_action.setCheckable(True)
        self.smooth_action.setChecked(self.settings.value("smooth_scaling", "true") in (True, "true"))
        self.smooth_action.toggled.connect(self._set_smooth)
        self.view.smooth = self.smooth_action.isChecked()
        device_menu = self.menuBar().addMenu("&Device")
        from gan_explorer.core.devices import available_devices

        group = QActionGroup(self)
        self.device_actions = {}
        for name in ["cpu", "cuda", "mps"]:
            action = QAction(name.upper(), self, checkable=True)
            action.setEnabled(name in available_devices())
            action.triggered.connect(lambda _checked, n=name: self.set_device(n))
            group.addAction(action)
            device_menu.addAction(action)
            self.device_actions[name] = action
        self.device_actions["cpu"].setChecked(True)
        device_menu.addSeparator()
        self.engine_action = device_menu.addAction("Fast renderer (OpenVINO / ONNX Runtime)")
        self.engine_action.setCheckable(True)
        self.engine_action.setToolTip("Render full frames with an inference engine when one is installed "
                                      "(pip install 'gan-explorer[fast]') and faster than PyTorch on this machine")
        self.engine_action.setChecked(self.settings.value("engine", "eager") == "auto")
        self.engine_action.toggled.connect(self._set_engine)
        self.bf16_action = device_menu.addAction("Full frames in bf16")  # previews use bf16 where faster anyway
        self.bf16_action.setCheckable(True)
        self.bf16_action.setToolTip("Render full frames in bf16 where the CPU computes it natively (AVX512-BF16 / "
                                    "AMX): faster, within a few 8-bit levels of fp32; elsewhere fp32, said below")
        self.bf16_action.toggled.connect(lambda on: self.viewer.set_engine(
            "bf16" if on else "auto" if self.engine_action.isChecked() else "eager"))
        self.engine_label = device_menu.addAction("Rendering with: eager PyTorch")
        self.engine_label.setEnabled(False)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&Guide", self.show_guide, QKeySequence.HelpContents)
        help_menu.addAction("Show &log", self.show_log)
        help_menu.addAction("&About", self.show_about)

    def _place_on_screen(self):
        """Restore the saved size and place, but always inside the available screen area."""
        geometry = self.settings.value("geometry")
        screen = self.screen() or QApplication.primaryScreen()
        if geometry is not None:
            self.restoreGeometry(geometry)
        elif screen is not None:  # first start: as much of the screen as is useful
            area = screen.availableGeometry()
            self.resize(min(area.width(), MAX_START_SIZE[0]), min(area.height(), MAX_START_SIZE[1]))
        else:
            self.resize(*DEFAULT_SIZE)
        if screen is None:
            return
        area = screen.availableGeometry()
        frame_extra = self.frameGeometry().size() - self.geometry().size()
        width = min(self.width(), area.width() - frame_extra.width())
        height = min(self.height(), area.height() - frame_extra.height())
        self.resize(max(width, 200), max(height, 200))
        x = min(max(self.x(), area.left()), area.right() - self.frameGeometry().width() + 1)
        y = min(max(self.y(), area.top()), area.bottom() - self.frameGeometry().height() + 1)
        self.move(x, y)

    # ----- model --------------------------------------------------------------------------
    @property
    def info(self):
        return self.viewer.info

    @property
    def state(self):
        return self.latent.state

    def open_model(self, path: str):
        """Ask the session to load `path`; the current model keeps working until it succeeds."""
        self.viewer.open_model(str(path))

    def open_path(self, path: str):
        """An opened or dropped file, from the menu, the recent list or a drop alike: a PNG this app
        exported restores its latent; another picture goes into the open model (encode, project or
        translate); a saved latent becomes the image; anything else is a model."""
        suffix = Path(path).suffix.lower()
        if suffix in PICTURE_SUFFIXES:
            if self.info is None:
                self._message(f"{Path(path).name}: open a model first, then the picture")
                return
            # Read on the worker (a hostile file must not freeze the window); a plain picture goes on.
            self.explorer.pictures.open_picture(path, on_plain=self.translate_panel.use_picture)
        elif suffix in LATENT_SUFFIXES:
            self.explorer.pictures.open_latent(path)
        else:
            self.open_model(path)

    def _open_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open", self.settings.value("last_dir", ""), MODEL_FILTER)
        if path:
            self.open_path(path)

    def _open_latent_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open latent", self.settings.value("last_dir", ""),
                                              "Latents and exported pictures (*.npy *.json *.png)")
        if path:
            if Path(path).suffix.lower() == ".png":
                self.open_path(path)
            else:
                self.explorer.pictures.open_latent(path)

    def _open_run_dialog(self):
        path = QFileDialog.getExistingDirectory(self, "Open run directory")
        if path:
            self.central.setCurrentWidget(self.train_page)
            self.workspace.attach(path)

    def explore_snapshot(self, path: str):
        self.central.setCurrentWidget(self.view)
        self.open_model(path)

    def _model_opened(self, info):
        self._remember_recent(info.path)
        lines = [Path(info.path).name, f"family       {info.family}",
                 f"resolution   {info.img_resolution} px x {info.img_channels}"]
        if not info.is_translation:
            lines.append(f"z / w dims   {info.z_dim} / {info.w_dim}, num_ws {info.num_ws}")
        lines.append(f"parameters   {info.parameters:,}")
        if info.provenance:
            import json

            lines.append("provenance   " + json.dumps(info.provenance, default=str)[:300])
        self.info_box.setPlainText("\n".join(lines))
        self._update_title()
        self._update_enabled()
        if info.is_translation:
            self.view.clear()
            self.view.set_message("Drop a picture here to translate it")
        self.statusBar().showMessage(f"Opened {info.path}", 5000)
        self._refresh_status()
        self.sigModelReady.emit(info.path)

    def _model_failed(self, message):
        self.statusBar().showMessage(message, 15000)
        self.sigError.emit(message)
        if not self.quiet_errors:
            QMessageBox.warning(self, "Cannot open model", message)

    def set_device(self, name: str):
        self.viewer.set_device(name)
        self.settings.setValue("device", name)

    def _set_engine(self, on: bool):
        self.settings.setValue("engine", "auto" if on else "eager")
        self.viewer.set_engine("auto" if on else "eager")

    def _device_changed(self, change):
        self.engine_label.setText(f"Rendering with: {change.engine if change.engine != 'eager' else 'eager PyTorch'}")
        self._refresh_status()

    def _update_title(self):
        name = self.viewer.model_name
        self.setWindowTitle(f"{name} — gan_explorer {gan_explorer.__version__}" if name
                            else f"gan_explorer {gan_explorer.__version__}")

    # ----- showing --------------------------------------------------------------------------
    def _image_shown(self, result):
        self.view.set_image(result.image)
        self._update_enabled()
        self._refresh_status()
        self.sigImageShown.emit(result.request_id)

    def _render_failed(self, message):
        self.statusBar().showMessage(f"Render failed: {message}", 10000)
        self.sigError.emit(message)

    def _message(self, text):
        self.statusBar().showMessage(text, 10000)

    def _job_finished(self, handle):
        if handle.error:
            self.sigError.emit(handle.error)
        self.sigJobFinished.emit(type(handle.job).__name__)

    def _refresh_status(self):
        self.status.setText(self.viewer.status_text())
        device = self.viewer.device.split(":")[0]
        if device in self.device_actions:
            self.device_actions[device].setChecked(True)

    def _set_smooth(self, on: bool):
        self.settings.setValue("smooth_scaling", "true" if on else "false")
        self.view.smooth = on
        self.view.update()

    def _central_changed(self, index):
        """The explorer's docks make room while the training workspace is shown; coming back shows
        the docks that were open when the user left (one closed with its x stays closed)."""
        exploring = self.central.widget(index) is self.view
        docks = self.findChildren(QDockWidget)
        if not exploring:
            if getattr(self, "_docks_shown", None) is None:  # leaving the Explore page: remember them
                self._docks_shown = [d for d in docks if not d.isHidden()]
            for dock in docks:
                dock.setVisible(False)
            return
        shown, self._docks_shown = getattr(self, "_docks_shown", None), None
        for dock in docks:
            dock.setVisible(dock in shown if shown is not None else not dock.isHidden())

    def _tab_picked(self, index: int):
        if not self._updating_tabs and index >= 0 and self.tabs.isTabEnabled(index):
            self._picked_tab = index

    def _update_enabled(self):
        info = self.info
        latent = info is not None and not info.is_translation
        needs = {"latent": latent, "has_mapping": latent and info.can("has_mapping"),
                 # A conditional model's grid of classes needs no per-layer styles (DCGAN, CVAE).
                 "style_mixing": latent and (info.can("style_mixing") or info.c_dim > 0),
                 "style_space": latent and info.family in ("stylegan", "stylegan3"),  # StyleSpace channels
                 "latent_or_translation": info is not None}
        self._updating_tabs = True  # the moves Qt makes while tabs switch on and off are not the user's
        for index, need in self._tab_needs.items():
            self.tabs.setTabEnabled(index, needs[need])
        if info is not None and info.is_translation:
            self.tabs.setCurrentWidget(self.translate_panel)
        elif latent:
            # Qt moves off a tab when it is disabled (all are while no model is open); go back
            # to the tab the user last picked, or the first one.
            picked = self._picked_tab
            self.tabs.setCurrentIndex(picked if self.tabs.isTabEnabled(picked) else 0)
        self._updating_tabs = False
        has_image = self.view.image is not None and latent
        for a in (self.save_image_action, self.save_latent_action, self.upscale_menu):
            a.setEnabled(has_image and self.viewer.last_result is not None)
        self.open_latent_action.setEnabled(latent)
        self.copy_action.setEnabled(self.view.image is not None)
        self.undo_action.setEnabled(self.latent.history.can_undo())
        self.redo_action.setEnabled(self.latent.history.can_redo())
        self.reset_edits_action.setEnabled(latent and self.latent.edited)

    # ----- saving ---------------------------------------------------------------------------
    def _save_image_dialog(self, scale: int = 1):
        suffix = f"_x{scale}" if scale > 1 else ""
        path, _ = QFileDialog.getSaveFileName(self, export_caption("Save image"), f"seed{self.state.seed:04d}{suffix}.png",
                                              "PNG (*.png)")
        if path:
            self.save_image(path, scale)

    def save_image(self, path, scale: int = 1):
        """The current image as a PNG that remembers how it was made (written on the worker)."""
        return self.explorer.pictures.save_image(path, scale)

    def _save_latent_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Save latent", f"seed{self.state.seed:04d}.npy",
                                              "NumPy (*.npy);;JSON (*.json)")
        if path:
            self.save_latent(path)

    def save_latent(self, path):
        from gan_explorer.core.errors import GanExplorerError

        try:
            self.explorer.pictures.save_latent(path)
        except GanExplorerError as exc:
            self._message(str(exc))
            return
        self._message(f"Saved the latent to {path}")

    def copy_image(self):
        if self.view.image is not None:
            QApplication.clipboard().setImage(array_to_qimage(np.ascontiguousarray(self.view.image)))

    # ----- recent files, settings, help --------------------------------------------------------
    def _remember_recent(self, path):
        if path.startswith("<"):
            return  # a model made in memory has no file to reopen
        recent = [p for p in settings_list(self.settings.value("recent")) if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.setValue("last_model", path)
        self.settings.setValue("last_dir", str(Path(path).parent))
        self._refresh_recent()

    def _refresh_recent(self):
        self.recent_menu.clear()
        recent = settings_list(self.settings.value("recent"))
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    def start_model(self) -> str | None:
        """The model to open at start: the last one if the user chose so (and it still exists)."""
        if self.settings.value("open_on_start", "demo") == "last":
            last = self.settings.value("last_model")
            if last and Path(str(last)).exists():
                return str(last)
        return None

    def show_guide(self):
        """The illustrated guide (resources/guide/guide.html) in a window of its own."""
        from PySide6.QtGui import QShortcut
        from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser

        from gan_explorer.resources import resource

        folder = resource("guide")
        if getattr(self, "guide", None) is None:
            self.guide = QDialog(self)
            self.guide.setWindowTitle("gan_explorer guide")
            browser = QTextBrowser(self.guide)
            browser.setSearchPaths([str(folder)])
            browser.setSource(QUrl.fromLocalFile(str(folder / "guide.html")))
            layout = QVBoxLayout(self.guide)
            layout.addWidget(browser)
            buttons = QDialogButtonBox(QDialogButtonBox.Close)
            buttons.rejected.connect(self.guide.close)
            layout.addWidget(buttons)
            QShortcut(QKeySequence(Qt.Key_Escape), self.guide, self.guide.close)  # even while the text has focus
            self.guide.browser = browser
            self.guide.close_button = buttons.button(QDialogButtonBox.Close)
            self.guide.resize(min(760, self.width()), min(700, self.height()))
        self.guide.show()
        self.guide.raise_()
        return self.guide

    def show_log(self):
        path = log_path(self.data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        self.statusBar().showMessage(f"Log: {path}", 10000)

    def show_about(self):
        from importlib.metadata import PackageNotFoundError, version

        import PySide6

        try:
            torch_version = version("torch")
        except PackageNotFoundError:  # a frozen app without package metadata
            torch_version = "bundled"
        QMessageBox.about(self, "About gan_explorer",
                          f"gan_explorer {gan_explorer.__version__}\nPyTorch {torch_version}\n"
                          f"Qt (PySide6) {PySide6.__version__}\nDevice: {self.viewer.device}\nLog: {self.log_file}")

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # drops outside the image view: same meaning as on it
        urls = event.mimeData().urls()
        if urls:
            self.open_path(urls[0].toLocalFile())

    def closeEvent(self, event):
        self.central.setCurrentWidget(self.view)  # save the layout with the explorer's docks shown
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self._status_timer.stop()
        self.workspace.shutdown()
        self.gan_lab.shutdown()
        self.interpolation.timer.stop()
        self.perform_panel.shutdown()  # stops listening for OSC, closes MIDI and the output window
        self.bridge.shutdown()  # cancels a running export or render and joins the worker thread
        super().closeEvent(event)


def grab_png(widget, path):
    widget.grab().save(str(path), "PNG")
