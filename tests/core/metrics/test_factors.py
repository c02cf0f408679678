"""The shipped feature / factor network: held-out scores on faces it never saw, the file's safety."""

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import CheckpointError, ConfigError
from gan_explorer.core.metrics.factors import (
    BINARY_FACTORS, FACTOR_KINDS, FACTOR_NAMES, NUM_OUTPUTS, VISIBLE_FACTORS, FactorRegressor, decode_outputs,
    encode_targets, load_factor_regressor, render_faces, score_factors, score_value, shipped_network_path,
    train_factor_network,
)
from gan_explorer.core.metrics.features import load_features
from gan_explorer.core.metrics.network import load_faces_net


def test_factor_names_match_the_faces_dataset():
    from gan_explorer.core.data.faces import FACTOR_NAMES as FACES

    assert FACTOR_NAMES == FACES
    assert BINARY_FACTORS == ("glasses",) and FACTOR_KINDS["smile"] == "continuous"


def test_targets_round_trip_through_the_output_layout():
    from gan_explorer.core.metrics.factors import OUTPUT_LAYOUT

    _, factors = render_faces(6, seed=7)
    outputs = encode_targets(factors)
    assert outputs.shape == (6, NUM_OUTPUTS)
    for name, cols in OUTPUT_LAYOUT:
        if name in BINARY_FACTORS:  # a confident logit for the 0/1 target
            outputs[:, cols] = outputs[:, cols] * 20 - 10
    scores = score_factors(decode_outputs(outputs), factors)
    assert all(score_value(s) == pytest.approx(1.0, abs=1e-5) for s in scores.values())


@pytest.mark.slow
def test_shipped_network_scores_the_visible_factors_on_held_out_faces():
    regressor = load_factor_regressor()
    images, factors = render_faces(300, seed=4242)  # faces from a seed training never used
    scores = score_factors(regressor.predict(images.float() / 127.5 - 1), factors)
    for name in VISIBLE_FACTORS:
        assert score_value(scores[name]) >= 0.9, (name, scores[name])
    # The same network is the default feature extractor.
    features = load_features("gan_explorer")
    assert features.dim == 256 and features.label == "FD/KID (gan_explorer features)"
    assert torch.allclose(features(images[:4].float() / 127.5 - 1),
                          regressor.net.embedding(images[:4].float() / 127.5 - 1), atol=1e-5)
    assert shipped_network_path().stat().st_size < 5_000_000


def test_predict_gives_every_factor_in_its_range():
    regressor = load_factor_regressor()
    out = regressor.predict(torch.rand(3, 3, 128, 128) * 2 - 1)  # any resolution
    assert set(out) == set(FACTOR_NAMES)
    assert all(v.shape == (3,) for v in out.values())
    assert torch.all((out["glasses"] >= 0) & (out["glasses"] <= 1))
    assert torch.all((out["smile"] >= -1) & (out["smile"] <= 1))
    assert isinstance(regressor, FactorRegressor) and regressor.factor_kinds["glasses"] == "binary"


def test_bad_network_files_are_one_line_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such feature network"):
        load_faces_net(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_faces_net(junk)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(other), metadata={"format": "something"})
    with pytest.raises(CheckpointError, match="not a gan_explorer feature network"):
        load_faces_net(other)


@pytest.mark.slow
def test_training_writes_a_loadable_network_with_its_report(tmp_path):
    calls = []
    out = tmp_path / "net.safetensors"
    report = train_factor_network(out, steps=3, batch=8, train_count=16, test_count=10,
                                  progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (16 + 10 + 3, 16 + 10 + 3)
    net, saved = load_faces_net(out)
    assert saved["held_out"].keys() == set(FACTOR_NAMES) and saved["steps"] == 3
    assert report["file_bytes"] == out.stat().st_size
    assert np.isfinite(score_value(saved["held_out"]["skin_tone"]))
    with pytest.raises(ConfigError, match="train_count >= batch"):
        train_factor_network(out, steps=1, batch=64, train_count=10)
