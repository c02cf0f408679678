"""Keyframes, interpolation settings, play in the view, export with progress and cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QListWidget, QProgressBar, QPushButton, QSpinBox, QVBoxLayout,
    QWidget,
)


class InterpolationPanel(QWidget):
    sigAddKeyframe = Signal()
    sigPlay = Signal()
    sigExport = Signal()
    sigCancel = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.keyframes: list = []
        self.list = QListWidget()
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        add, up, down, delete = (QPushButton(t) for t in ("Add current", "Up", "Down", "Delete"))
        for b in (add, up, down, delete):
            row.addWidget(b)
        layout.addLayout(row)
        add.clicked.connect(self.sigAddKeyframe.emit)
        up.clicked.connect(lambda: self._move(-1))
        down.clicked.connect(lambda: self._move(1))
        delete.clicked.connect(self._delete)
        form = QFormLayout()
        self.method = QComboBox()
        self.method.addItems(["slerp", "lerp"])
        self.space = QComboBox()
        self.space.addItems(["w", "w+", "z"])
        self.frames = QSpinBox()
        self.frames.setRange(1, 600)
        self.frames.setValue(24)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(24)
        self.loop = QCheckBox("loop back to the first keyframe")
        form.addRow("Method", self.method)
        form.addRow("Space", self.space)
        form.addRow("Frames per segment", self.frames)
        form.addRow("Frames per second", self.fps)
        form.addRow("", self.loop)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.play_btn, self.export_btn, self.cancel_btn = QPushButton("Play"), QPushButton("Export…"), QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        for b in (self.play_btn, self.export_btn, self.cancel_btn):
            row.addWidget(b)
        layout.addLayout(row)
        self.play_btn.clicked.connect(self.sigPlay.emit)
        self.export_btn.clicked.connect(self.sigExport.emit)
        self.cancel_btn.clicked.connect(self.sigCancel.emit)
        self.progress = QProgressBar()
        layout.addWidget(self.progress)

    def add(self, state, label: str):
        self.keyframes.append(state)
        self.list.addItem(label)

    def _move(self, step):
        i = self.list.currentRow()
        j = i + step
        if i < 0 or not 0 <= j < len(self.keyframes):
            return
        self.keyframes[i], self.keyframes[j] = self.keyframes[j], self.keyframes[i]
        item = self.list.takeItem(i)
        self.list.insertItem(j, item)
        self.list.setCurrentRow(j)

    def _delete(self):
        i = self.list.currentRow()
        if i >= 0:
            del self.keyframes[i]
            self.list.takeItem(i)

    def settings(self) -> dict:
        return {"frames_per_segment": self.frames.value(), "method": self.method.currentText(),
                "space": self.space.currentText(), "loop": self.loop.isChecked()}

    def set_busy(self, busy: bool):
        self.cancel_btn.setEnabled(busy)
        self.play_btn.setEnabled(not busy)
        self.export_btn.setEnabled(not busy)
