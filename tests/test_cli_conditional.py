"""`generate --class N` / `--condition glasses=1,smile=0.8` (and `mix`) on conditional models;
every mistake is one line."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.io.images import make_grid, to_uint8
from tests.conftest import TINY


def _new(tmp_path, name, family, **options):
    path = tmp_path / f"{name}.safetensors"
    args = ["new", "--family", family, "--out", str(path)]
    for key, value in {**TINY[family], **options}.items():
        args += ["--option", f"{key}={json.dumps(value)}"]
    assert main(args) == 0
    return path


@pytest.fixture
def class_model(tmp_path):
    return _new(tmp_path, "classes", "stylegan", c_dim=3, c_names=["cat", "dog", "fox"])


@pytest.fixture
def factor_model(tmp_path):
    return _new(tmp_path, "factors", "dcgan", c_dim=2, c_kind="factors", c_names=["glasses", "smile"])


def _expected(path, seeds, c):
    model = load_model(path)
    with torch.no_grad():
        images = to_uint8(model.generate(model.z_from_seeds(seeds), c=torch.tensor(c).expand(len(seeds), -1)))
    return make_grid(images) if len(seeds) > 1 else images[0]


def test_generate_class_by_index_and_name(class_model, tmp_path):
    by_index, by_name = tmp_path / "i.png", tmp_path / "n.png"
    assert main(["generate", str(class_model), "--class", "2", "--seeds", "0-7", "--out", str(by_index)]) == 0
    assert main(["generate", str(class_model), "--class", "fox", "--seeds", "0-7", "--out", str(by_name)]) == 0
    picture = np.asarray(Image.open(by_index))
    assert np.array_equal(picture, np.asarray(Image.open(by_name)))
    assert np.array_equal(picture, _expected(class_model, list(range(8)), [0.0, 0.0, 1.0]))
    default = tmp_path / "d.png"
    assert main(["generate", str(class_model), "--seeds", "0-7", "--out", str(default)]) == 0
    assert np.array_equal(np.asarray(Image.open(default)), _expected(class_model, list(range(8)), [1.0, 0.0, 0.0]))
    assert not np.array_equal(np.asarray(Image.open(default)), picture)
    metadata = json.loads(Image.open(by_name).text["gan_explorer"])
    assert metadata["condition"] == {"text": "fox", "c": [0.0, 0.0, 1.0]}


def test_generate_factor_condition(factor_model, tmp_path):
    out = tmp_path / "g.png"
    assert main(["generate", str(factor_model), "--condition", "glasses=1,smile=0.8", "--seeds", "3",
                 "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), _expected(factor_model, [3], [1.0, 0.8]))
    out_dir = tmp_path / "each"
    assert main(["generate", str(factor_model), "--condition", "glasses=1", "--seeds", "3,4",
                 "--out-dir", str(out_dir)]) == 0
    assert np.array_equal(np.asarray(Image.open(out_dir / "seed0003.png")), _expected(factor_model, [3], [1.0, 0.0]))


def test_info_names_the_condition(class_model, capsys):
    capsys.readouterr()
    assert main(["info", str(class_model)]) == 0
    assert "condition       class (3): cat, dog, fox" in capsys.readouterr().out


def test_mix_under_a_class(class_model, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["mix", str(class_model), "--rows", "1,2", "--cols", "3", "--class", "dog", "--out", str(a)]) == 0
    assert main(["mix", str(class_model), "--rows", "1,2", "--cols", "3", "--out", str(b)]) == 0
    assert not np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


@pytest.mark.parametrize("which, args, message", [
    ("class", ["--class", "3"], "classes 0 to 2"),
    ("class", ["--class", "cow"], "not a class of this model"),
    ("class", ["--condition", "glasses=1"], "not a class of this model"),
    ("class", ["--class", "1", "--condition", "dog"], "give one of them"),
    ("factor", ["--class", "1"], "conditioned on factors (glasses, smile)"),
    ("factor", ["--condition", "beard=1"], "not one of glasses, smile"),
    ("factor", ["--condition", "smile=big"], "not a number"),
    ("plain", ["--class", "1"], "not conditional"),
])
def test_condition_mistakes_are_one_line(class_model, factor_model, tmp_path, capsys, which, args, message):
    path = {"class": class_model, "factor": factor_model}.get(which) or _new(tmp_path, "plain", "dcgan")
    capsys.readouterr()
    assert main(["generate", str(path), "--seeds", "0", "--out", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x.png").exists()


def test_a_generated_picture_restores_its_class_in_the_explorer(class_model, tmp_path):
    from gan_explorer.core.explorer.provenance import read_picture_provenance

    out = tmp_path / "fox.png"
    assert main(["generate", str(class_model), "--class", "fox", "--seeds", "4", "--out", str(out)]) == 0
    state = read_picture_provenance(out).state
    assert state.seed == 4 and state.condition == (0.0, 0.0, 1.0)
    again = tmp_path / "again.png"
    assert main(["generate", str(class_model), "--latent", str(out), "--out", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(out)))
