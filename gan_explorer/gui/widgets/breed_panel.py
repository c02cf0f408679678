"""Breed: a grid of variations around the current latent, and crossbreeding of parents."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QGroupBox, QHBoxLayout, QHeaderView, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.gui.session_bridge import follow, subscribe
from gan_explorer.gui.widgets.image_grid import ImageGrid
from gan_explorer.gui.widgets.image_view import array_to_qimage
from gan_explorer.gui.widgets.slider_bank import LayerRange

GENE_GROUPS = ("coarse", "middle", "fine")


class BreedPanel(QWidget):
    def __init__(self, breeding, bookmarks, viewer, parent=None):
        super().__init__(parent)
        self.breeding, self.bookmarks, self.viewer = breeding, bookmarks, viewer
        self.variation_seed = 0
        layout = QVBoxLayout(self)

        grow = QGroupBox("Variations")
        g = QVBoxLayout(grow)
        row = QHBoxLayout()
        self.size = QComboBox()
        for n in (3, 4, 5):
            self.size.addItem(f"{n} × {n}", n)
        self.size.setToolTip("How many children to grow around the current image")
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.05, 3.0)
        self.strength.setSingleStep(0.05)
        self.strength.setValue(0.5)
        self.strength.setSuffix(" σ")
        self.strength.setToolTip("How far children stray from the parent, in standard deviations of sampled w")
        self.space = QComboBox()
        self.space.addItem("W", "w")
        self.space.addItem("W+", "w+")
        self.space.setToolTip("W: the chosen layers move together; W+: each layer moves on its own (more varied)")
        self.grow_btn = QPushButton("Grow")
        self.grow_btn.setToolTip("Grow a new set of children around the current image")
        self.grow_btn.clicked.connect(lambda: self.grow(new_seed=True))
        for w in (self.size, self.strength, self.space):
            row.addWidget(w)
        row.addWidget(self.grow_btn)
        g.addLayout(row)
        self.range = LayerRange()
        self.range.setToolTip("For StyleGAN, coarse layers make children differ in pose and shape, middle ones "
                              "in features, fine ones in colour")
        g.addWidget(self.range)
        self.grid = ImageGrid()
        self.grid.setToolTip("Click a child: it becomes the parent and the grid regrows around it (undoable)")
        self.grid.cell_tooltip = lambda r, c: "click: more like this"
        self.grid.sigCellClicked.connect(self._child_clicked)
        g.addWidget(self.grid, 1)
        layout.addWidget(grow, 3)

        cross = QGroupBox("Crossbreed")
        c = QVBoxLayout(cross)
        row = QHBoxLayout()
        self.add_current_btn = QPushButton("Add current")
        self.add_current_btn.setToolTip("Add the current image as a parent")
        self.add_current_btn.clicked.connect(self.add_current_parent)
        self.bookmark = QComboBox()
        self.bookmark.setToolTip("A bookmark to add as a parent")
        self.add_bookmark_btn = QPushButton("Add bookmark")
        self.add_bookmark_btn.clicked.connect(self._add_bookmark_parent)
        self.clear_btn = QPushButton("Clear")
        self.clear_btn.clicked.connect(self.clear_parents)
        for w in (self.add_current_btn, self.bookmark, self.add_bookmark_btn, self.clear_btn):
            row.addWidget(w)
        c.addLayout(row)
        self.table = QTableWidget(0, 2 + len(GENE_GROUPS))
        self.table.setHorizontalHeaderLabels(["parent", "weight", *GENE_GROUPS])
        self.table.setIconSize(QSize(32, 32))
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setToolTip("Weight: each parent's share of a blend. Coarse / middle / fine: tick which parent "
                              "gives those layers (genes)")
        c.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.addItem("Blend by weight", "blend")
        self.mode.addItem("Genes: layer groups from parents", "genes")
        self.breed_btn = QPushButton("Breed")
        self.breed_btn.setToolTip("Make the child of the parents the current image (undoable)")
        self.breed_btn.clicked.connect(self.breed)
        row.addWidget(self.mode, 1)
        row.addWidget(self.breed_btn)
        c.addLayout(row)
        layout.addWidget(cross, 2)

        subscribe(self, viewer.events.model_opened, self._model_opened)
        subscribe(self, bookmarks.events.changed, lambda _v: self._bookmarks_changed())
        subscribe(self, breeding.events.parents_changed, self._show_parents)

    @property
    def parents(self):
        return self.breeding.parents

    @property
    def children(self):
        return self.breeding.children

    def _model_opened(self, info):
        self.grid.set_shape(0, 0)
        self.grow_btn.setEnabled(True)
        if not info.is_translation:
            self.range.set_num_ws(info.num_ws)

    # --- variations ------------------------------------------------------------------------------
    def grow(self, new_seed: bool = True):
        if new_seed:
            self.variation_seed += 1
        n = self.size.currentData()
        try:
            handle = self.breeding.grow(n * n, self.strength.value(), self.range.value(), self.space.currentData(),
                                        self.variation_seed)
        except GanExplorerError as exc:
            self.viewer.events.message.emit(str(exc))
            return None
        if handle is None:
            return None
        self.grid.set_shape(n, n)
        self.grow_btn.setEnabled(False)
        return follow(self, handle, self._progress, lambda _h: self.grow_btn.setEnabled(True))

    def _progress(self, progress):
        if progress.preview is not None:
            n = self.grid.cols
            self.grid.set_cell(*divmod(progress.done - 1, n), progress.preview)  # the grid fills as children render

    def _child_clicked(self, r, c):
        index = r * self.grid.cols + c
        if self.grid.cell_image(r, c) is None or index >= len(self.children):
            return
        self.breeding.open_child(index)
        self.grow(new_seed=True)  # "more like this": the grid regrows around the chosen child

    # --- crossbreed --------------------------------------------------------------------------------
    def _bookmarks_changed(self):
        self.bookmark.clear()
        self.bookmark.addItems([self.bookmarks.name(i) for i in range(len(self.bookmarks))])
        self.add_bookmark_btn.setEnabled(self.bookmark.count() > 0)

    def add_parent(self, label: str, ws: np.ndarray, image: np.ndarray | None):
        self.breeding.add_parent(label, ws, image)

    def _show_parents(self, parents):
        """One row per parent of the breeding model: its image, a weight, and gene ticks."""
        weights = self.weights()
        self.table.setRowCount(0)
        for row, (label, _ws, image) in enumerate(parents):
            self.table.insertRow(row)
            item = QTableWidgetItem(label)
            item.setFlags(item.flags() & ~Qt.ItemIsEditable)
            if image is not None:
                item.setIcon(QIcon(QPixmap.fromImage(array_to_qimage(image))))
            self.table.setItem(row, 0, item)
            weight = QDoubleSpinBox()
            weight.setRange(0, 10)
            weight.setSingleStep(0.1)
            weight.setValue(weights[row] if row < len(weights) else 1.0)
            self.table.setCellWidget(row, 1, weight)
            for k in range(len(GENE_GROUPS)):
                owner = QTableWidgetItem()
                owner.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled)
                owner.setCheckState(Qt.Checked if row == 0 else Qt.Unchecked)
                self.table.setItem(row, 2 + k, owner)
        self.breed_btn.setEnabled(len(parents) > 1)
        self.clear_btn.setEnabled(bool(parents))

    def add_current_parent(self):
        self.breeding.add_current()

    def _add_bookmark_parent(self):
        i = self.bookmark.currentIndex()
        if 0 <= i < len(self.bookmarks):
            return self.breeding.add_state(f"bookmark: {self.bookmark.currentText()}", self.bookmarks.state(i))
        return None

    def clear_parents(self):
        self.breeding.clear()

    def weights(self) -> list[float]:
        return [self.table.cellWidget(r, 1).value() for r in range(self.table.rowCount())
                if self.table.cellWidget(r, 1) is not None]

    def set_weights(self, weights):
        for r, w in enumerate(weights):
            self.table.cellWidget(r, 1).setValue(w)

    def gene_owners(self) -> list[int]:
        """Each layer's parent: the first parent ticked for the layer's group (coarse/middle/fine)."""
        from gan_explorer.core.latent.ops import layer_groups

        num_ws = self.viewer.info.num_ws
        groups = layer_groups(num_ws)
        owners = [0] * num_ws
        for k, name in enumerate(GENE_GROUPS):
            ticked = [r for r in range(self.table.rowCount()) if self.table.item(r, 2 + k).checkState() == Qt.Checked]
            for layer in groups[name]:
                owners[layer] = ticked[0] if ticked else 0
        return owners

    def set_gene_owner(self, group: str, parent: int):
        k = GENE_GROUPS.index(group)
        for r in range(self.table.rowCount()):
            self.table.item(r, 2 + k).setCheckState(Qt.Checked if r == parent else Qt.Unchecked)

    def breed(self):
        if len(self.parents) < 2:
            self.viewer.events.message.emit("Add at least two parents")
            return None
        try:
            if self.mode.currentData() == "genes":
                return self.breeding.crossbreed(owners=self.gene_owners())
            return self.breeding.crossbreed(weights=self.weights())
        except GanExplorerError as exc:
            self.viewer.events.message.emit(str(exc))
            return None
