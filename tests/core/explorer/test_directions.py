"""DirectionsModel: found directions (PCA / SeFa) and the model's named library. A direction's value
is an edit of the latent state, so undo, reset and a replaced latent all apply to it."""

import json

import numpy as np
import pytest

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState
from tests.core.explorer.conftest import Recorder, rendered_ws, tiny_model


def test_find_directions_gives_unit_vectors_and_names(opened):
    explorer, model = opened
    found = Recorder(explorer.directions.events, "found")
    handle = explorer.directions.find("pca", count=5)
    assert handle.ok and explorer.directions.finding is None
    d = explorer.directions.found
    assert d.method == "pca" and d.directions.shape == (5, model.w_dim) and d.sigma.shape == (5,)
    np.testing.assert_allclose(np.linalg.norm(d.directions, axis=1), 1.0, atol=1e-5)
    assert d.names == ["PC 0", "PC 1", "PC 2", "PC 3", "PC 4"]
    assert found.of("found") == [d]


def test_a_direction_value_is_an_edit_in_sigma_that_renders_and_undoes(opened):
    explorer, model = opened
    directions, latent = explorer.directions, explorer.latent
    directions.find("sefa", count=3)
    d = directions.found
    directions.set_value(1, 2.0, (0, model.num_ws - 1))
    latent.end_gesture()
    (offset,) = latent.state.w_offsets
    assert offset.key == "d:1" and offset.amount == pytest.approx(2.0 * float(d.sigma[1]))
    assert directions.values() == {1: pytest.approx(2.0)}
    assert [e.label for e in latent.edits()] == ["direction 1"]
    base = rendered_ws(model, latent.state.with_changes(w_offsets=()))
    shown = explorer.viewer.last_result.ws
    np.testing.assert_allclose(shown - base, np.broadcast_to(2.0 * d.sigma[1] * d.directions[1], shown.shape),
                               atol=1e-5)
    latent.undo()
    assert directions.values() == {} and latent.edits() == []


def test_a_new_search_clears_the_old_indices_and_a_bad_method_is_one_line(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    explorer.directions.find("pca", count=3)
    explorer.directions.set_value(0, 1.0, (0, 5))
    explorer.directions.find("sefa", count=3)
    assert explorer.latent.edits() == []  # "direction 0" means another direction now
    assert explorer.directions.found.names[0] == "SeFa 0"
    found = explorer.directions.found
    handle = explorer.directions.find("ica")
    assert not handle.ok and "'ica'" in handle.error and "\n" not in handle.error
    assert explorer.directions.found is found  # a failed search keeps what was found
    assert messages.of("message") == [handle.error]


def test_the_library_keeps_named_directions_per_model_across_sessions(opened, tmp_path):
    explorer, model = opened
    library_changed = Recorder(explorer.directions.events, "library_changed")
    explorer.directions.find("pca", count=3)
    saved = explorer.directions.save_found(2, "smile", (1, 4), strength=1.5)
    assert saved.name == "smile" and saved.source == "pca 2"
    assert explorer.directions.library.names() == ["smile"] and library_changed.of("library_changed")
    explorer.directions.set_library_value("smile", 1.0)
    (offset,) = explorer.latent.state.w_offsets
    assert (offset.key, offset.layer_start, offset.layer_end) == ("lib:smile", 1, 4)
    assert explorer.directions.library_values() == {"smile": pytest.approx(1.0)}
    # Another session on the same model (same tensors: the same identity) finds it again.
    again = Explorer(ExplorerSession(sync=True), data_dir=tmp_path / "data")
    again.viewer.use_model(tiny_model())
    assert again.directions.library.names() == ["smile"]
    np.testing.assert_allclose(again.directions.library.get("smile").as_array(),
                               explorer.directions.found.directions[2], atol=1e-6)
    other = Explorer(ExplorerSession(sync=True), data_dir=tmp_path / "data")
    other.viewer.use_model(tiny_model(seed=5))  # other weights: another model, another library
    assert other.directions.library.names() == []


def test_removing_a_library_direction_removes_its_edit(opened):
    explorer, _ = opened
    explorer.directions.save("up", np.ones(32), 0.5, (0, -1))
    explorer.directions.set_library_value("up", 2.0)
    assert [e.key for e in explorer.latent.edits()] == ["lib:up"]
    explorer.directions.remove("up")
    assert explorer.latent.edits() == [] and explorer.directions.library.names() == []


def test_a_direction_between_two_latents(opened):
    explorer, model = opened
    a, b = LatentState(seed=1), LatentState(seed=2)
    handle = explorer.directions.save_between(a, b, "one to two")
    assert handle.ok
    direction = explorer.directions.library.get("one to two")
    expected = rendered_ws(model, b).mean(0) - rendered_ws(model, a).mean(0)
    np.testing.assert_allclose(direction.as_array(), expected / np.linalg.norm(expected), atol=1e-5)
    assert direction.source == "bookmarks A → B"
    messages = Recorder(explorer.viewer.events, "message")
    explorer.directions.save_between(a, a, "nothing")
    assert explorer.directions.library.get("nothing") is None
    assert any("same" in m for m in messages.of("message"))


def test_library_export_and_import(opened, tmp_path):
    explorer, _ = opened
    explorer.directions.save("left", np.eye(32)[0], 1.0, (0, -1))
    explorer.directions.save("right", np.eye(32)[1], 1.0, (0, -1))
    path = tmp_path / "mine.json"
    explorer.directions.export_file(path)
    assert json.loads(path.read_text())["w_dim"] == 32
    explorer.directions.remove("left")
    explorer.directions.remove("right")
    assert explorer.directions.import_file(path) == ["left", "right"]
    assert explorer.directions.library.names() == ["left", "right"]
    messages = Recorder(explorer.viewer.events, "message")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert explorer.directions.import_file(bad) == []
    (message,) = messages.of("message")
    assert "bad.json" in message and "\n" not in message


def test_found_directions_of_a_previous_model_are_dropped(opened):
    explorer, _ = opened
    explorer.directions.find("pca", count=3)
    explorer.viewer.use_model(tiny_model("dcgan"))
    assert explorer.directions.found is None and explorer.directions.num_ws == 1
    assert explorer.directions.library is not None  # every latent model has a library (issue #25)
    handle = explorer.directions.find("pca", count=3)  # directions work without a mapping network
    assert handle.ok and explorer.directions.found.directions.shape == (3, 16)


def test_a_translation_model_has_no_library(explorer):
    messages = Recorder(explorer.viewer.events, "message")
    explorer.viewer.use_model(tiny_model("cyclegan"))
    assert explorer.directions.library is None
    assert explorer.directions.save("x", np.ones(4), 1.0, (0, -1)) is None
    assert messages.of("message") == ["This model has no file to key a direction library by"]
