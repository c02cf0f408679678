"""Bookmarks of one model, kept as JSON (state + PNG thumbnail) in the user's data folder.

The file is named by the model's identity (core/io/identity.py); a file an earlier version named
by its own key is found and moved to the new name.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from pathlib import Path

from gan_explorer.core.paths import default_data_dir
from gan_explorer.core.explorer.state import LatentState, state_from_dict, state_to_dict
from gan_explorer.core.io.atomic import atomic_write_text
from gan_explorer.core.io.identity import find_or_migrate, identity_key, legacy_bookmark_keys

log = logging.getLogger("gan_explorer.bookmarks")


def model_key(path: str | os.PathLike, content_hash: str = "") -> str:
    """The name of a model's bookmarks file: its identity's key; with no identity given, the key
    earlier versions derived from the path and the file's size."""
    if content_hash:
        return identity_key(content_hash)
    return legacy_bookmark_keys(path)[-1]


class Bookmarks:
    """A list of named latent states with thumbnails. A damaged file is never overwritten: it is
    renamed aside (`*.damaged-<time>.json`) and `warning` says so, for the window to show."""

    def __init__(self, model_path, data_dir: str | os.PathLike | None = None, content_hash: str = ""):
        """`content_hash`: the model's identity (core/io/identity.model_identity)."""
        folder = Path(data_dir or default_data_dir()) / "bookmarks"
        path = folder / f"{model_key(model_path, content_hash)}.json"
        legacy = (folder / f"{key}.json" for key in legacy_bookmark_keys(model_path, content_hash))
        self.path = find_or_migrate(path, legacy) or path
        self.model_path = str(model_path)
        self.items: list[dict] = []
        self.warning = ""
        if self.path.exists():
            self._load()

    def _load(self):
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            items = data["bookmarks"]
            if not isinstance(items, list):
                raise ValueError("'bookmarks' is not a list")
            for item in items:
                state_from_dict(item["state"])
                str(item["name"])
            self.items = items
        except (ValueError, KeyError, TypeError, OSError, UnicodeDecodeError) as exc:
            aside = self.path.with_name(f"{self.path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
            try:
                os.replace(self.path, aside)
                kept = f"kept as {aside}"
            except OSError as move_error:
                kept = f"could not be moved aside ({move_error}); it is left as it is"
                self._read_only = True
            self.warning = f"The bookmarks file {self.path} is damaged ({exc}); {kept}. Starting with none."
            log.warning(self.warning)
            self.items = []

    def add(self, state: LatentState, name: str = "", thumbnail_png: bytes = b"") -> dict:
        item = {"name": name or f"seed {state.seed}", "created": time.time(), "state": state_to_dict(state),
                "thumbnail": base64.b64encode(thumbnail_png).decode() if thumbnail_png else ""}
        self.items.append(item)
        self._save()
        return item

    def remove(self, index: int):
        del self.items[index]
        self._save()

    def rename(self, index: int, name: str):
        self.items[index]["name"] = str(name).strip() or self.items[index]["name"]
        self._save()

    def move(self, source: int, target: int):
        """Move bookmark `source` to position `target` (drag to reorder)."""
        item = self.items.pop(source)
        self.items.insert(max(0, min(target, len(self.items))), item)
        self._save()

    def name(self, index: int) -> str:
        return str(self.items[index]["name"])

    def state(self, index: int) -> LatentState:
        return state_from_dict(self.items[index]["state"])

    def thumbnail(self, index: int) -> bytes:
        return base64.b64decode(self.items[index].get("thumbnail") or b"")

    def _save(self):
        if getattr(self, "_read_only", False):
            raise OSError(f"{self.path}: the damaged bookmarks file could not be moved aside; not overwriting it")
        atomic_write_text(self.path, json.dumps({"model": self.model_path, "bookmarks": self.items}))
