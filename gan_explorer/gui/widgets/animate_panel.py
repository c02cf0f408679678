"""The Animate tab: a sound drives the picture, or a seamless loop; blend the model with another
and bend its feature maps. The panel only shows and asks: the AnimationModel and NetworkModel
(core/explorer) plan, render and export on the worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QProgressBar, QPushButton, QSlider, QTabWidget, QVBoxLayout, QWidget,
)

from gan_explorer.gui.session_bridge import follow, subscribe
from gan_explorer.core.trust.settings import export_caption

SOUND_FILTER = "Sound (*.wav *.flac *.mp3 *.ogg *.oga)"
VIDEO_FILTER = "MP4 video (*.mp4);;GIF (*.gif)"
BEND_OPS = {  # what the parameters box asks for each op
    "scale": "factor, e.g. 1.5", "translate": "dx, dy in fractions of the map, e.g. 0.25, 0",
    "rotate": "degrees, e.g. 30", "erode": "radius, e.g. 1", "dilate": "radius, e.g. 1", "invert": "(none)",
    "zero": "channels, e.g. 0, 3, 7",
}


def _spin(low, high, value, step, suffix="", decimals=1):
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class AnimatePanel(QWidget):
    def __init__(self, animation, network, viewer, parent=None):
        super().__init__(parent)
        self.animation, self.network, self.viewer = animation, network, viewer
        self.player = None          # QMediaPlayer, made on first Play (QtMultimedia may be missing)
        self.clock = QTimer(self)
        self.clock.timeout.connect(self._tick)
        self.position = 0.0
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._sound_tab(), "Sound")
        self.tabs.addTab(self._loop_tab(), "Loop")
        self.tabs.addTab(self._blend_tab(), "Blend")
        self.tabs.addTab(self._bend_tab(), "Bend")
        layout.addWidget(self.tabs)
        layout.addWidget(self._playback())
        layout.addStretch(1)
        subscribe(self, animation.events.sound_opened, self._sound_opened)
        subscribe(self, animation.events.planned, self._planned)
        subscribe(self, network.events.layout, self._layout)
        subscribe(self, network.events.partner_opened, self._partner_opened)
        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, network.latent.events.changed, lambda _state: self._show_edits())

    # --- sound ---------------------------------------------------------------------------------
    def _sound_tab(self):
        tab = QWidget()
        form = QFormLayout(tab)
        row = QHBoxLayout()
        self.open_sound_btn = QPushButton("Open sound…")
        self.open_sound_btn.setToolTip("A WAV, FLAC, MP3 or OGG file: the video lasts as long and carries it")
        self.open_sound_btn.clicked.connect(self._ask_sound)
        self.sound_label = QLabel("no sound")
        row.addWidget(self.open_sound_btn)
        row.addWidget(self.sound_label, 1)
        form.addRow(row)
        self.mapping = QLineEdit("bass=psi,onsets=keyframes")
        self.mapping.setToolTip("FEATURE=TARGET, comma separated. Features: loudness, onsets, bass, mid, treble. "
                                "Targets: a Library direction's name, psi (loud = closer to the average face), "
                                "or keyframes (onsets only: step to the next keyframe of the Interpolation tab)")
        form.addRow("Map", self.mapping)
        self.fps = _spin(1, 60, 24, 1, " fps", 0)
        form.addRow("Frames", self.fps)
        self.plan_sound_btn = QPushButton("Plan")
        self.plan_sound_btn.setToolTip("Work out every frame from the sound; then play or export it")
        self.plan_sound_btn.clicked.connect(self.plan_sound)
        form.addRow(self.plan_sound_btn)
        return tab

    def _ask_sound(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open sound", "", SOUND_FILTER)
        if path:
            self.open_sound(path)

    def open_sound(self, path):
        self.sound_label.setText(f"reading {Path(path).name}…")
        follow(self, self.animation.open_sound(path, self.fps.value()),
               on_done=lambda h: None if h.ok else self.sound_label.setText(h.error or "cancelled"))

    def _sound_opened(self, sound):
        self.sound_label.setText(f"{Path(sound.path).name} · {sound.seconds:.1f} s · "
                                 f"{int(sound.onsets.sum())} onsets")

    def plan_sound(self):
        handle = self.animation.plan_sound(self.mapping.text(), self.fps.value())
        if handle is not None:
            follow(self, handle, on_done=self._plan_done)

    # --- loop ----------------------------------------------------------------------------------
    def _loop_tab(self):
        tab = QWidget()
        form = QFormLayout(tab)
        self.loop_space = QComboBox()
        self.loop_space.addItem("circle in W (through the next seed)", "w")
        self.loop_space.addItem("great circle in Z", "z")
        self.loop_space.addItem("through the keyframes (closed spline)", "keyframes")
        form.addRow("Walk", self.loop_space)
        self.loop_seconds = _spin(0.5, 600, 8, 1, " s")
        form.addRow("Length", self.loop_seconds)
        self.plan_loop_btn = QPushButton("Plan loop")
        self.plan_loop_btn.setToolTip("A loop whose last frame flows into the first, starting at the current image")
        self.plan_loop_btn.clicked.connect(self.plan_loop)
        form.addRow(self.plan_loop_btn)
        return tab

    def plan_loop(self):
        follow(self, self.animation.plan_loop(self.loop_space.currentData(), self.loop_seconds.value(),
                                              self.fps.value()), on_done=self._plan_done)

    def _plan_done(self, handle):
        if not handle.ok:
            self.status.setText(handle.error or "cancelled")

    def _planned(self, plan):
        self.time.setRange(0, max(0, len(plan.ws) - 1))
        self.time.setValue(0)
        self.status.setText(f"{len(plan.ws)} frames · {plan.seconds:.1f} s · {plan.mapping}")
        for widget in (self.time, self.play_btn, self.export_btn):
            widget.setEnabled(True)
        self.animation.preview_at(0.0)

    # --- playback and export -------------------------------------------------------------------
    def _playback(self):
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel("plan a sound or a loop")
        self.status.setWordWrap(True)
        v.addWidget(self.status)
        row = QHBoxLayout()
        self.play_btn = QPushButton("Play")
        self.play_btn.setCheckable(True)
        self.play_btn.setToolTip("Preview in the image view, with the sound where it can play")
        self.play_btn.toggled.connect(self._play)
        self.time = QSlider(Qt.Horizontal)
        self.time.setToolTip("Scrub: the frame at this moment")
        self.time.valueChanged.connect(self._scrubbed)
        row.addWidget(self.play_btn)
        row.addWidget(self.time, 1)
        v.addLayout(row)
        row = QHBoxLayout()
        self.export_btn = QPushButton("Export video…")
        self.export_btn.setToolTip("Render every frame to an MP4 (with the sound) or a GIF; provenance included")
        self.export_btn.clicked.connect(self._ask_export)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the export: nothing is written")
        self.cancel_btn.setVisible(False)
        self.cancel_btn.setEnabled(False)  # offered only while an export runs
        self.cancel_btn.clicked.connect(self.cancel_export)
        row.addWidget(self.export_btn)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_btn)
        v.addLayout(row)
        for widget in (self.time, self.play_btn, self.export_btn):
            widget.setEnabled(False)
        return box

    def _scrubbed(self, frame):
        plan = self.animation.plan
        if plan is not None and not self.clock.isActive():
            self.animation.preview_at(frame / plan.fps)

    def _play(self, playing):
        plan = self.animation.plan
        if not playing or plan is None:
            self.clock.stop()
            if self.player is not None:
                self.player.pause()
            self.play_btn.setText("Play")
            return
        self.play_btn.setText("Stop")
        self.position = self.time.value() / plan.fps
        self._start_sound(self.position)
        self.clock.start(int(1000 / min(plan.fps, 30)))

    def _start_sound(self, seconds):
        sound = self.animation.sound
        if sound is None or self.animation.plan.mapping.startswith("loop"):
            return
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

            if self.player is None:
                self.player, self.audio_out = QMediaPlayer(self), QAudioOutput(self)
                self.player.setAudioOutput(self.audio_out)
            self.player.setSource(QUrl.fromLocalFile(sound.path))
            self.player.setPosition(int(seconds * 1000))
            self.player.play()
        except Exception as exc:  # no multimedia backend: the preview plays silently
            self.status.setText(f"previewing without sound ({exc})")

    def _tick(self):
        plan = self.animation.plan
        self.position += self.clock.interval() / 1000
        if self.player is not None and self.player.playbackState() == self.player.PlaybackState.PlayingState:
            self.position = self.player.position() / 1000   # the sound's clock leads
        frame = int(self.position * plan.fps)
        if frame >= len(plan.ws):
            self.play_btn.setChecked(False)
            return
        self.time.blockSignals(True)
        self.time.setValue(frame)
        self.time.blockSignals(False)
        self.animation.preview_at(self.position)

    def _ask_export(self):
        path, _ = QFileDialog.getSaveFileName(self, export_caption("Export video"), "animation.mp4", VIDEO_FILTER)
        if path:
            self.export(path)

    def export(self, path):
        self._exporting(True)   # before the job starts: a synchronous session runs it within export()
        handle = self.animation.export(path)
        if handle is None:
            self._exporting(False)
            return None
        return follow(self, handle, on_progress=self._export_progress, on_done=self._export_done)

    def _exporting(self, running):
        self.progress.setVisible(running)
        self.cancel_btn.setVisible(running)
        self.cancel_btn.setEnabled(running)
        self.export_btn.setEnabled(not running)

    def _export_progress(self, progress):
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)

    def _export_done(self, handle):
        self._exporting(False)
        self.status.setText(f"wrote {Path(handle.result.path).name} ({handle.result.frames} frames)" if handle.ok
                            else handle.error or "export cancelled: nothing was written")

    def cancel_export(self):
        self.animation.cancel_export()

    # --- blend ---------------------------------------------------------------------------------
    def _blend_tab(self):
        tab = QWidget()
        v = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.partner_btn = QPushButton("Blend with…")
        self.partner_btn.setToolTip("Another model of the same architecture (e.g. this one fine-tuned on other "
                                    "pictures): its stages can replace or mix with this model's")
        self.partner_btn.clicked.connect(self._ask_partner)
        self.partner_label = QLabel("no second model")
        row.addWidget(self.partner_btn)
        row.addWidget(self.partner_label, 1)
        v.addLayout(row)
        self.stage_box = QWidget()
        self.stage_form = QFormLayout(self.stage_box)
        v.addWidget(self.stage_box)
        row = QHBoxLayout()
        self.swap_from = QComboBox()
        self.swap_from.setToolTip("Layer swap (the toonify recipe): stages from this one on come from the other model")
        self.swap_btn = QPushButton("Swap from here")
        self.swap_btn.clicked.connect(lambda: self.network.layer_swap(self.swap_from.currentIndex()))
        self.clear_blend_btn = QPushButton("No blend")
        self.clear_blend_btn.clicked.connect(self.network.clear_blend)
        for w in (self.swap_from, self.swap_btn, self.clear_blend_btn):
            row.addWidget(w)
        v.addLayout(row)
        self.stage_sliders = []
        return tab

    def _ask_partner(self):
        path, _ = QFileDialog.getOpenFileName(self, "Blend with", "", "Models (*.safetensors *.pkl *.pt *.pth)")
        if path:
            self.open_partner(path)

    def open_partner(self, path):
        self.partner_label.setText(f"opening {Path(path).name}…")
        return follow(self, self.network.open_partner(path),
                      on_done=lambda h: None if h.ok else self.partner_label.setText(h.error or "cancelled"))

    def _partner_opened(self, partner):
        self.partner_label.setText(partner.name)
        self._enable_blend(True)

    def _enable_blend(self, on):
        for w in (*self.stage_sliders, self.swap_from, self.swap_btn, self.clear_blend_btn):
            w.setEnabled(on)

    # --- bend ----------------------------------------------------------------------------------
    def _bend_tab(self):
        tab = QWidget()
        v = QVBoxLayout(tab)
        form = QFormLayout()
        self.bend_layer = QComboBox()
        self.bend_layer.setToolTip("Early layers bend the layout, late ones the texture")
        self.bend_op = QComboBox()
        for op, hint in BEND_OPS.items():
            self.bend_op.addItem(op, hint)
        self.bend_params = QLineEdit("1.5")
        self.bend_op.currentIndexChanged.connect(self._op_picked)
        form.addRow("Layer", self.bend_layer)
        form.addRow("Transform", self.bend_op)
        form.addRow("Numbers", self.bend_params)
        v.addLayout(form)
        row = QHBoxLayout()
        self.add_bend_btn = QPushButton("Add bend")
        self.add_bend_btn.clicked.connect(self.add_bend)
        self.remove_bend_btn = QPushButton("Remove")
        self.remove_bend_btn.clicked.connect(self._remove_bend)
        self.clear_bends_btn = QPushButton("Clear")
        self.clear_bends_btn.clicked.connect(self.network.clear_bends)
        for w in (self.add_bend_btn, self.remove_bend_btn, self.clear_bends_btn):
            row.addWidget(w)
        v.addLayout(row)
        self.bend_list = QListWidget()
        self.bend_list.setToolTip("The bends of the current image, applied in this order (undo removes them too)")
        v.addWidget(self.bend_list)
        self._op_picked()
        return tab

    def _op_picked(self, *_):
        self.bend_params.setPlaceholderText(self.bend_op.currentData())
        self.bend_params.setToolTip(self.bend_op.currentData())

    def add_bend(self):
        text = self.bend_params.text().strip()
        try:
            params = [float(p) for p in text.replace(";", ",").split(",") if p.strip()]
        except ValueError:
            self.status.setText(f"bend numbers {text!r}: write numbers separated by commas")
            return False
        return self.network.add_bend(self.bend_layer.currentIndex(), self.bend_op.currentText(), params)

    def _remove_bend(self):
        row = self.bend_list.currentRow()
        if row >= 0:
            self.network.remove_bend(row)

    # --- following the models ------------------------------------------------------------------
    def _model_opened(self, info):
        self.partner_label.setText("no second model")
        self._clear_stages()
        stylegan = info.family in ("stylegan", "stylegan3")
        for w in (self.partner_btn, self.add_bend_btn, self.bend_layer, self.bend_op, self.bend_params):
            w.setEnabled(stylegan)
        for w in (self.plan_sound_btn, self.plan_loop_btn):  # a translation model has no latent to walk
            w.setEnabled(not info.is_translation)
        for w in (self.time, self.play_btn, self.export_btn):   # the previous model's plan is gone
            w.setEnabled(False)
        self.play_btn.setChecked(False)
        self.network.list_layout()  # the stages and layers arrive as `layout`

    def _clear_stages(self):
        for slider in self.stage_sliders:
            self.stage_form.removeRow(0)
        self.stage_sliders = []
        self.swap_from.clear()
        self.bend_layer.clear()
        self._enable_blend(False)

    def _layout(self, layout):
        self._clear_stages()
        for i, stage in enumerate(layout.stages):
            slider = QSlider(Qt.Horizontal)
            slider.setRange(0, 100)
            slider.setToolTip(f"{stage}: 0 = this model, 100 = the other one")
            slider.valueChanged.connect(lambda value, i=i: self.network.set_blend_weight(i, value / 100))
            slider.sliderReleased.connect(self.network.latent.end_gesture)
            self.stage_form.addRow(stage, slider)
            self.stage_sliders.append(slider)
            self.swap_from.addItem(stage)
        for name, channels, resolution in layout.layers:
            self.bend_layer.addItem(f"{name} · {channels} ch · {resolution} px")
        self._enable_blend(self.network.partner is not None)
        self._show_edits()

    def _show_edits(self):
        weights = self.network.blend_weights()
        for slider, weight in zip(self.stage_sliders, weights):
            slider.blockSignals(True)
            slider.setValue(round(weight * 100))
            slider.blockSignals(False)
        self.bend_list.clear()
        for layer, op, params in self.network.latent.state.bends:
            self.bend_list.addItem(f"layer {layer}: {op} {', '.join(f'{p:g}' for p in params)}")
