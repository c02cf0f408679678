"""`gan-explorer parts` writes part masks and `gan-explorer dissect` a unit report."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.analysis.parts import (
    PartsConfig, feature_layers, pixel_features, save_classifier, segment, train_classifier,
)
from gan_explorer.core.io.checkpoint import load_model


@pytest.fixture
def model_and_classifier(tmp_path):
    path = tmp_path / "m.safetensors"
    assert main(["new", "--family", "stylegan", "--resolution", "16", "--out", str(path),
                 "--option", "channel_base=512", "--option", "channel_max=32",
                 "--option", "z_dim=32", "--option", "w_dim=32", "--option", "mapping_layers=2"]) == 0
    model = load_model(path)
    layers = feature_layers(model)
    with torch.no_grad():
        ws = model.map(model.sample_z(4, 0)).numpy()
    features, images = pixel_features(model, ws, layers)
    labels = (images.mean(-1) > np.median(images.mean(-1))).astype(np.uint8)  # dark / light
    classifier = train_classifier(features, labels, ("dark", "light"), layers, PartsConfig(steps=20))
    return path, save_classifier(classifier, tmp_path / "parts.npz"), classifier, model


def test_parts_writes_masks_that_the_classifier_gives(model_and_classifier, tmp_path):
    model_file, classifier_file, classifier, model = model_and_classifier
    out = tmp_path / "masks"
    assert main(["parts", str(model_file), "--classifier", str(classifier_file), "--seeds", "3,7",
                 "--out", str(out), "--no-progress"]) == 0
    info = json.loads((out / "parts.json").read_text())
    assert info["part_names"] == ["dark", "light"] and info["seeds"] == [3, 7]
    mask = np.asarray(Image.open(out / "seed0007-parts.png"))
    assert mask.shape == (16, 16) and set(np.unique(mask)) <= {0, 1}
    with torch.no_grad():
        ws = model.map(torch.cat([model.sample_z(1, 3), model.sample_z(1, 7)])).numpy()
    parts, images = segment(model, classifier, ws)
    assert np.array_equal(mask, parts[1])  # the mask of that very image
    assert np.array_equal(np.asarray(Image.open(out / "seed0007.png")), images[1])
    assert (out / "seed0003-parts-colour.png").is_file()


def test_dissect_writes_a_report(model_and_classifier, tmp_path):
    model_file, classifier_file, _, _ = model_and_classifier
    report = tmp_path / "report.json"
    assert main(["dissect", str(model_file), "--classifier", str(classifier_file), "--samples", "6",
                 "--top", "0.05", "--ablate-part", "light", "--ablate-units", "2", "--out", str(report),
                 "--no-progress"]) == 0
    data = json.loads(report.read_text())
    assert set(data["best"]) == {"dark", "light"} and data["samples"] == 6
    layer = next(iter(data["units"]))
    assert {"unit", "part", "iou"} <= set(data["units"][layer][0])
    assert data["ablation"]["part"] == "light" and len(data["ablation"]["units"]) == 2


def test_a_model_not_of_the_faces_needs_a_classifier(model_and_classifier, tmp_path, capsys):
    model_file = model_and_classifier[0]
    assert main(["parts", str(model_file), "--out", str(tmp_path / "x"), "--no-progress"]) != 0
    assert "--classifier" in capsys.readouterr().err
