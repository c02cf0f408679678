"""The explorer's collections of latents (no Qt): bookmarks and interpolation keyframes.

Each is a small model with its own `changed` event; the panels showing them only subscribe and
forward intent. Both hold LatentStates, so what they keep is exactly what was rendered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.jobs import BookmarkSheet, Interpolate, RenderBatch
from gan_explorer.core.explorer.requests import ModelInfo
from gan_explorer.core.explorer.state import LatentState, state_to_dict


class BookmarksModel:
    """The open model's bookmarks (saved per model in the data folder)."""

    def __init__(self, viewer, latent, data_dir=None):
        self.viewer = viewer
        self.latent = latent
        self.data_dir = data_dir
        self.events = EventGroup("changed", "message")
        self.store = None  # core.explorer.bookmarks.Bookmarks of the open model
        viewer.events.model_opened.connect(self._model_opened)

    def _model_opened(self, info: ModelInfo):
        from gan_explorer.core.explorer.bookmarks import Bookmarks

        self.store = None
        if not info.is_translation:
            self.store = Bookmarks(info.path, self.data_dir, info.content_hash)
            if self.store.warning:
                self.events.message.emit(self.store.warning)
        self.events.changed.emit(self)

    def __len__(self) -> int:
        return 0 if self.store is None else len(self.store.items)

    def name(self, index: int) -> str:
        return self.store.name(index)

    def state(self, index: int) -> LatentState:
        return self.store.state(index)

    def thumbnail(self, index: int) -> bytes:
        return self.store.thumbnail(index)

    def states(self) -> list[LatentState]:
        return [self.store.state(i) for i in range(len(self))]

    def names_of(self, state: LatentState) -> list[str]:
        return [self.name(i) for i in range(len(self)) if self.state(i) == state]

    def add(self, name: str = "", thumbnail_png: bytes = b""):
        if self.store is None:
            return
        self._change(self.store.add, self.latent.state, name, thumbnail_png)

    def remove(self, index: int):
        self._change(self.store.remove, index)

    def rename(self, index: int, name: str):
        self._change(self.store.rename, index, name)

    def move(self, source: int, target: int):
        self._change(self.store.move, source, target)

    def _change(self, change, *args):
        """A change is made in memory whatever happens to the file: a failed write is one message
        (the store keeps the bookmarks, and the next change saves them)."""
        try:
            change(*args)
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
        self.events.changed.emit(self)

    def go_to(self, index: int):
        """Make bookmark `index` the current latent (every control then shows it)."""
        self.latent.set_state(self.store.state(index))

    def peek(self, index: int) -> JobHandle:
        """Show the bookmark's image without making it current."""
        handle = self.viewer.submit(RenderBatch(states=(self.store.state(index),)))
        handle.on_done(lambda h: self.viewer.show_frame(h.result.images[0]) if h.ok else None)
        return handle

    def export_sheet(self, path) -> JobHandle | None:
        """All bookmarks as one PNG grid with captions (rendered on the worker)."""
        from gan_explorer.core.explorer.provenance import export_metadata

        if not len(self):
            return None
        states = tuple(self.states())
        captions = tuple(self.name(i) for i in range(len(self)))
        info = self.viewer.info
        metadata = export_metadata(self.viewer.model_name, info.content_hash, states[0], None, bookmarks=[
            {"name": c, "state": state_to_dict(s)} for c, s in zip(captions, states)])
        return self.viewer.submit(BookmarkSheet(path=str(path), states=states, captions=captions, metadata=metadata))


@dataclass
class Keyframe:
    state: LatentState
    label: str
    thumbnail: np.ndarray | None = None  # HWC uint8, the image when it was added
    shape: tuple = ()                    # (num_ws, w_dim) of the model it was made on


class KeyframesModel:
    """Interpolation keyframes, and playing / exporting the frames between them."""

    def __init__(self, viewer, latent, bookmarks: BookmarksModel):
        self.viewer = viewer
        self.latent = latent
        self.bookmarks = bookmarks
        self.events = EventGroup("changed", "message")
        self.items: list[Keyframe] = []
        viewer.events.model_opened.connect(self._model_opened)

    def __len__(self) -> int:
        return len(self.items)

    def _model_opened(self, info: ModelInfo):
        """Keyframes made on a model of another shape cannot be interpolated on this one; those that
        fit stay."""
        shape = () if info.is_translation else (info.num_ws, info.w_dim)
        misfits = [k for k in self.items if k.shape != shape]
        if misfits:
            self.items = [k for k in self.items if k.shape == shape]
            self.events.message.emit(f"{len(misfits)} keyframe(s) did not fit {self.viewer.model_name} and were "
                                     f"cleared; {len(self.items)} kept")
            self.events.changed.emit(self.items)

    def add(self, label: str = ""):
        info = self.viewer.info
        if not self.viewer.explorable:
            return
        state = self.latent.state
        image = self.viewer.last_result.image if self.viewer.last_result is not None else None
        if not label:
            names = self.bookmarks.names_of(state) if self.bookmarks.store is not None else []
            label = f"bookmark: {names[0]}" if names else state.label()
        self.items.append(Keyframe(state, label, image, (info.num_ws, info.w_dim)))
        self.events.changed.emit(self.items)

    def remove(self, index: int):
        if 0 <= index < len(self.items):
            del self.items[index]
            self.events.changed.emit(self.items)

    def move(self, index: int, step: int) -> int:
        target = index + step
        if not (0 <= index < len(self.items) and 0 <= target < len(self.items)):
            return index
        self.items[index], self.items[target] = self.items[target], self.items[index]
        self.events.changed.emit(self.items)
        return target

    def states(self) -> tuple[LatentState, ...]:
        return tuple(k.state for k in self.items)

    def interpolation(self, frames_per_segment: int, method: str, space: str, loop: bool, export_path=None,
                      fps: float = 30.0, export_size: int | None = None) -> Interpolate:
        metadata = None
        if export_path:
            from gan_explorer.core.explorer.provenance import export_metadata

            info = self.viewer.info
            metadata = export_metadata(self.viewer.model_name, info.content_hash, self.items[0].state, None,
                                       keyframes=[state_to_dict(s) for s in self.states()],
                                       interpolation={"frames_per_segment": frames_per_segment, "method": method,
                                                      "space": space, "loop": loop, "fps": fps})
        return Interpolate(keyframes=self.states(), frames_per_segment=frames_per_segment, method=method, space=space,
                           loop=loop, export_path=str(export_path) if export_path else None, fps=fps,
                           export_size=export_size, metadata=metadata)

    def play(self, frames_per_segment: int, method: str, space: str, loop: bool) -> JobHandle:
        return self.viewer.submit(self.interpolation(frames_per_segment, method, space, loop))

    def export(self, path, frames_per_segment: int, method: str, space: str, loop: bool, fps: float,
               export_size: int | None = None) -> JobHandle:
        return self.viewer.submit(self.interpolation(frames_per_segment, method, space, loop, path, fps, export_size))
