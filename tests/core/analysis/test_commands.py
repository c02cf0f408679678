"""The headless `map` and `probe` commands."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.models import build_model
from tests.conftest import TINY


def _saved(tmp_path, family):
    torch.manual_seed(0)
    model = build_model(family, **TINY[family]).eval()
    path = tmp_path / f"{family}.safetensors"
    save_model(model, path)
    return path


def test_map_writes_the_figure_and_the_points(tmp_path, capsys):
    path = _saved(tmp_path, "stylegan")
    out, points = tmp_path / "map.png", tmp_path / "map.json"
    assert main(["map", str(path), "--num", "30", "--out", str(out), "--json", str(points), "--mark", "3",
                 "--size", "300", "--no-progress"]) == 0
    assert "30 latents in w by pca" in capsys.readouterr().out
    image = np.asarray(Image.open(out))
    assert image.shape == (344, 300, 3)
    data = json.loads(points.read_text())
    assert len(data["points"]) == 30 and data["seeds"][:3] == [0, 1, 2] and data["space"] == "w"


def test_map_of_a_vae_coloured_by_a_true_factor(tmp_path, capsys):
    path = _saved(tmp_path, "vae")
    out = tmp_path / "map.png"
    assert main(["map", str(path), "--num", "20", "--color-by", "skin_tone", "--out", str(out),
                 "--no-progress"]) == 0
    assert "coloured by skin_tone (true factors of the data)" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--method", "umap"], "needs umap-learn"),
    (["--space", "w"], "--space w: the dcgan family offers z"),
    (["--num", "2"], "--num 2: a map needs at least 3 points"),
])
def test_map_bad_input_is_one_line(tmp_path, capsys, args, message):
    try:
        import umap  # noqa: F401
        if "umap" in args:
            pytest.skip("umap-learn is installed here")
    except ImportError:
        pass
    path = _saved(tmp_path, "dcgan")
    assert main(["map", str(path), "--out", str(tmp_path / "m.png"), "--no-progress", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_probe_refuses_data_that_is_not_the_faces(tmp_path, capsys):
    path = _saved(tmp_path, "stylegan")
    assert main(["probe", str(path), "--data", "digits", "--no-progress"]) == 2
    assert "needs a model of the procedural faces" in capsys.readouterr().err


def test_probe_of_a_vae_scores_disentanglement_without_the_regressor(tmp_path, capsys):
    path = _saved(tmp_path, "vae")
    report, matrix = tmp_path / "r.json", tmp_path / "m.png"
    assert main(["probe", str(path), "--data", "faces:16", "--factors", "none", "--disentanglement-num", "40",
                 "--json", str(report), "--matrix", str(matrix), "--no-progress"]) == 0
    assert "disentanglement: MIG" in capsys.readouterr().out
    data = json.loads(report.read_text())["disentanglement"]
    assert set(data) >= {"mig", "dci_disentanglement", "dci_completeness", "sap", "reconstruction_mse"}
    assert np.asarray(data["mutual_information"]).shape == (14, 16)
    assert Image.open(matrix).size[0] > 16 * 16


def test_probe_factors_none_of_a_gan_is_one_line(tmp_path, capsys):
    path = _saved(tmp_path, "dcgan")
    assert main(["probe", str(path), "--factors", "none", "--no-progress"]) == 2
    assert "only a VAE / autoencoder has MIG/DCI/SAP" in capsys.readouterr().err


@pytest.mark.slow  # renders and trains (a little) before it maps
def test_probe_train_trains_a_regressor_that_map_and_probe_can_use(tmp_path, capsys):
    out = tmp_path / "factors.safetensors"
    assert main(["probe", "train", "--out", str(out), "--steps", "2", "--batch", "8", "--train-count", "16",
                 "--test-count", "10", "--no-progress"]) == 0
    from gan_explorer.core.analysis.regressor import load_regressor

    regressor = load_regressor(path=out)
    predicted = regressor.predict(torch.zeros(3, 3, 32, 32))
    assert set(predicted) >= {"skin_tone", "smile", "glasses"} and predicted["smile"].shape == (3,)
    assert main(["map", str(_saved(tmp_path, "dcgan")), "--num", "6", "--color-by", "smile", "--regressor", str(out),
                 "--out", str(tmp_path / "m.png"), "--no-progress"]) == 0
    assert "predicted by the factor regressor" in capsys.readouterr().out
