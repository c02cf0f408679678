"""Style mixing as in the StyleGAN paper: row seeds x column seeds, layers from the columns.

With a conditional model the columns may be classes (or factor settings) instead of seeds: each
cell is its row's seed with the chosen layers' styles drawn under the column's condition (all
layers: the row's face in that class)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.conditions import describe_condition, factor_range, parse_condition_list
from gan_explorer.gui.session_bridge import follow, subscribe
from gan_explorer.gui.widgets.image_grid import ImageGrid

MAX_SEEDS = 8  # per side: a grid a person can read


class MixingPanel(QWidget):
    def __init__(self, mixing, viewer, parent=None):
        super().__init__(parent)
        self.mixing, self.viewer = mixing, viewer
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.rows = QLineEdit("1,2,3")
        self.cols = QLineEdit("4,5,6")
        self.rows.setToolTip("Row seeds: each row keeps its own styles except the chosen layers")
        self.cols.setToolTip("Column seeds: they give the chosen layers' styles to every row")
        row.addWidget(QLabel("rows"))
        row.addWidget(self.rows, 1)
        self.col_kind = QComboBox()
        self.col_kind.addItems(["seeds", "classes"])
        self.col_kind.setToolTip("Columns of seeds, or (conditional models) of classes / factor settings")
        self.col_kind.currentIndexChanged.connect(self._column_kind_changed)
        self.col_kind.setVisible(False)
        row.addWidget(QLabel("columns"))
        row.addWidget(self.col_kind)
        row.addWidget(self.cols, 2)  # conditions are longer than seeds
        layout.addLayout(row)
        row = QHBoxLayout()
        self.preset = QComboBox()
        self.preset.addItems(["coarse", "middle", "fine", "all"])
        self.preset.setToolTip("Coarse layers carry pose and face shape, middle ones features such as eyes and "
                               "hair style, fine ones colours and texture")
        self.preset.currentTextChanged.connect(self._preset)
        row.addWidget(QLabel("layers from the columns"))
        row.addWidget(self.preset)
        self.render_btn = QPushButton("Render grid")
        self.render_btn.clicked.connect(self.render_grid)
        row.addStretch(1)
        row.addWidget(self.render_btn)
        layout.addLayout(row)
        self.layer_boxes_widget = QWidget()
        self.layer_boxes = QGridLayout(self.layer_boxes_widget)
        self.layer_boxes.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layer_boxes_widget)
        self.checks: list[QCheckBox] = []
        self.grid = ImageGrid()
        self.grid.sigCellClicked.connect(self._cell_clicked)
        self.grid.cell_tooltip = self._tooltip
        layout.addWidget(self.grid, 1)
        self.error = QLabel()
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.row_seeds: list[int] = []
        self.col_seeds: list[int] = []
        self.col_conditions: list[tuple] | None = None  # columns of conditions instead of seeds
        self.grid_layers: list[int] = []
        self.info = None
        subscribe(self, viewer.events.model_opened, self._model_opened)

    def _model_opened(self, info):
        if info.is_translation:
            return
        self.info = info
        conditional = bool(info.c_dim)
        self.col_kind.blockSignals(True)
        self.col_kind.setCurrentIndex(0)
        self.col_kind.setItemText(1, "classes" if info.c_kind == "class" else "conditions")
        self.col_kind.blockSignals(False)
        self.col_kind.setVisible(conditional)
        self._column_kind_changed(0)
        for c in self.checks:
            c.deleteLater()
        self.checks = []
        per_row = 9
        for i in range(info.num_ws):
            box = QCheckBox(str(i))
            box.setToolTip(f"layer {i} of {info.num_ws}: taken from the column seed when checked")
            self.layer_boxes.addWidget(box, i // per_row, i % per_row)
            self.checks.append(box)
        if info.c_dim and not info.can("style_mixing"):  # one w: only a grid of conditions makes sense
            self.col_kind.setCurrentIndex(1)
            self.preset.setCurrentText("all")
        self.col_kind.setEnabled(info.can("style_mixing"))
        self.preset.setEnabled(info.can("style_mixing"))
        self.layer_boxes_widget.setVisible(info.can("style_mixing"))
        self._preset(self.preset.currentText())
        self.grid.set_shape(0, 0)

    def _column_kind_changed(self, index):
        if index == 0:
            self.cols.setText("4,5,6")
            self.cols.setToolTip("Column seeds: they give the chosen layers' styles to every row")
        elif self.info.c_kind == "class":
            self.cols.setText("all")
            self.cols.setToolTip("Classes (indices or names, comma-separated; 'all'): each cell is its row's seed "
                                 "with the chosen layers drawn in the column's class")
        else:
            name = self.info.c_names[0]
            low, high = factor_range(name)
            self.cols.setText(f"{name}={low:g}; {name}={high:g}")
            self.cols.setToolTip("Factor settings separated by ';' (e.g. glasses=0; glasses=1, smile=1): each "
                                 "cell is its row's seed with the chosen layers drawn under the column's setting")

    def _preset(self, name):
        from gan_explorer.core.latent.ops import layer_groups

        if name == "all":
            group = range(len(self.checks))
        else:
            group = layer_groups(len(self.checks))[name] if self.checks else range(0)
        for i, box in enumerate(self.checks):
            box.setChecked(i in group)

    def layers(self) -> list[int]:
        return [i for i, box in enumerate(self.checks) if box.isChecked()]

    def column_count(self) -> int:
        return len(self.col_seeds) if self.col_conditions is None else len(self.col_conditions)

    def render_grid(self):
        from gan_explorer.core.generate import parse_seeds

        by_condition = not self.col_kind.isHidden() and self.col_kind.currentIndex() == 1
        try:
            rows = parse_seeds(self.rows.text())
            cols = [] if by_condition else parse_seeds(self.cols.text())
            conditions = parse_condition_list(self.info, self.cols.text(), MAX_SEEDS) if by_condition else None
            if len(rows) > MAX_SEEDS or len(cols) > MAX_SEEDS:
                raise GanExplorerError(f"at most {MAX_SEEDS} row and {MAX_SEEDS} column seeds")
            if not self.layers():
                raise GanExplorerError("check at least one layer to take from the columns")
        except (GanExplorerError, ValueError) as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.row_seeds, self.col_seeds, self.col_conditions, self.grid_layers = rows, cols, conditions, self.layers()
        headers = ([f"seed {s}" for s in cols] if conditions is None
                   else [describe_condition(self.info, c) for c in conditions])
        if conditions is None:
            self.grid.set_shape(len(rows) + 1, len(cols) + 1, [""] + [f"seed {s}" for s in rows], [""] + headers)
        else:
            self.grid.set_shape(len(rows), len(conditions), [f"seed {s}" for s in rows], headers)
        self.render_btn.setEnabled(False)
        handle = self.mixing.render(rows, cols, self.grid_layers, conditions)
        return follow(self, handle, self._job_progress, self._job_finished)

    def cell_of(self, index: int) -> tuple[int, int]:
        return self.mixing.grid.cells()[index]

    def _job_progress(self, progress):
        if progress.preview is not None:
            self.grid.set_cell(*self.cell_of(progress.done - 1), progress.preview)

    def _job_finished(self, handle):
        self.render_btn.setEnabled(True)
        if handle.error:
            self.error.setText(handle.error)
        if not handle.ok:
            return
        for i, image in enumerate(handle.result.images):
            self.grid.set_cell(*self.cell_of(i), image)

    def _tooltip(self, r, c):
        if self.col_conditions is None and r == 0 and c == 0:
            return ""
        if self.col_conditions is not None:
            what = describe_condition(self.info, self.col_conditions[c])
            if len(self.grid_layers) == self.info.num_ws:
                return f"seed {self.row_seeds[r]} in {what} (click to open)"
            return f"seed {self.row_seeds[r]} with layers {self.grid_layers} in {what} (click to open)"
        if r == 0:
            return f"column seed {self.col_seeds[c - 1]}"
        if c == 0:
            return f"row seed {self.row_seeds[r - 1]}"
        return (f"seed {self.row_seeds[r - 1]} with layers {self.grid_layers} from seed {self.col_seeds[c - 1]} "
                "(click to open)")

    def _cell_clicked(self, r, c):
        if self.row_seeds:
            self.mixing.open_cell(r, c)
