import json

import numpy as np
import pytest

from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.latent.breeding import blend, children, genes
from gan_explorer.core.latent.library import DirectionLibrary, difference_direction, make_direction

RNG = np.random.default_rng(0)
PARENT = RNG.standard_normal((10, 8)).astype(np.float32)
STD = np.linspace(0.5, 2.0, 8).astype(np.float32)


def test_children_differ_from_the_parent_and_each_other_and_repeat_for_a_seed():
    kids = children(PARENT, 9, 0.5, STD, seed=3)
    assert len(kids) == 9
    assert all(not np.allclose(k, PARENT) for k in kids)
    assert len({k.tobytes() for k in kids}) == 9
    again = children(PARENT, 9, 0.5, STD, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(kids, again))
    assert not np.array_equal(children(PARENT, 1, 0.5, STD, seed=4)[0], kids[0])


def test_children_move_only_the_chosen_layers_together_in_w_and_apart_in_w_plus():
    (w_kid,) = children(PARENT, 1, 1.0, STD, layers=(0, 3), space="w", seed=1)
    (wp_kid,) = children(PARENT, 1, 1.0, STD, layers=(0, 3), space="w+", seed=1)
    assert np.array_equal(w_kid[4:], PARENT[4:]) and np.array_equal(wp_kid[4:], PARENT[4:])
    steps = w_kid[:4] - PARENT[:4]
    assert np.allclose(steps, steps[0])  # one step shared by the layers
    assert not np.allclose(wp_kid[1] - PARENT[1], wp_kid[0] - PARENT[0])
    many = np.stack([k - PARENT for k in children(PARENT, 400, 1.0, STD, layers=(0, 0), seed=2)])[:, 0]
    assert np.allclose(many.std(0) / STD, 1.0, atol=0.15)  # steps scale with the spread of w


def test_crossbreed_weights_one_zero_is_parent_a_and_genes_take_layers():
    other = RNG.standard_normal((10, 8)).astype(np.float32)
    assert np.allclose(blend([PARENT, other], [1.0, 0.0]), PARENT)
    assert np.allclose(blend([PARENT, other], [1.0, 1.0]), (PARENT + other) / 2, atol=1e-6)
    mixed = genes([PARENT, other], [0] * 4 + [1] * 6)
    assert np.array_equal(mixed[:4], PARENT[:4]) and np.array_equal(mixed[4:], other[4:])
    with pytest.raises(ConfigError):
        blend([PARENT, other], [0.0, 0.0])
    with pytest.raises(ConfigError):
        children(PARENT, 2, float("nan"))


def test_a_library_direction_survives_a_restart(tmp_path):
    lib = DirectionLibrary("ab" * 32, 8, tmp_path)
    lib.add(make_direction("smile", RNG.standard_normal(8), 0.7, (2, 5), 1.5, "pca 3"))
    again = DirectionLibrary("ab" * 32, 8, tmp_path)
    d = again.get("smile")
    assert d is not None and d.layers(10) == (2, 5) and d.sigma == pytest.approx(0.7)
    assert np.linalg.norm(d.as_array()) == pytest.approx(1.0, abs=1e-6)
    assert DirectionLibrary("cd" * 32, 8, tmp_path).names() == []  # keyed by the model's content


def test_library_export_import_and_refusals(tmp_path):
    lib = DirectionLibrary("ab" * 32, 8, tmp_path)
    lib.add(make_direction("age", np.ones(8)))
    exported = lib.export(tmp_path / "mine.json")
    other = DirectionLibrary("ef" * 32, 8, tmp_path)
    assert other.import_file(exported) == ["age"] and other.names() == ["age"]
    narrow = DirectionLibrary("12" * 32, 4, tmp_path)
    with pytest.raises(GanExplorerError, match="dimensions"):
        narrow.import_file(exported)
    (tmp_path / "junk.json").write_text(json.dumps({"directions": [{"name": "x", "vector": [0, 0]}]}))
    with pytest.raises(GanExplorerError, match="junk.json"):
        other.import_file(tmp_path / "junk.json")


def test_a_damaged_library_is_kept_aside(tmp_path):
    lib = DirectionLibrary("ab" * 32, 8, tmp_path)
    lib.path.parent.mkdir(parents=True, exist_ok=True)
    lib.path.write_text("{broken")
    again = DirectionLibrary("ab" * 32, 8, tmp_path)
    assert again.names() == [] and "damaged" in again.warning
    assert list(lib.path.parent.glob("*.damaged-*.json"))[0].read_text() == "{broken"


def test_difference_direction_points_from_a_to_b():
    a, b = np.zeros((3, 8)), np.zeros((3, 8))
    b[:, 2] = 4.0
    unit, sigma = difference_direction(a, b, STD)
    assert np.allclose(unit, np.eye(8)[2]) and sigma == pytest.approx(STD[2])
    with pytest.raises(ConfigError):
        difference_direction(a, a)


def test_a_library_written_under_its_old_name_is_found(tmp_path):
    """Earlier versions named a model file's library by the first 32 hex digits of the file's
    sha256: the identity of a model file, so the same name is found."""
    from gan_explorer.core.io.identity import file_identity

    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(b"a model")
    content = file_identity(model_file)
    old = tmp_path / "directions" / f"{content[:32]}.json"
    old.parent.mkdir()
    old.write_text(json.dumps({"format": "gan_explorer direction library 1", "model_sha256": content, "w_dim": 8,
                               "directions": [{"name": "smile", "vector": [1.0] + [0.0] * 7, "sigma": 0.5}]}))
    assert DirectionLibrary(content, 8, tmp_path).names() == ["smile"]
