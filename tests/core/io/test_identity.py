"""One model identity: the same bytes give the same identity and other bytes another; a model made
in memory is named by its weights; the stores find files an earlier version named by its own key."""

import dataclasses
import hashlib
import json

import pytest
import torch

from gan_explorer.core.explorer.bookmarks import Bookmarks
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.io import identity
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.io.identity import (
    file_identity, find_or_migrate, identity_key, memory_identity, model_identity,
)
from gan_explorer.core.io.models import open_model
from gan_explorer.core.models.registry import build_model
from tests.conftest import TINY


def tiny_stylegan():
    return build_model("stylegan", **TINY["stylegan"]).eval()


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "tiny.safetensors"
    save_model(tiny_stylegan(), path)
    return path


def test_the_same_bytes_the_same_identity_other_bytes_another(tmp_path):
    a, b, c = tmp_path / "a.pkl", tmp_path / "b.bin", tmp_path / "c.pkl"
    a.write_bytes(b"model bytes" * 1000)
    b.write_bytes(b"model bytes" * 1000)  # a copy under another name
    c.write_bytes(b"model bytes" * 999 + b"model byteS")
    assert file_identity(a) == file_identity(b) == hashlib.sha256(a.read_bytes()).hexdigest()
    assert file_identity(c) != file_identity(a)
    assert file_identity(a, chunk=7) == file_identity(a)


def test_a_model_opened_from_a_file_is_that_file(model_file, tmp_path):
    model = open_model(model_file)
    assert model_identity(model, model_file) == file_identity(model_file)
    # remembered: the stores that see only the model (encoder, graph cache) name it the same
    assert model_identity(model) == file_identity(model_file)
    # the same weights made in memory are named by their tensors, not by the file
    again = tiny_stylegan()
    again.load_state_dict(model.state_dict())
    assert model_identity(again) == memory_identity(again) == memory_identity(model)
    assert model_identity(again) != file_identity(model_file)
    # a path that is not a file (a built-in name) is no identity
    assert model_identity(again, tmp_path / "missing.pkl") == memory_identity(again)
    # another file: another identity, remembered in its place
    other = tmp_path / "other.safetensors"
    save_model(tiny_stylegan(), other)
    assert model_identity(model, other) == file_identity(other) != file_identity(model_file)
    assert model_identity(model) == file_identity(other)


def test_memory_identity_follows_the_weights_and_the_config():
    """A family's config grows fields over time (c_dim came after the demo was trained); at their
    defaults they leave a model's identity as it was. Any real difference (weights, a config value
    off its default) changes it."""
    torch.manual_seed(0)
    model = tiny_stylegan()
    before = memory_identity(model)
    twin = tiny_stylegan()
    twin.load_state_dict(model.state_dict())
    assert memory_identity(twin) == before

    @dataclasses.dataclass(frozen=True)
    class GrownConfig(type(model.config)):
        future_option: int = 0  # a field a later version adds, at the default that keeps old models as they were

    original = model.config
    try:
        model.config = GrownConfig(**dataclasses.asdict(original))
        assert memory_identity(model) == before
        model.config = GrownConfig(**dataclasses.asdict(original), future_option=1)
        assert memory_identity(model) != before
        model.config = dataclasses.replace(original, w_avg_beta=0.9)
        assert memory_identity(model) != before
    finally:
        model.config = original
    with torch.no_grad():
        model.mapping.w_avg.add_(1e-3)
    assert memory_identity(model) != before
    assert memory_identity(model, known=before) == before  # what the caller said it knew, unhashed


def test_identity_key_is_32_hex_digits():
    assert identity_key("AB" * 32) == "ab" * 16
    for bad in ("", "ab" * 8, "zz" * 32, "../" * 20):
        with pytest.raises(ValueError):
            identity_key(bad)


def test_find_or_migrate_moves_an_old_file_or_folder(tmp_path, monkeypatch):
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    assert find_or_migrate(new, [old]) is None
    old.write_text("kept")
    assert find_or_migrate(new, [tmp_path / "older.json", old]) == new
    assert new.read_text() == "kept" and not old.exists()
    old.write_text("stale")
    assert find_or_migrate(new, [old]) == new and old.read_text() == "stale"  # the new name wins
    folder, old_folder = tmp_path / "graphs-new", tmp_path / "graphs-old"
    old_folder.mkdir()
    (old_folder / "graph.json").write_text("{}")
    assert find_or_migrate(folder, iter([old_folder])) == folder and (folder / "graph.json").is_file()
    assert not old_folder.exists()
    # where it cannot be moved (a read-only folder), the old file is read where it is

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(identity.shutil, "copyfile", refuse)
    stuck = tmp_path / "stuck.json"
    stuck.write_text("here")
    assert find_or_migrate(tmp_path / "moved.json", [stuck]) == stuck and stuck.read_text() == "here"
    assert not (tmp_path / "moved.json").exists() and not list(tmp_path.glob(".moved.json.*"))


def test_legacy_names_are_only_looked_at_when_the_new_name_is_missing(tmp_path):
    (tmp_path / "new").write_text("")

    def legacy():
        raise AssertionError("the old names were computed although the file is there")
        yield

    assert find_or_migrate(tmp_path / "new", legacy()) == tmp_path / "new"


def _old_bookmarks(path, state):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": "x", "bookmarks": [
        {"name": "old one", "created": 0, "state": {"seed": state.seed, "truncation_psi": state.truncation_psi},
         "thumbnail": ""}]}))


def test_bookmarks_under_the_old_content_hash_name_are_found_and_moved(model_file, tmp_path):
    data = tmp_path / "data"
    content = file_identity(model_file)
    old = data / "bookmarks" / f"{content[:16]}.json"
    _old_bookmarks(old, LatentState(seed=7, truncation_psi=0.5))
    marks = Bookmarks(model_file, data, model_identity(open_model(model_file), model_file))
    assert [marks.name(0)] == ["old one"] and marks.state(0) == LatentState(seed=7, truncation_psi=0.5)
    assert marks.path == data / "bookmarks" / f"{identity_key(content)}.json" and not old.exists()
    marks.add(LatentState(seed=8))
    assert len(Bookmarks(model_file, data, content).items) == 2


def test_bookmarks_under_the_old_path_and_size_name_are_found(model_file, tmp_path):
    data = tmp_path / "data"
    resolved = model_file.resolve()
    key = hashlib.sha1(f"{resolved}|{resolved.stat().st_size}".encode()).hexdigest()[:16]
    _old_bookmarks(data / "bookmarks" / f"{key}.json", LatentState(seed=3))
    marks = Bookmarks(model_file, data, file_identity(model_file))
    assert marks.state(0).seed == 3 and marks.path.name == f"{identity_key(file_identity(model_file))}.json"
    # a model made in memory, with no identity given, keeps the name it always had
    assert Bookmarks(tmp_path / "made-in-memory", data).path.name == \
        hashlib.sha1(f"{(tmp_path / 'made-in-memory').resolve()}|0".encode()).hexdigest()[:16] + ".json"
