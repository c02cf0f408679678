"""The bookmarks store (core/explorer/bookmarks.py) and BookmarksModel never lose a bookmark without
a word (issue #26): a write that fails is one message and the bookmark stays for the next change to
save; one damaged thumbnail costs only that thumbnail."""

import base64
import json
import os

import pytest

from gan_explorer.core.errors import OutputError
from gan_explorer.core.explorer.bookmarks import Bookmarks
from gan_explorer.core.explorer.collections import BookmarksModel
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.requests import ModelInfo
from gan_explorer.core.explorer.state import LatentState
from tests.conftest import PRECIOUS

IDENTITY = "cd" * 32
MODEL = "/models/m.safetensors"


class _Viewer:
    def __init__(self):
        self.events = EventGroup("model_opened")


class _Latent:
    state = LatentState(seed=7)


def _opened(data_dir):
    model = BookmarksModel(_Viewer(), _Latent(), data_dir)
    messages = []
    model.events.message.connect(messages.append)
    model._model_opened(ModelInfo(token=1, path=MODEL, family="stylegan", img_resolution=16, img_channels=3,
                                  parameters=1, capabilities={}, provenance={}, config={}, content_hash=IDENTITY))
    return model, messages


def _saved_names(data_dir):
    store = Bookmarks(MODEL, data_dir, IDENTITY)
    return [store.name(i) for i in range(len(store.items))]


def _link(path, users_file):
    path.unlink()
    os.symlink(users_file, path)


def _folder_unwritable(path, _):
    """As root ignores permissions, the folder becomes a file (mkstemp there fails)."""
    saved = path.read_bytes()
    path.unlink()
    path.parent.rmdir()
    path.parent.write_bytes(saved)


def _restore(path, how):
    if how is _link:
        path.unlink()
    else:
        saved = path.parent.read_bytes()
        path.parent.unlink()
        path.parent.mkdir()
        path.write_bytes(saved)


@pytest.mark.parametrize("damage", [_link, _folder_unwritable], ids=["file-a-link", "folder-unwritable"])
def test_a_failed_write_is_one_message_and_the_bookmark_is_kept_for_the_next_change(tmp_path, users_file, damage):
    model, messages = _opened(tmp_path / "data")
    model.add("first")
    path = model.store.path
    damage(path, users_file)
    changed = []
    model.events.changed.connect(changed.append)
    model.add("second")  # raised out of the slot before: no message, and gone after a restart
    model.rename(0, "first renamed")
    assert [model.name(i) for i in range(len(model))] == ["first renamed", "second"] and len(changed) == 2
    assert len(messages) == 2 and all("\n" not in m and "Bookmarks not saved" in m and str(path) in m
                                      for m in messages)
    assert users_file.read_bytes() == PRECIOUS
    _restore(path, damage)
    model.add("third")  # the next change saves every bookmark kept meanwhile
    assert _saved_names(tmp_path / "data") == ["first renamed", "second", "third"]


def test_remove_and_move_that_cannot_be_saved_say_so(tmp_path, users_file):
    model, messages = _opened(tmp_path / "data")
    model.add("a")
    model.add("b")
    _link(model.store.path, users_file)
    model.move(1, 0)
    model.remove(1)
    assert [model.name(i) for i in range(len(model))] == ["b"] and len(messages) == 2


def test_a_damaged_file_that_cannot_be_set_aside_is_never_overwritten_and_says_so(tmp_path, monkeypatch):
    first, _ = _opened(tmp_path / "data")
    first.add("old")
    path = first.store.path
    path.write_text("{damaged")
    with monkeypatch.context() as patch:  # a read-only folder (root ignores permissions)
        patch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
        model, messages = _opened(tmp_path / "data")
    assert "damaged" in messages[0] and len(model) == 0
    model.add("new")  # raised a plain OSError before
    assert len(model) == 1 and "could not be moved aside" in messages[-1] and "\n" not in messages[-1]
    assert path.read_text() == "{damaged"
    with pytest.raises(OutputError):
        model.store.add(LatentState(seed=1))  # the store itself: one OutputError line


@pytest.mark.parametrize("bad", ["not*base64!", "abc", 12, ["x"]])
def test_one_damaged_thumbnail_costs_only_that_thumbnail(tmp_path, bad):
    model, _ = _opened(tmp_path / "data")
    model.add("good", b"\x89PNG one")
    model.add("bad", b"\x89PNG two")
    model.add("also good", b"")
    data = json.loads(model.store.path.read_text())
    data["bookmarks"][1]["thumbnail"] = bad
    model.store.path.write_text(json.dumps(data))
    again, messages = _opened(tmp_path / "data")
    shown = [(again.name(i), again.thumbnail(i), again.state(i).seed) for i in range(len(again))]
    assert shown == [("good", b"\x89PNG one", 7), ("bad", b"", 7), ("also good", b"", 7)]
    assert len(messages) == 1 and "1 bookmark thumbnail" in messages[0] and "\n" not in messages[0]
    assert base64.b64decode(json.loads(again.store.path.read_text())["bookmarks"][0]["thumbnail"]) == b"\x89PNG one"


def test_one_damaged_bookmark_costs_only_itself_and_the_file_is_kept_aside(tmp_path):
    """One bookmark with a state the validator refuses used to set the whole file aside (all gone)."""
    store = Bookmarks(MODEL, tmp_path, IDENTITY)
    for seed in (1, 2, 3):
        store.add(LatentState(seed=seed), f"b{seed}")
    data = json.loads(store.path.read_text())
    data["bookmarks"][1]["state"]["truncation_psi"] = "lots"
    store.path.write_text(json.dumps(data))
    original = store.path.read_bytes()
    again = Bookmarks(MODEL, tmp_path, IDENTITY)
    assert [again.name(i) for i in range(len(again.items))] == ["b1", "b3"]
    assert "1 damaged bookmark" in again.warning
    (aside,) = store.path.parent.glob("*.damaged-*.json")
    assert aside.read_bytes() == original  # the damaged entry can still be recovered by hand
    again.add(LatentState(seed=4), "b4")
    assert [b["name"] for b in json.loads(store.path.read_text())["bookmarks"]] == ["b1", "b3", "b4"]
