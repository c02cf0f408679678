"""What the explorer window remembers, without Qt: undo/redo history and per-model bookmarks."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

from gan_explorer.core.io.atomic import atomic_write_text
from gan_explorer.core.render import LatentState


def state_to_dict(state: LatentState) -> dict:
    return dataclasses.asdict(state)


def state_from_dict(data: dict) -> LatentState:
    def tuples(v):
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v

    names = {f.name for f in dataclasses.fields(LatentState)}
    return LatentState(**{k: tuples(v) for k, v in data.items() if k in names})


class History:
    """Undo/redo over LatentStates. Changes with the same `gesture` key in a row (one slider
    drag) collapse into one step, so undo goes back to before the drag, not one pixel."""

    def __init__(self, initial: LatentState, limit: int = 500):
        self.current = initial
        self._undo: list[LatentState] = []
        self._redo: list[LatentState] = []
        self._gesture = None
        self.limit = limit

    def push(self, state: LatentState, gesture: str | None = None):
        if state == self.current:
            return
        if gesture is None or gesture != self._gesture:
            self._undo.append(self.current)
            del self._undo[:-self.limit]
        self._gesture = gesture
        self.current = state
        self._redo.clear()

    def end_gesture(self):
        self._gesture = None

    def can_undo(self):
        return bool(self._undo)

    def can_redo(self):
        return bool(self._redo)

    def undo(self) -> LatentState:
        if self._undo:
            self._redo.append(self.current)
            self.current = self._undo.pop()
        self._gesture = None
        return self.current

    def redo(self) -> LatentState:
        if self._redo:
            self._undo.append(self.current)
            self.current = self._redo.pop()
        self._gesture = None
        return self.current

    def reset(self, state: LatentState):
        self.current = state
        self._undo.clear()
        self._redo.clear()
        self._gesture = None


def model_key(path: str | os.PathLike) -> str:
    """A stable name for a model file (path + size), for per-model data such as bookmarks."""
    p = Path(path).resolve()
    size = p.stat().st_size if p.exists() else 0
    return hashlib.sha1(f"{p}|{size}".encode()).hexdigest()[:16]


def default_data_dir() -> Path:
    base = os.environ.get("GAN_EXPLORER_DATA") or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gan_explorer"


class Bookmarks:
    """Bookmarks of one model, kept as JSON (state + PNG thumbnail) in the user's data folder."""

    def __init__(self, model_path, data_dir: str | os.PathLike | None = None):
        self.path = Path(data_dir or default_data_dir()) / "bookmarks" / f"{model_key(model_path)}.json"
        self.model_path = str(model_path)
        self.items: list[dict] = []
        if self.path.exists():
            try:
                self.items = json.loads(self.path.read_text()).get("bookmarks", [])
            except (ValueError, OSError):
                self.items = []  # a damaged file must not stop the app; it is rewritten on the next save

    def add(self, state: LatentState, name: str = "", thumbnail_png: bytes = b"") -> dict:
        item = {"name": name or f"seed {state.seed}", "created": time.time(), "state": state_to_dict(state),
                "thumbnail": base64.b64encode(thumbnail_png).decode() if thumbnail_png else ""}
        self.items.append(item)
        self._save()
        return item

    def remove(self, index: int):
        del self.items[index]
        self._save()

    def state(self, index: int) -> LatentState:
        return state_from_dict(self.items[index]["state"])

    def thumbnail(self, index: int) -> bytes:
        return base64.b64decode(self.items[index].get("thumbnail") or b"")

    def _save(self):
        atomic_write_text(self.path, json.dumps({"model": self.model_path, "bookmarks": self.items}))
