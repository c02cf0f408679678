"""Evaluating models and runs: real models, the procedural faces, the cache, progress and cancel."""

import json

import numpy as np
import pytest
import torch

from gan_explorer.cli import main
from gan_explorer.core.data import open_dataset
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.errors import Cancelled
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.metrics import scores
from gan_explorer.core.metrics.evaluate import evaluate_model, evaluate_run_dir, parse_metrics
from gan_explorer.core.metrics.features import load_features
from gan_explorer.core.metrics.memorisation import closest_pairs_grid, memorisation_report
from gan_explorer.core.metrics.ppl import crop_face, perceptual_distance, perceptual_path_length
from gan_explorer.core.metrics.realdata import real_features
from gan_explorer.core.models import build_model
from gan_explorer.core.training.options import TrainingOptions
from gan_explorer.core.training.run_dir import read_jsonl
from tests.conftest import TINY


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("GAN_EXPLORER_CACHE", str(path))
    return path


@pytest.fixture
def tiny_stylegan():
    torch.manual_seed(0)
    return build_model("stylegan", **TINY["stylegan"]).eval()


def test_parse_metrics():
    assert parse_metrics("fd, KID") == ("fd", "kid")
    assert parse_metrics("all") == ("fd", "kid", "pr", "ppl", "nn")
    with pytest.raises(ConfigError, match="'fid': must be one of"):
        parse_metrics("fd,fid")
    with pytest.raises(ConfigError, match="no metric"):
        parse_metrics(",")


def test_fd_between_disjoint_face_samples_is_small_and_falls_with_n(cache):
    features = load_features("random")
    faces_a = open_dataset("faces:32", seed=0)
    faces_b = open_dataset("faces:32", seed=1)
    a, _ = real_features(faces_a, features, 160)
    b, _ = real_features(faces_b, features, 160)
    fd = {n: scores.fd_from_features(a[:n], b[:n]) for n in (20, 40, 160)}
    assert fd[160] < fd[40] < fd[20]
    # Far smaller than the distance to something that is not a face (noise images).
    noise = features.extract(torch.rand(160, 3, 32, 32) * 2 - 1).numpy()
    assert fd[160] < 0.2 * scores.fd_from_features(a, noise)


def test_real_features_are_cached_by_content(cache):
    features = load_features("random")
    faces = open_dataset("faces:16")
    first, info = real_features(faces, features, 12)
    assert info["cache"] == "miss" and len(list(cache.rglob("*.npy"))) == 1
    again, info = real_features(open_dataset("faces:16"), features, 12)
    assert info["cache"] == "hit" and np.array_equal(first, again)
    other, info = real_features(open_dataset("faces:16", seed=5), features, 12)  # other faces: another key
    assert info["cache"] == "miss" and not np.array_equal(first, other)
    _, info = real_features(faces, load_features("random:1"), 12)  # another network: another key
    assert info["cache"] == "miss"


def test_folder_fingerprint_follows_file_bytes(cache, tmp_path):
    from PIL import Image

    folder = tmp_path / "pics"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    features = load_features("random")
    _, info = real_features(open_dataset(str(folder), 16), features, 6)
    assert info["cache"] == "miss"
    assert real_features(open_dataset(str(folder), 16), features, 6)[1]["cache"] == "hit"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(folder / "3.png")  # same name, new content
    assert real_features(open_dataset(str(folder), 16), features, 6)[1]["cache"] == "miss"


def test_evaluate_model_every_metric_with_progress_labels_and_grid(cache, tmp_path, tiny_stylegan):
    calls = []
    grid = tmp_path / "pairs.png"
    result = evaluate_model(tiny_stylegan, "faces:16", "all", num=24, features="random", ppl_num=8,
                            kid_subset_size=12, kid_subsets=4, grid_path=grid, progress=lambda d, t: calls.append((d, t)))
    assert result["label"] == "FD/KID (random CNN features, seed 0)"
    assert result["fd"] > 0 and np.isfinite(result["kid"]["mean"])
    assert 0 <= result["pr"]["precision"] <= 1 and 0 <= result["pr"]["coverage"] <= 1
    assert result["ppl_w"]["mean"] > 0 and result["ppl_z"]["mean"] > 0 and result["ppl_w"]["space"] == "w"
    assert len(result["nn"]["histogram"]["samples"]) == 30 and grid.is_file()
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]
    json.dumps(result)  # JSON-ready


def test_evaluate_model_cancels(cache, tiny_stylegan):
    seen = []

    def stop():
        seen.append(1)
        return len(seen) > 2

    with pytest.raises(Cancelled):
        evaluate_model(tiny_stylegan, "faces:16", "fd", num=64, features="random", batch_size=8, should_stop=stop)


def test_ppl_distance_is_zero_for_identical_images_and_grows_with_the_step(tiny_stylegan):
    features = load_features("random")
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    assert torch.all(perceptual_distance(features, images, images) == 0)
    assert crop_face(images).shape[-2:] == (20, 16)
    near = perceptual_distance(features, images, images + 0.01).mean()
    far = perceptual_distance(features, images, images + 0.1).mean()
    assert far > 5 * near > 0
    a = perceptual_path_length(tiny_stylegan, features, "w", num=8, seed=1)
    b = perceptual_path_length(tiny_stylegan, features, "w", num=8, seed=1)
    assert a == b and a["epsilon"] == 1e-4


def test_memorisation_flags_copies_and_draws_pairs():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((200, 8))
    copies = real[:50] + 1e-6
    report = memorisation_report(copies, real)
    assert report["close_fraction"] == 1.0 and report["ratio_to_reference"] < 1e-3
    assert [p["training_image"] for p in report["closest_pairs"]] == [p["sample"] for p in report["closest_pairs"]]
    fresh = memorisation_report(rng.standard_normal((50, 8)), real)
    assert fresh["close_fraction"] < 0.1 and fresh["ratio_to_reference"] > 0.5
    images = np.zeros((200, 8, 8, 3), np.uint8)
    grid = closest_pairs_grid(images[:50], images, report["closest_pairs"], cols=4)
    assert grid.shape == (4 * 8, 4 * 16, 3)


def test_run_dir_evaluates_each_snapshot_once(cache, tmp_path, tiny_stylegan):
    run = tmp_path / "run"
    run.mkdir()
    options = TrainingOptions(family="stylegan", data="faces:16", resolution=16, model=dict(TINY["stylegan"]))
    (run / "options.json").write_text(options.to_json())
    for kimg in (0, 1):
        save_model(tiny_stylegan, run / f"network-snapshot-{kimg:06d}.safetensors")
    lines = evaluate_run_dir(run, "fd,kid", num=12, features="random", kid_subset_size=6, kid_subsets=2)
    assert [line["Progress/kimg"] for line in lines] == [0.0, 1.0]
    written = read_jsonl(run / "metrics.jsonl")
    assert [w["snapshot"] for w in written] == ["network-snapshot-000000.safetensors",
                                               "network-snapshot-000001.safetensors"]
    assert all("Metrics/fd" in w and "Metrics/kid_mean" in w and w["features"] == "random:0" for w in written)
    events = [e for e in read_jsonl(run / "events.jsonl") if e["event"] == "metric"]
    assert len(events) == 2 and events[0]["values"]["Metrics/fd"] == written[0]["Metrics/fd"]
    assert evaluate_run_dir(run, "fd", num=12, features="random") == []  # nothing new


def test_cli_metrics_writes_json(cache, tmp_path, tiny_stylegan, capsys):
    model = tmp_path / "m.safetensors"
    save_model(tiny_stylegan, model)
    out = tmp_path / "out.json"
    code = main(["metrics", str(model), "--data", "faces:16", "--metrics", "fd,pr", "--num", "16",
                 "--features", "random", "--json", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "FD (random CNN features, seed 0)" in printed and "FID" not in printed
    result = json.loads(out.read_text())
    assert result["label"].startswith("FD/KID") and result["num"] == 16 and "precision" in result["pr"]
    assert main(["metrics", str(model), "--data", "faces:16", "--metrics", "fid"]) == 2
    assert "metric 'fid'" in capsys.readouterr().err


def test_a_progressive_snapshot_below_the_data_resolution_is_scored_on_downsampled_data(cache):
    """A PGGAN snapshot taken at 8 px of a faces:16 run: the real faces are area-downsampled to
    8 px (as its trainer served them), and the result says the resolution."""
    from gan_explorer.core.metrics.realdata import AreaDownsampled, dataset_images

    torch.manual_seed(0)
    model = build_model("pggan", **{**TINY["pggan"], "img_resolution": 8}).eval()
    result = evaluate_model(model, "faces:16", "fd", num=24, features="random", batch_size=8)
    assert result["resolution"] == 8 and "at 8 px (area)" in result["data"]
    assert np.isfinite(result["fd"])
    small = AreaDownsampled(open_dataset("faces:16", 16), 8)
    full = dataset_images(open_dataset("faces:16", 16), [3])[0].astype(float)
    expected = full.reshape(8, 2, 8, 2, 3).mean(axis=(1, 3))  # 2x2 area averages
    assert np.abs(small.image(3).astype(float) - expected).max() <= 1
