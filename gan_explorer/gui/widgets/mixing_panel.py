"""Style mixing as in the StyleGAN paper: row seeds x column seeds, layers from the columns."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QVBoxLayout,
    QWidget,
)

from gan_explorer.gui.widgets.image_view import array_to_qimage


class ClickableLabel(QLabel):
    sigClicked = Signal()

    def mousePressEvent(self, event):
        self.sigClicked.emit()


class MixingPanel(QWidget):
    sigRender = Signal(list, list, list)   # row seeds, column seeds, layers
    sigCellChosen = Signal(int, int)       # row seed, column seed

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.rows = QLineEdit("1,2,3")
        self.cols = QLineEdit("4,5,6")
        row.addWidget(QLabel("rows"))
        row.addWidget(self.rows)
        row.addWidget(QLabel("columns"))
        row.addWidget(self.cols)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.preset = QComboBox()
        self.preset.addItems(["coarse", "middle", "fine"])
        self.preset.currentTextChanged.connect(self._preset)
        row.addWidget(QLabel("layers from the columns"))
        row.addWidget(self.preset)
        self.render_btn = QPushButton("Render grid")
        self.render_btn.clicked.connect(self._render)
        row.addStretch(1)
        row.addWidget(self.render_btn)
        layout.addLayout(row)
        self.layer_boxes_widget = QWidget()
        self.layer_boxes = QHBoxLayout(self.layer_boxes_widget)
        self.layer_boxes.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layer_boxes_widget)
        self.checks: list[QCheckBox] = []
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.grid_widget = QWidget()
        self.grid = QGridLayout(self.grid_widget)
        self.grid.setSpacing(2)
        scroll.setWidget(self.grid_widget)
        layout.addWidget(scroll, 1)
        self.error = QLabel()
        layout.addWidget(self.error)
        self.row_seeds: list[int] = []
        self.col_seeds: list[int] = []
        self.cells: dict[tuple[int, int], ClickableLabel] = {}

    def set_num_ws(self, num_ws: int):
        for c in self.checks:
            c.deleteLater()
        self.checks = []
        for i in range(num_ws):
            box = QCheckBox(str(i))
            self.layer_boxes.addWidget(box)
            self.checks.append(box)
        self._preset(self.preset.currentText())

    def _preset(self, name):
        from gan_explorer.core.latent.ops import layer_groups

        group = layer_groups(len(self.checks))[name] if self.checks else range(0)
        for i, box in enumerate(self.checks):
            box.setChecked(i in group)

    def layers(self) -> list[int]:
        return [i for i, box in enumerate(self.checks) if box.isChecked()]

    def _render(self):
        from gan_explorer.core.generate import parse_seeds

        try:
            rows, cols = parse_seeds(self.rows.text()), parse_seeds(self.cols.text())
        except Exception as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.row_seeds, self.col_seeds = rows, cols
        self.sigRender.emit(rows, cols, self.layers())

    def show_images(self, images):
        """images: column seeds' images, row seeds' images, then cells row by row."""
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.cells = {}
        it = iter(images)
        nr, nc = len(self.row_seeds), len(self.col_seeds)
        size = 96

        def label(image, tooltip):
            lab = ClickableLabel()
            lab.setPixmap(QPixmap.fromImage(array_to_qimage(image)).scaled(size, size, Qt.KeepAspectRatio,
                                                                           Qt.SmoothTransformation))
            lab.setToolTip(tooltip)
            return lab

        for k, seed in enumerate(self.col_seeds):
            self.grid.addWidget(label(next(it), f"column seed {seed}"), 0, k + 1)
        for i, seed in enumerate(self.row_seeds):
            self.grid.addWidget(label(next(it), f"row seed {seed}"), i + 1, 0)
        for i, r in enumerate(self.row_seeds):
            for k, c in enumerate(self.col_seeds):
                cell = label(next(it), f"seed {r} with layers {self.layers()} from seed {c} (click to open)")
                cell.sigClicked.connect(lambda r=r, c=c: self.sigCellChosen.emit(r, c))
                self.grid.addWidget(cell, i + 1, k + 1)
                self.cells[(r, c)] = cell
        assert nr * nc == len(self.cells)
