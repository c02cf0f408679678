"""The per-pixel part classifier (DatasetGAN) and unit dissection on real generators."""

from pathlib import Path

import numpy as np
import pytest
import torch

from gan_explorer.core.analysis.dissection import ablation, ablation_effect, dissect, unit_part_iou
from gan_explorer.core.analysis.parts import (
    UNLABELLED, PartsConfig, feature_layers, load_classifier, part_areas, part_iou, pixel_features,
    projected_faces, FaceProjectionConfig, save_classifier, segment, train_classifier,
)
from gan_explorer.core.errors import CheckpointError, ConfigError
from gan_explorer.core.models import build_model
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "resources/demo/stylegan-faces64.safetensors"
FIXTURE = ROOT / "tests/fixtures/parts/demo-faces-s1-0-8.npz"  # ws of FacesDataset(64, seed=1) faces 0-7 projected


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(3)
    return build_model("stylegan", **TINY["stylegan"]).eval()


def brightness_labels(images):
    """Three parts anyone can check: dark, middle and light pixels of the generated image."""
    grey = images.mean(axis=-1)
    return np.digitize(grey, np.quantile(grey, [1 / 3, 2 / 3])).astype(np.uint8)


def test_unit_equal_to_a_known_mask_scores_iou_one():
    rng = np.random.default_rng(0)
    parts = rng.integers(0, 3, size=(5, 16, 16)).astype(np.uint8)
    acts = torch.zeros(5, 4, 16, 16)
    acts[:, 1] = torch.from_numpy(parts == 2).float()  # unit 1 is exactly part 2
    acts[:, 2] = torch.rand(5, 16, 16)  # noise
    fraction = float((parts == 2).mean())
    table = unit_part_iou(acts, parts, 3, top=fraction * 0.9)
    assert table[1, 2] == pytest.approx(1.0)
    assert table[1, 0] == 0 and table[1, 1] == 0
    assert table[2].max() < 0.6 and table[0].max() == 0  # a constant unit is never on


def test_part_iou_counts_pooled_pixels_and_skips_absent_parts():
    truth = np.array([[[0, 0, 1, 1]]], np.uint8)
    predicted = np.array([[[0, 1, 1, 1]]], np.uint8)
    iou = part_iou(predicted, truth, 3)
    assert iou[0] == pytest.approx(1 / 2) and iou[1] == pytest.approx(2 / 3) and np.isnan(iou[2])
    assert part_areas(predicted, 3).tolist() == [0.25, 0.75, 0.0]


@pytest.mark.slow  # 64 px features of 8 faces and a short training: 2-3 min on the loaded machine
def test_classifier_beats_chance_on_held_out_projected_faces():
    """Faces of the dataset projected into the demo (their ws kept as a fixture, 60 steps, 26.8 dB):
    trained on 4 with the faces' true part maps, it labels the 4 others far above chance."""
    from gan_explorer.core.data.faces import PART_NAMES, FacesDataset
    from gan_explorer.core.io.models import open_model

    model = open_model(DEMO)
    with np.load(FIXTURE) as data:
        ws = data["ws"]
    truth = np.stack([FacesDataset(64, seed=1).parts(i) for i in range(len(ws))])
    layers = feature_layers(model)
    features, _ = pixel_features(model, ws, layers)
    classifier = train_classifier(features[:4], truth[:4], PART_NAMES, layers, PartsConfig(steps=60))
    iou = part_iou(classifier.predict(features[4:]), truth[4:], len(PART_NAMES))
    majority = part_iou(np.full_like(truth[4:], np.bincount(truth[:4].ravel()).argmax()), truth[4:], len(PART_NAMES))
    assert np.nanmean(iou) > np.nanmean(majority) + 0.2  # measured: 0.38 against 0.06
    assert iou[PART_NAMES.index("background")] > 0.8 and iou[PART_NAMES.index("hair")] > 0.4  # 0.93, 0.64


def test_unlabelled_pixels_are_skipped_and_bad_labels_named(tiny):
    layers = feature_layers(tiny)
    with torch.no_grad():
        ws = tiny.map(tiny.sample_z(2, 0)).numpy()
    features, _ = pixel_features(tiny, ws, layers)
    labels = np.full((2, 16, 16), UNLABELLED, np.uint8)
    with pytest.raises(ConfigError, match="no labelled pixels"):
        train_classifier(features, labels, ("a", "b"), layers)
    labels[0, :4] = 3
    with pytest.raises(ConfigError, match="outside 0..1"):
        train_classifier(features, labels, ("a", "b"), layers)
    with pytest.raises(ConfigError, match="expected \\[2, 16, 16\\]"):
        train_classifier(features, labels[:1], ("a", "b"), layers)
    labels[0, :4], labels[1, 8:] = 0, 1
    classifier = train_classifier(features, labels, ("a", "b"), layers, PartsConfig(steps=20))
    assert classifier.predict(features).shape == (2, 16, 16)


def test_classifier_saves_and_loads_bit_identically(tiny, tmp_path):
    layers = feature_layers(tiny)
    with torch.no_grad():
        ws = tiny.map(tiny.sample_z(2, 1)).numpy()
    features, images = pixel_features(tiny, ws, layers)
    classifier = train_classifier(features, brightness_labels(images), ("d", "m", "l"), layers, PartsConfig(steps=10))
    path = save_classifier(classifier, tmp_path / "parts.npz")
    again = load_classifier(path)
    assert again.part_names == ("d", "m", "l") and again.layers == tuple(layers)
    assert np.array_equal(again.predict(features), classifier.predict(features))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="bad.npz"):
        load_classifier(tmp_path / "bad.npz")


def test_dissection_names_units_and_ablating_a_parts_units_shrinks_it(tiny):
    layers = feature_layers(tiny)
    with torch.no_grad():
        ws = tiny.map(tiny.sample_z(16, 2)).numpy()
    features, images = pixel_features(tiny, ws, layers)
    names = ("dark", "middle", "light")
    classifier = train_classifier(features, brightness_labels(images), names, layers, PartsConfig(steps=150))
    report = dissect(tiny, classifier, ws, top=0.05)
    assert report.layers == tuple(layers) and report.samples == 16
    layer = layers[-1]
    unit, iou = report.best(layer, "light")
    assert 0 < iou <= 1 and report.unit_names(layer)[unit][1] >= iou - 1e-9
    assert set(report.best_table()) == set(names)
    units = [u for u, _ in report.top_units(layer, "light", 4)]
    effect = ablation_effect(tiny, classifier, ws, layer, units)
    assert effect.after[2] < effect.before[2]  # fewer light pixels
    assert effect.to_json()["relative_change"]["light"] < 0
    # the hook is gone afterwards: the model renders as before
    with torch.no_grad():
        assert torch.equal(tiny.synthesize(torch.from_numpy(ws[:2])), tiny.synthesize(torch.from_numpy(ws[:2])))
    _, ablated = pixel_features(tiny, ws[:2], layers, edit=ablation(layer, units))
    assert not np.array_equal(ablated, images[:2])


def test_projected_faces_pair_a_projection_with_the_faces_part_map(tmp_path):
    from gan_explorer.core.data.faces import FacesDataset
    from gan_explorer.core.io.models import open_model

    model = open_model(DEMO)
    config = FaceProjectionConfig(steps=2, batch=2)
    faces = projected_faces(model, 2, seed=4, config=config, cache_dir=tmp_path)
    assert faces.ws.shape == (2, model.num_ws, model.w_dim) and faces.truth.shape == (2, 64, 64)
    assert np.array_equal(faces.truth[1], FacesDataset(64, seed=4).parts(1))
    assert len(list(tmp_path.iterdir())) == 1
    again = projected_faces(model, 2, seed=4, config=config, cache_dir=tmp_path)  # read back from the cache
    assert np.array_equal(again.ws, faces.ws)
