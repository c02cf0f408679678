"""Style mixing as in the StyleGAN paper: row seeds x column seeds, layers from the columns."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.requests import RenderBatch
from gan_explorer.gui.session_bridge import JobTracker, subscribe
from gan_explorer.gui.widgets.image_grid import ImageGrid

MAX_SEEDS = 8  # per side: a grid a person can read


class MixingPanel(QWidget):
    def __init__(self, explorer, parent=None):
        super().__init__(parent)
        self.explorer = explorer
        self.jobs = JobTracker(self, explorer, ["mix"], self._job_progress, self._job_finished)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.rows = QLineEdit("1,2,3")
        self.cols = QLineEdit("4,5,6")
        self.rows.setToolTip("Row seeds: each row keeps its own styles except the chosen layers")
        self.cols.setToolTip("Column seeds: they give the chosen layers' styles to every row")
        row.addWidget(QLabel("rows"))
        row.addWidget(self.rows)
        row.addWidget(QLabel("columns"))
        row.addWidget(self.cols)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.preset = QComboBox()
        self.preset.addItems(["coarse", "middle", "fine"])
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
        self.grid_layers: list[int] = []
        subscribe(self, explorer.events.model_opened, self._model_opened)

    def _model_opened(self, info):
        if info.is_translation:
            return
        for c in self.checks:
            c.deleteLater()
        self.checks = []
        per_row = 9
        for i in range(info.num_ws):
            box = QCheckBox(str(i))
            box.setToolTip(f"layer {i} of {info.num_ws}: taken from the column seed when checked")
            self.layer_boxes.addWidget(box, i // per_row, i % per_row)
            self.checks.append(box)
        self._preset(self.preset.currentText())
        self.grid.set_shape(0, 0)

    def _preset(self, name):
        from gan_explorer.core.latent.ops import layer_groups

        group = layer_groups(len(self.checks))[name] if self.checks else range(0)
        for i, box in enumerate(self.checks):
            box.setChecked(i in group)

    def layers(self) -> list[int]:
        return [i for i, box in enumerate(self.checks) if box.isChecked()]

    def states(self):
        """Column seeds' images, row seeds' images, then the cells row by row."""
        base = self.explorer.state.base
        layers = tuple(self.grid_layers)
        states = [base(seed=c) for c in self.col_seeds] + [base(seed=r) for r in self.row_seeds]
        states += [base(seed=r, mix_seed=c, mix_layers=layers) for r in self.row_seeds for c in self.col_seeds]
        return states

    def render_grid(self):
        from gan_explorer.core.generate import parse_seeds

        try:
            rows, cols = parse_seeds(self.rows.text()), parse_seeds(self.cols.text())
            if len(rows) > MAX_SEEDS or len(cols) > MAX_SEEDS:
                raise GanExplorerError(f"at most {MAX_SEEDS} row and {MAX_SEEDS} column seeds")
            if not self.layers():
                raise GanExplorerError("check at least one layer to take from the columns")
        except (GanExplorerError, ValueError) as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.row_seeds, self.col_seeds, self.grid_layers = rows, cols, self.layers()
        self.grid.set_shape(len(rows) + 1, len(cols) + 1, [""] + [f"seed {s}" for s in rows],
                            [""] + [f"seed {s}" for s in cols])
        self.render_btn.setEnabled(False)
        return self.explorer.run_job(RenderBatch(purpose="mix", states=tuple(self.states())))

    def cell_of(self, index: int) -> tuple[int, int]:
        nc = len(self.col_seeds)
        nr = len(self.row_seeds)
        if index < nc:
            return 0, index + 1
        if index < nc + nr:
            return index - nc + 1, 0
        r, c = divmod(index - nc - nr, nc)
        return r + 1, c + 1

    def _job_progress(self, progress):
        if progress.preview is not None:
            self.grid.set_cell(*self.cell_of(progress.done - 1), progress.preview)

    def _job_finished(self, result):
        self.render_btn.setEnabled(True)
        if result.error:
            self.error.setText(result.error)
            return
        for i, image in enumerate(result.images):
            self.grid.set_cell(*self.cell_of(i), image)

    def _tooltip(self, r, c):
        if r == 0 and c == 0:
            return ""
        if r == 0:
            return f"column seed {self.col_seeds[c - 1]}"
        if c == 0:
            return f"row seed {self.row_seeds[r - 1]}"
        return (f"seed {self.row_seeds[r - 1]} with layers {self.grid_layers} from seed {self.col_seeds[c - 1]} "
                "(click to open)")

    def _cell_clicked(self, r, c):
        if not self.row_seeds or (r == 0 and c == 0):
            return
        base = self.explorer.state.base
        if r == 0:
            state = base(seed=self.col_seeds[c - 1])
        elif c == 0:
            state = base(seed=self.row_seeds[r - 1])
        else:
            state = base(seed=self.row_seeds[r - 1], mix_seed=self.col_seeds[c - 1], mix_layers=tuple(self.grid_layers))
        self.explorer.set_state(state)
