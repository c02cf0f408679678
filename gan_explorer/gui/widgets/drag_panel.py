"""The Drag tab: point-based editing (DragGAN) on the image view.

With Drag mode on, a click on the image places a handle, the next click its target (an arrow);
dragging a point moves it, a right click on it deletes its pair. With Paint mask (or Erase) on,
the mouse paints the region that may change. Start runs the drag (the image updates after every
step, the handles where tracking finds them); Stop keeps what was reached, Cancel drops it. The
panel holds no state of its own: everything is the core DragModel's (core/explorer/drag.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout,
    QWidget,
)

from gan_explorer.gui.session_bridge import subscribe

PICK_RADIUS_WIDGET_PX = 9.0  # a press this close to a point grabs it


class DragPanel(QWidget):
    def __init__(self, drag, viewer, view, parent=None):
        super().__init__(parent)
        self.drag, self.viewer, self.view = drag, viewer, view
        self._grabbed = None  # (pair index, 'handle' / 'target') being moved
        self._painting = False

        layout = QVBoxLayout(self)
        intro = QLabel("Click a handle on the image, then where it should go. Drag a point to move it; "
                       "right-click it to delete its pair.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.mode_box = QCheckBox("Drag mode (clicks on the image place points)")
        layout.addWidget(self.mode_box)
        form = QFormLayout()
        self.layers_spin = QSpinBox()
        self.layers_spin.setRange(1, 64)
        self.layers_spin.setValue(drag.layers)
        self.layers_spin.setToolTip("First W+ rows optimised (DragGAN: 6); the rest stay fixed")
        form.addRow("W+ rows", self.layers_spin)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10000)
        self.steps_spin.setValue(drag.steps)
        self.steps_spin.setToolTip("Step budget: the drag stops earlier when every handle reaches its target")
        form.addRow("Steps", self.steps_spin)
        self.record_edit = QLineEdit()
        self.record_edit.setPlaceholderText("drag.gif or drag.mp4 (empty: no recording)")
        form.addRow("Record to", self.record_edit)
        layout.addLayout(form)
        grid = QGridLayout()
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Finish at the next step and keep what was reached")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Abandon the drag: the image stays as it was")
        self.clear_button = QPushButton("Clear points")
        for i, button in enumerate((self.start_button, self.stop_button, self.cancel_button, self.clear_button)):
            grid.addWidget(button, i // 2, i % 2)
        layout.addLayout(grid)
        mask_row = QHBoxLayout()
        self.paint_button = QPushButton("Paint mask")
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip("Paint the region that may change; the rest is held")
        self.erase_button = QPushButton("Erase")
        self.erase_button.setCheckable(True)
        self.clear_mask_button = QPushButton("Clear mask")
        for button in (self.paint_button, self.erase_button, self.clear_mask_button):
            mask_row.addWidget(button)
        layout.addLayout(mask_row)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

        self.mode_box.toggled.connect(self.view.set_drag_mode)
        self.layers_spin.valueChanged.connect(lambda v: setattr(self.drag, "layers", int(v)))
        self.steps_spin.valueChanged.connect(lambda v: setattr(self.drag, "steps", int(v)))
        self.record_edit.textChanged.connect(lambda t: setattr(self.drag, "record_path", t.strip()))
        self.start_button.clicked.connect(self._start)
        self.stop_button.clicked.connect(self.drag.stop)
        self.cancel_button.clicked.connect(self.drag.cancel)
        self.clear_button.clicked.connect(self.drag.clear_points)
        self.paint_button.toggled.connect(lambda on: on and self.erase_button.setChecked(False))
        self.erase_button.toggled.connect(lambda on: on and self.paint_button.setChecked(False))
        self.clear_mask_button.clicked.connect(self.drag.clear_mask)
        self.view.sigImagePressed.connect(self._pressed)
        self.view.sigImageMoved.connect(self._moved)
        self.view.sigImageReleased.connect(self._released)
        subscribe(self, drag.events.points, self.view.set_drag_points)
        subscribe(self, drag.events.mask, self.view.set_drag_mask)
        subscribe(self, drag.events.running, self._running)
        subscribe(self, drag.events.step, self._step)
        subscribe(self, viewer.events.model_opened, self._model_opened)
        self._running(False)

    def _model_opened(self, info):
        num_ws = int(getattr(info, "num_ws", 0) or 0)
        if num_ws:
            self.layers_spin.setMaximum(num_ws)
        self.drag.clear_points()
        self.drag.clear_mask()

    def _start(self):
        self.mode_box.setChecked(True)
        self.drag.start()

    def _running(self, running: bool):
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.clear_button.setEnabled(not running)

    def _step(self, info):
        self.status_label.setText(f"step {info.index} · {self.drag.steps_per_second:.1f} steps/s · "
                                  f"farthest handle {info.distance:.1f} px from its target")

    # --- mouse on the image (image pixels) ----------------------------------------------------------
    def _brush(self):
        if self.paint_button.isChecked():
            return 1.0
        if self.erase_button.isChecked():
            return 0.0
        return None

    def _pressed(self, x: float, y: float, button: int):
        value = self._brush()
        if value is not None:
            self._painting = True
            self.drag.paint_mask(x, y, value=value)
            return
        within = PICK_RADIUS_WIDGET_PX / max(self.view.widget_scale(), 1e-6)
        hit = self.drag.nearest(x, y, within)
        if button == int(Qt.RightButton.value):
            if hit is not None and not self.drag.running:
                self.drag.remove_pair(hit[0])
            return
        if hit is not None and not self.drag.running:
            self._grabbed = hit
            return
        self.drag.click(x, y)

    def _moved(self, x: float, y: float):
        if self._painting:
            value = self._brush()
            if value is not None:
                self.drag.paint_mask(x, y, value=value)
        elif self._grabbed is not None:
            self.drag.move_point(self._grabbed[0], self._grabbed[1], x, y)

    def _released(self, x: float, y: float):
        self._grabbed = None
        self._painting = False
