"""Grids of latents around the current one (no Qt): the style-mixing figure and breeding.

MixingGrid is the StyleGAN paper's figure (row seeds x column seeds, the chosen layers taken from
the columns), or with a conditional model row seeds x conditions. BreedingModel grows children
around the current latent and crossbreeds parents. Both render through jobs and hand results to
the panel through the job's handle; clicking a cell makes its state current.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.jobs import RenderBatch
from gan_explorer.core.explorer.latent import LatentModel, ws_tuple
from gan_explorer.core.explorer.state import LatentState


@dataclass(frozen=True)
class MixingGrid:
    """One style-mixing figure. Seeds: row 0 and column 0 are the column and row seeds' own images
    (cells 1-based); conditions: no header images, cell (r, c) is row seed r under condition c."""

    base: LatentState
    row_seeds: tuple
    col_seeds: tuple = ()
    col_conditions: tuple | None = None
    layers: tuple = ()
    num_ws: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        if self.col_conditions is not None:
            return len(self.row_seeds), len(self.col_conditions)
        return len(self.row_seeds) + 1, len(self.col_seeds) + 1

    def cell_state(self, r: int, c: int) -> LatentState | None:
        base = self.base.base
        if self.col_conditions is None:
            if r == 0 and c == 0:
                return None
            if r == 0:
                return base(seed=self.col_seeds[c - 1])
            if c == 0:
                return base(seed=self.row_seeds[r - 1])
            return base(seed=self.row_seeds[r - 1], mix_seed=self.col_seeds[c - 1], mix_layers=self.layers)
        seed, condition = self.row_seeds[r], self.col_conditions[c]
        if len(self.layers) == self.num_ws:
            return base(seed=seed, condition=condition)
        return base(seed=seed, mix_seed=seed, mix_layers=self.layers, mix_condition=condition)

    def cells(self) -> list[tuple[int, int]]:
        """Render order: seeds: column headers, row headers, then the cells row by row (the order of
        `gan-explorer mix`); conditions: the cells row by row."""
        nr, nc = self.shape
        if self.col_conditions is not None:
            return [(r, c) for r in range(nr) for c in range(nc)]
        return ([(0, c) for c in range(1, nc)] + [(r, 0) for r in range(1, nr)]
                + [(r, c) for r in range(1, nr) for c in range(1, nc)])

    def states(self) -> tuple[LatentState, ...]:
        return tuple(self.cell_state(r, c) for r, c in self.cells())


class MixingModel:
    def __init__(self, viewer, latent: LatentModel):
        self.viewer, self.latent = viewer, latent
        self.grid: MixingGrid | None = None
        self.rendering: JobHandle | None = None

    def render(self, row_seeds, col_seeds=(), layers=(), col_conditions=None) -> JobHandle:
        self.grid = MixingGrid(self.latent.state, tuple(int(s) for s in row_seeds), tuple(int(s) for s in col_seeds),
                               None if col_conditions is None else tuple(tuple(c) for c in col_conditions),
                               tuple(int(i) for i in layers), self.viewer.info.num_ws)
        self.rendering = self.viewer.submit(RenderBatch(states=self.grid.states()))
        return self.rendering

    def open_cell(self, r: int, c: int):
        state = self.grid.cell_state(r, c) if self.grid is not None else None
        if state is not None:
            self.latent.set_state(state)


class BreedingModel:
    """Children of the current latent, and crossbreeding of parents (ws arrays)."""

    def __init__(self, viewer, latent: LatentModel):
        self.viewer, self.latent = viewer, latent
        self.events = EventGroup("parents_changed")
        self.children: list[LatentState] = []
        self.parents: list[tuple[str, np.ndarray, np.ndarray | None]] = []  # (label, ws, image)
        self.growing: JobHandle | None = None
        viewer.events.model_opened.connect(lambda _info: self.clear())

    def clear(self):
        self.children = []
        self.parents = []
        self.events.parents_changed.emit(self.parents)

    def grow(self, count: int, strength: float, layers: tuple[int, int], space: str = "w", seed: int = 0,
             parent_ws: np.ndarray | None = None) -> JobHandle | None:
        """Render `count` children of the current latent (or of `parent_ws`): steps of `strength` σ."""
        from gan_explorer.core.latent.breeding import children

        parent = self.viewer.current_ws if parent_ws is None else parent_ws
        info = self.viewer.info
        if parent is None or info is None:
            return None
        kids = children(parent, count, strength, info.w_std, layers, space, seed)
        base = self.latent.state.base()
        self.children = [base.with_changes(ws=ws_tuple(k)) for k in kids]
        self.growing = self.viewer.submit(RenderBatch(states=tuple(self.children)))
        return self.growing

    def open_child(self, index: int):
        if 0 <= index < len(self.children):
            self.latent.set_state(self.children[index])

    def add_parent(self, label: str, ws: np.ndarray, image: np.ndarray | None = None):
        self.parents.append((label, np.asarray(ws, np.float32), image))
        self.events.parents_changed.emit(self.parents)

    def add_current(self):
        result = self.viewer.last_result
        if result is not None and result.ws is not None:
            self.add_parent(self.latent.state.label(), result.ws, result.image)

    def add_state(self, label: str, state: LatentState) -> JobHandle:
        """A parent from a state (a bookmark): its ws and image are rendered on the worker."""
        handle = self.viewer.submit(RenderBatch(states=(state,)))
        handle.on_done(lambda h: self.add_parent(label, h.result.ws[0], h.result.images[0]) if h.ok else None)
        return handle

    def crossbreed(self, weights: list[float] | None = None, owners: list[int] | None = None) -> LatentState:
        """A child of the parents (a blend by weight, or layers by owner) becomes the current latent."""
        from gan_explorer.core.latent.breeding import blend, genes

        ws = [p[1] for p in self.parents]
        child = genes(ws, owners) if owners is not None else blend(ws, weights)
        state = self.latent.state.base().with_changes(ws=ws_tuple(child))
        self.latent.set_state(state)
        return state
