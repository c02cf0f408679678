"""Directions in W (no Qt): the ones found by PCA / SeFa, and the model's named library.

Their slider values are not kept here: a direction's value is an edit of the latent state (an
offset keyed "d:<index>" or "lib:<name>"), read back from the latent model, so undo, reset,
bookmarks and exports carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.jobs import FindDirections, FoundDirections
from gan_explorer.core.explorer.latent import LatentModel
from gan_explorer.core.explorer.requests import ModelInfo

METHOD_LABELS = {"pca": "PC", "sefa": "SeFa"}


@dataclass
class DirectionSet:
    method: str                 # pca, sefa
    directions: np.ndarray      # [k, w_dim] unit vectors
    sigma: np.ndarray           # [k] spread of sampled w along each
    names: list[str] = field(default_factory=list)


class DirectionsModel:
    """Found directions and the direction library of the open model; see the module docstring."""

    def __init__(self, viewer, latent: LatentModel, data_dir=None):
        self.viewer = viewer
        self.latent = latent
        self.data_dir = data_dir
        self.events = EventGroup("found", "library_changed", "message")
        self.found: DirectionSet | None = None
        self.library = None  # the open model's DirectionLibrary (keyed by its content hash)
        self.num_ws = 0
        self.finding: JobHandle | None = None
        viewer.events.model_opened.connect(self._model_opened)

    def _model_opened(self, info: ModelInfo):
        self.found, self.library, self.finding = None, None, None
        self.num_ws = info.num_ws
        if not info.is_translation and info.content_hash:
            from gan_explorer.core.latent.library import DirectionLibrary

            self.library = DirectionLibrary(info.content_hash, info.w_dim, self.data_dir)
            if self.library.warning:
                self.events.message.emit(self.library.warning)
        self.events.found.emit(None)
        self.events.library_changed.emit(self.library)

    # --- found directions ----------------------------------------------------------------------------
    def find(self, method: str, count: int = 20) -> JobHandle:
        """Find `count` directions (PCA of sampled w, or SeFa) on the worker; they replace the found set."""
        handle = self.finding = self.viewer.submit(FindDirections(method=method, count=count))
        handle.on_done(self._found)  # (a synchronous session has finished it: this runs now)
        return handle

    def _found(self, handle: JobHandle):
        if handle is not self.finding:
            return  # a search of a previous model
        self.finding = None
        if not handle.ok:
            self.events.found.emit(self.found)
            return
        result: FoundDirections = handle.result
        label = METHOD_LABELS.get(result.method, "dir")
        self.found = DirectionSet(result.method, result.directions, result.sigma,
                                  [f"{label} {i}" for i in range(len(result.directions))])
        self.latent.clear_offsets("d:")  # the old indices mean other directions now
        self.events.found.emit(self.found)

    def set_value(self, index: int, value_sigma: float, layers: tuple[int, int]):
        d = self.found
        if d is None or not 0 <= index < len(d.directions):
            return
        self.latent.set_offset(f"d:{index}", layers, d.directions[index], value_sigma * float(d.sigma[index]))

    def values(self) -> dict[int, float]:
        """Found-direction slider values in σ, from the latent state."""
        if self.found is None:
            return {}
        return {int(k): amount / float(self.found.sigma[int(k)])
                for k, amount in self.latent.offset_amounts("d:").items() if int(k) < len(self.found.sigma)}

    def offset_state(self, index: int, amount_sigma: float, layers: tuple[int, int]):
        """The current state pushed `amount_sigma` along found direction `index` (preview strips)."""
        d = self.found
        start, end = layers
        return self.latent.state.with_w_offset(f"d:{index}", start, end, direction=d.directions[index],
                                               amount=amount_sigma * float(d.sigma[index]))

    # --- the library -------------------------------------------------------------------------------------
    def save(self, name: str, vector, sigma: float, layers: tuple[int, int], strength: float = 2.0,
             source: str = ""):
        """Name a direction and keep it in the model's library (it appears as a named slider)."""
        from gan_explorer.core.latent.library import make_direction

        if self.library is None:
            self.events.message.emit("This model has no file to key a direction library by")
            return None
        before = list(self.library.directions)
        try:
            direction = self.library.add(make_direction(name, vector, sigma, layers, strength, source))
        except GanExplorerError as exc:
            self._failed(exc, before)
            return None
        self.events.library_changed.emit(self.library)
        return direction

    def save_found(self, index: int, name: str, layers: tuple[int, int], strength: float = 2.0):
        d = self.found
        if d is None or not 0 <= index < len(d.directions):
            return None
        return self.save(name, d.directions[index], float(d.sigma[index]), layers, strength, f"{d.method} {index}")

    def remove(self, name: str):
        if self.library is not None:
            try:
                self.library.remove(name)
            except GanExplorerError as exc:  # removed in memory; the next change saves the library
                self.events.message.emit(str(exc))
            self.latent.clear_offsets(f"lib:{name}")
            self.events.library_changed.emit(self.library)

    def _failed(self, exc: GanExplorerError, before: list):
        """A library change that raised: its one line, and the list shown again where the change
        was made in memory but not saved (the library keeps it; the next change saves it)."""
        self.events.message.emit(str(exc))
        if self.library.directions != before:
            self.events.library_changed.emit(self.library)

    def set_library_value(self, name: str, value_sigma: float):
        direction = self.library.get(name) if self.library is not None else None
        if direction is None:
            return
        self.latent.set_offset(f"lib:{name}", direction.layers(self.num_ws), direction.vector,
                               value_sigma * direction.sigma)

    def library_values(self) -> dict[str, float]:
        if self.library is None:
            return {}
        return {d.name: amount / d.sigma for name, amount in self.latent.offset_amounts("lib:").items()
                if (d := self.library.get(name)) is not None}

    def save_between(self, state_a, state_b, name: str) -> JobHandle:
        """Render two latents for their ws (on the worker), then keep the direction a -> b as `name`."""
        from gan_explorer.core.explorer.jobs import RenderBatch

        handle = self.viewer.submit(RenderBatch(states=(state_a, state_b)))
        handle.on_done(lambda h: self._save_difference(h, name))
        return handle

    def _save_difference(self, handle: JobHandle, name: str):
        from gan_explorer.core.latent.library import difference_direction

        if not handle.ok or self.viewer.info is None:
            return
        try:
            vector, sigma = difference_direction(handle.result.ws[0], handle.result.ws[1], self.viewer.info.w_std)
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
            return
        self.save(name, vector, sigma, (0, -1), 1.0, "bookmarks A → B")

    def import_file(self, path) -> list[str]:
        """Add the directions of a library file exported from this app; one line when it cannot."""
        if self.library is None:
            self.events.message.emit("This model has no file to key a direction library by")
            return []
        before = list(self.library.directions)
        try:
            names = self.library.import_file(path)
        except GanExplorerError as exc:
            self._failed(exc, before)
            return []
        self.events.library_changed.emit(self.library)
        self.events.message.emit(f"Imported {len(names)} direction(s)")
        return names

    def export_file(self, path):
        if self.library is None:
            self.events.message.emit("This model has no direction library to export")
            return
        try:
            self.library.export(path)
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
            return
        self.events.message.emit(f"Exported {len(self.library.names())} direction(s) to {path}")
