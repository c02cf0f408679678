"""Keyframes, interpolation settings, playback (shown as frames render, looped, scrubbed) and export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QListWidget, QListWidgetItem, QProgressBar,
    QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from gan_explorer.gui.session_bridge import follow, subscribe
from gan_explorer.gui.widgets.image_view import array_to_qimage
from gan_explorer.core.trust.settings import export_caption

EXPORT_SIZES = (("model resolution", None), ("256 px", 256), ("512 px", 512), ("1024 px", 1024))


class InterpolationPanel(QWidget):
    def __init__(self, keyframes, viewer, parent=None):
        super().__init__(parent)
        self.keyframes, self.viewer = keyframes, viewer
        self.running = None   # the play or export job's handle while it runs
        self.frames: list = []
        self._total = 0
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setIconSize(QSize(40, 40))
        self.list.setToolTip("Keyframes: the path goes through them in this order")
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        add, up, down, delete = (QPushButton(t) for t in ("Add current", "Up", "Down", "Delete"))
        add.setToolTip("Add the current image's latent as the next keyframe")
        for b in (add, up, down, delete):
            row.addWidget(b)
        layout.addLayout(row)
        add.clicked.connect(lambda: keyframes.add())
        up.clicked.connect(lambda: self._move(-1))
        down.clicked.connect(lambda: self._move(1))
        delete.clicked.connect(lambda: keyframes.remove(self.list.currentRow()))
        form = QFormLayout()
        self.method = QComboBox()
        self.method.addItems(["slerp", "lerp"])
        self.method.setToolTip("lerp: a straight line; slerp: along the sphere, which keeps the length of "
                               "Gaussian z (better in Z)")
        self.space = QComboBox()
        self.space.addItems(["w", "w+", "z"])
        self.space.setToolTip("Z: interpolate the inputs, then map; W: one w per keyframe for every layer; "
                              "W+: every layer's w separately (keeps per-layer edits and mixing)")
        self.frames_per_segment = QSpinBox()
        self.frames_per_segment.setRange(1, 600)
        self.frames_per_segment.setValue(24)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(24)
        self.loop = QCheckBox("loop back to the first keyframe")
        self.size = QComboBox()
        for text, value in EXPORT_SIZES:
            self.size.addItem(text, value)
        self.size.setToolTip("Size of exported frames (upscaled with Lanczos when larger than the model)")
        form.addRow("Method", self.method)
        form.addRow("Space", self.space)
        form.addRow("Frames per segment", self.frames_per_segment)
        form.addRow("Frames per second", self.fps)
        form.addRow("", self.loop)
        form.addRow("Export size", self.size)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.play_btn, self.export_btn, self.cancel_btn = QPushButton("Play"), QPushButton("Export…"), QPushButton("Cancel")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setCheckable(True)
        self.pause_btn.setEnabled(False)
        self.pause_btn.setToolTip("Pause or resume the playback (the scrub bar shows where it stands)")
        self.pause_btn.toggled.connect(self.set_paused)
        self.play_btn.setToolTip("Render the path and play it in the view (frames show as they render)")
        self.export_btn.setToolTip("Write the path as a GIF, an MP4 or a folder of PNG frames")
        self.cancel_btn.setEnabled(False)
        for b in (self.play_btn, self.pause_btn, self.export_btn, self.cancel_btn):
            row.addWidget(b)
        layout.addLayout(row)
        self.play_btn.clicked.connect(self.play)
        self.export_btn.clicked.connect(self._export_dialog)
        self.cancel_btn.clicked.connect(self.cancel)
        self.scrub = QSlider(Qt.Horizontal)
        self.scrub.setToolTip("Scrub through the played frames")
        self.scrub.setEnabled(False)
        self.scrub.sliderPressed.connect(self._stop_timer)
        self.scrub.valueChanged.connect(self._scrubbed)
        layout.addWidget(self.scrub)
        self.progress = QProgressBar()
        layout.addWidget(self.progress)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._next_frame)
        self._index = 0
        subscribe(self, keyframes.events.changed, self._keyframes_changed)
        subscribe(self, viewer.events.model_opened, lambda _i: self._reset_playback())
        # A new image of the latent (a slider, a projection, a map click) takes the view: playback pauses.
        subscribe(self, viewer.events.image_shown, lambda _r: self._pause_for_the_image())
        self._keyframes_changed(keyframes.items)

    def _keyframes_changed(self, keyframes):
        row = self.list.currentRow()
        self.list.clear()
        for k in keyframes:
            item = QListWidgetItem(k.label)
            if k.thumbnail is not None:
                item.setIcon(QIcon(QPixmap.fromImage(array_to_qimage(k.thumbnail))))
            self.list.addItem(item)
        self.list.setCurrentRow(min(row, self.list.count() - 1))

    def _move(self, step):
        self.list.setCurrentRow(self.keyframes.move(self.list.currentRow(), step))

    def _start(self, export_path=None):
        if len(self.keyframes) < 2:
            self.viewer.events.message.emit("Add at least two keyframes")
            return None
        self._reset_playback()
        self.set_busy(True)
        options = dict(frames_per_segment=self.frames_per_segment.value(), method=self.method.currentText(),
                       space=self.space.currentText(), loop=self.loop.isChecked())
        if export_path:
            handle = self.keyframes.export(export_path, fps=float(self.fps.value()), export_size=self.size.currentData(),
                                           **options)
        else:
            handle = self.keyframes.play(**options)
        self.running = handle  # before follow: a synchronous session replays its progress at once
        return follow(self, handle, self._job_progress, self._job_finished)

    def play(self):
        return self._start()

    def export(self, path):
        return self._start(path)

    def _export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, export_caption("Export animation"), "interpolation.gif",
                                              "GIF (*.gif);;MP4 (*.mp4);;PNG frames (a folder name)")
        if path:
            self.export(path)

    def cancel(self):
        if self.running is not None:
            self.running.cancel()

    def set_busy(self, busy: bool):
        self.cancel_btn.setEnabled(busy)
        self.play_btn.setEnabled(not busy)
        self.export_btn.setEnabled(not busy)

    def set_paused(self, paused: bool):
        """Pause holds the frame shown; resume goes on from it."""
        if paused:
            self.timer.stop()
        elif self.frames:
            self.timer.start(int(1000 / self.fps.value()))

    def _pause_for_the_image(self):
        if self.timer.isActive():
            self.pause_btn.setChecked(True)  # stops the timer; releasing Pause plays on from this frame

    def _reset_playback(self):
        self.timer.stop()
        self.pause_btn.blockSignals(True)
        self.pause_btn.setChecked(False)
        self.pause_btn.blockSignals(False)
        self.pause_btn.setEnabled(False)
        self.frames = []
        self.scrub.setEnabled(False)
        self.scrub.setRange(0, 0)
        self.progress.setValue(0)

    def _job_progress(self, progress):
        self.progress.setMaximum(progress.total)
        self.progress.setValue(progress.done)
        if self.running is not None and not self.running.job.export_path and progress.preview is not None:
            self.frames.append(progress.preview)  # frames show as they render; no blank wait
            self._show(len(self.frames) - 1)

    def _job_finished(self, handle):
        self.running = None
        self.set_busy(False)
        if not handle.ok:
            return
        if handle.job.export_path:
            self.viewer.events.message.emit(f"Exported {handle.result.frames} frames to "
                                            f"{Path(handle.result.path).name}")
            return
        self.frames = list(handle.result.images)
        self.scrub.setRange(0, len(self.frames) - 1)
        self.scrub.setEnabled(True)
        self.pause_btn.setEnabled(True)
        self._index = 0
        self.timer.start(int(1000 / self.fps.value()))

    def _show(self, index: int):
        self.scrub.blockSignals(True)
        self.scrub.setRange(0, max(len(self.frames) - 1, 0))
        self.scrub.setValue(index)
        self.scrub.blockSignals(False)
        self.viewer.show_frame(self.frames[index])

    def _next_frame(self):
        if not self.frames:
            self.timer.stop()
            return
        if self._index >= len(self.frames):
            self._index = 0  # playback loops (the loop box decides whether the path returns to the start)
        self._show(self._index)
        self._index += 1

    def _stop_timer(self):
        self.timer.stop()

    def _scrubbed(self, index):
        if 0 <= index < len(self.frames):
            self.timer.stop()
            self.viewer.show_frame(self.frames[index])
