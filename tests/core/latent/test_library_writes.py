"""The direction library (core/latent/library.py) and DirectionsModel never lose a direction without a
word (issue #26): a library that cannot be saved is one message, what changed stays in the list for
the next change to save, and the user's file behind a link keeps its bytes."""

import os

import numpy as np

from gan_explorer.core.explorer.directions import DirectionsModel
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.requests import ModelInfo
from gan_explorer.core.latent.library import DirectionLibrary
from tests.conftest import PRECIOUS

IDENTITY = "ab" * 32


class _Viewer:
    def __init__(self):
        self.events = EventGroup("model_opened")


class _Latent:
    def clear_offsets(self, prefix):
        pass


def _opened(data_dir):
    model = DirectionsModel(_Viewer(), _Latent(), data_dir)
    seen = {"message": [], "library_changed": []}
    model.events.message.connect(seen["message"].append)
    model.events.library_changed.connect(seen["library_changed"].append)
    model._model_opened(ModelInfo(token=1, path="/m.safetensors", family="stylegan", img_resolution=16,
                                  img_channels=3, parameters=1, capabilities={}, provenance={}, config={},
                                  content_hash=IDENTITY, w_dim=4, num_ws=4))
    return model, seen


def _saved(data_dir):
    return DirectionLibrary(IDENTITY, 4, data_dir).names()


def _unwritable(path):
    """As root ignores permissions, the folder becomes a file (mkstemp there fails)."""
    saved = path.read_bytes()
    path.unlink()
    path.parent.rmdir()
    path.parent.write_bytes(saved)


def _writable(path):
    saved = path.parent.read_bytes()
    path.parent.unlink()
    path.parent.mkdir()
    path.write_bytes(saved)


def test_a_remove_that_cannot_be_saved_is_one_message(tmp_path):
    model, seen = _opened(tmp_path / "data")
    model.save("one", np.ones(4), 1.0, (0, -1))
    model.save("two", np.arange(4) + 1.0, 1.0, (0, -1))
    _unwritable(model.library.path)
    model.remove("one")  # raised out of the slot before
    assert model.library.names() == ["two"] and seen["library_changed"][-1] is model.library
    assert "Direction library not saved" in seen["message"][-1] and "\n" not in seen["message"][-1]
    _writable(model.library.path)
    model.save("three", -np.ones(4), 1.0, (0, -1))  # the next change saves what was kept
    assert _saved(tmp_path / "data") == ["two", "three"]


def test_a_saved_direction_behind_a_linked_file_shows_and_is_saved_by_the_next_change(tmp_path, users_file):
    model, seen = _opened(tmp_path / "data")
    model.save("one", np.ones(4), 1.0, (0, -1))
    model.library.path.unlink()
    os.symlink(users_file, model.library.path)
    shown = len(seen["library_changed"])
    assert model.save("two", np.arange(4) + 1.0, 1.0, (0, -1)) is None
    assert len(seen["library_changed"]) == shown + 1 and model.library.names() == ["one", "two"]
    assert "symbolic link" in seen["message"][-1] and users_file.read_bytes() == PRECIOUS
    model.library.path.unlink()
    model.save("three", -np.ones(4), 1.0, (0, -1))
    assert _saved(tmp_path / "data") == ["one", "two", "three"]


def test_an_import_that_cannot_be_saved_still_lists_what_it_added(tmp_path):
    source, _ = _opened(tmp_path / "a")
    source.save("one", np.ones(4), 1.0, (0, -1))
    source.export_file(tmp_path / "exported.json")
    model, seen = _opened(tmp_path / "b")
    model.save("mine", -np.ones(4), 1.0, (0, -1))
    _unwritable(model.library.path)
    assert model.import_file(tmp_path / "exported.json") == []
    assert model.library.names() == ["mine", "one"] and seen["library_changed"][-1] is model.library
    assert "Direction library not saved" in seen["message"][-1]


def test_export_to_a_folder_or_a_link_is_one_message(tmp_path, users_file):
    model, seen = _opened(tmp_path / "data")
    model.save("one", np.ones(4), 1.0, (0, -1))
    (tmp_path / "folder").mkdir()
    os.symlink(users_file, tmp_path / "link.json")
    for target, said in ((tmp_path / "folder", "is a directory"), (tmp_path / "link.json", "symbolic link")):
        model.export_file(target)
        assert said in seen["message"][-1] and "Exported" not in seen["message"][-1]
    assert users_file.read_bytes() == PRECIOUS
