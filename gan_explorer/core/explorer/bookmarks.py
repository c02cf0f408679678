"""Bookmarks of one model, kept as JSON (state + PNG thumbnail) in the user's data folder.

The file is named by the model's identity (core/io/identity.py); a file an earlier version named
by its own key is found and moved to the new name.

A write that fails (the file a link, a read-only or missing folder, a full disk) is one
OutputError line naming the file and the reason; the bookmarks stay in memory as they are, so the
next change saves them all. A bookmark whose thumbnail is damaged keeps its state and name and
loses only the thumbnail (`warning` says how many), instead of emptying the panel.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from pathlib import Path

from gan_explorer.core.errors import GanExplorerError, OutputError, escape_text
from gan_explorer.core.paths import default_data_dir
from gan_explorer.core.explorer.state import LatentState, state_from_dict, state_to_dict
from gan_explorer.core.io.atomic import atomic_write_bytes, atomic_write_text
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
            self.items = [item for item in items if _valid(item)]
            self._drop_damaged_thumbnails()
            if len(self.items) < len(items):
                self._keep_aside_copy(len(items) - len(self.items))
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

    def _keep_aside_copy(self, damaged: int):
        """Some bookmarks are damaged: the good ones are used, and the file as it was is copied aside
        first, so the next save loses nothing that could still be recovered by hand."""
        aside = self.path.with_name(f"{self.path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
        try:
            atomic_write_bytes(aside, self.path.read_bytes())
            kept = f"the file as it was is kept as {escape_text(str(aside), 300)}"
        except (OSError, GanExplorerError) as exc:
            kept = f"the file could not be copied aside ({escape_text(str(exc), 200)}); it is not overwritten"
            self._read_only = True
        note = f"{damaged} damaged bookmark(s) in {escape_text(str(self.path), 300)} are left out; {kept}"
        self.warning = f"{self.warning}; {note}" if self.warning else note
        log.warning(note)

    def _drop_damaged_thumbnails(self):
        """A thumbnail that is not base64 text is dropped (its bookmark stays), said once."""
        damaged = 0
        for item in self.items:
            thumbnail = item.get("thumbnail") or ""
            try:
                if not isinstance(thumbnail, str):
                    raise TypeError
                base64.b64decode(thumbnail, validate=True)
            except (TypeError, ValueError, binascii.Error):
                item["thumbnail"] = ""
                damaged += 1
        if damaged:
            self.warning = (f"{damaged} bookmark thumbnail(s) in {escape_text(str(self.path), 300)} were damaged and "
                            f"are left out; the bookmarks themselves are kept")
            log.warning(self.warning)

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
        try:
            return base64.b64decode(self.items[index].get("thumbnail") or b"", validate=True)
        except (TypeError, ValueError, binascii.Error):  # set after loading: never empties the panel
            return b""

    def _save(self):
        """Write every bookmark; OutputError (one line) where it cannot, the items kept as they are."""
        shown = escape_text(str(self.path), 300)
        if getattr(self, "_read_only", False):
            raise OutputError(f"{shown}: the damaged bookmarks file could not be moved aside; not overwriting it "
                              f"(move it away: the bookmarks of this session are kept until then)")
        try:
            atomic_write_text(self.path, json.dumps({"model": self.model_path, "bookmarks": self.items}))
        except (GanExplorerError, OSError) as exc:
            raise OutputError(f"Bookmarks not saved: {escape_text(str(exc), 400)}; they are kept in this session "
                              f"and saved with the next change") from None


def _valid(item) -> bool:
    """One bookmark entry: a JSON object with a name and a state the validator accepts."""
    try:
        state_from_dict(item["state"])
        str(item["name"])
        return isinstance(item, dict)
    except (ValueError, KeyError, TypeError, GanExplorerError):
        return False
