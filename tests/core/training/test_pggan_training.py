"""Progressive growing end to end: the run grows, a kill during a fade-in resumes where it was,
every snapshot opens at the resolution it was taken at."""

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.training.loop import training_loop
from gan_explorer.core.training.options import TrainingOptions
from gan_explorer.core.training.run_dir import read_jsonl, read_state
from gan_explorer.core.training.trainers.pggan import GrowthSchedule, resize_real

TINY_PGGAN = {"z_dim": 16, "fmap_base": 128, "fmap_max": 16}


def pggan_options(resolution=32, **changes) -> TrainingOptions:
    # batch 8: 4 steps per 0.032 kimg phase
    base = dict(family="pggan", data=f"faces:{resolution}", resolution=resolution, kimg=0.16, batch=8,
                tick_kimg=0.016, snapshot_ticks=2, workers=0, progress=False, device="cpu",
                start_resolution=8, phase_kimg=0.032, fade_kimg=0.032, model=dict(TINY_PGGAN))
    base.update(changes)
    return TrainingOptions(**base)


def _abort_after(steps):
    count = {"n": 0}

    def abort():
        count["n"] += 1
        return count["n"] > steps
    return abort


def test_schedule_phases_and_defaults():
    s = GrowthSchedule(8, 32, phase_kimg=1.0, fade_kimg=2.0)
    assert s.at(0) == (8, 1.0, "stable")
    assert s.at(999) == (8, 1.0, "stable")
    assert s.at(1000) == (16, 0.0, "fade-in")
    assert s.at(2500) == (16, 0.75, "fade-in")
    assert s.at(3000) == (16, 1.0, "stable")
    assert s.at(4000) == (32, 0.0, "fade-in")
    assert s.at(5000) == (32, 0.5, "fade-in")
    assert s.at(6000) == s.at(10**9) == (32, 1.0, "stable")
    # 0 phase / fade: the kimg split in 2 * doublings + 2 shares; the final resolution keeps the last two.
    auto = GrowthSchedule.for_options(pggan_options(kimg=60, resolution=64, phase_kimg=0, fade_kimg=0).resolved())
    assert auto.phase_kimg == auto.fade_kimg == 60 / 8
    assert auto.at(auto_end := 6 * 7500) == (64, 1.0, "stable") and auto.at(auto_end - 1)[2] == "fade-in"
    assert GrowthSchedule.for_options(pggan_options(start_resolution=32).resolved()).at(0) == (32, 1.0, "stable")


def _pool(x, k):
    return torch.nn.functional.avg_pool2d(x, k)


def test_real_images_are_served_at_the_phase_resolution():
    real = torch.randn(2, 3, 32, 32)
    at16 = resize_real(real, 16, 1.0)
    assert torch.allclose(at16, _pool(real, 2))
    fading = resize_real(real, 16, 0.0)  # alpha 0: the 8 px images, upsampled
    assert torch.allclose(fading, torch.nn.functional.interpolate(_pool(real, 4), scale_factor=2), atol=1e-6)
    assert torch.allclose(resize_real(real, 16, 0.25), 0.75 * fading + 0.25 * at16, atol=1e-6)


@pytest.mark.parametrize("start, words", [(12, "--start-resolution 12"), (64, "--start-resolution 64")])
def test_bad_start_resolution_is_one_line(tmp_path, start, words):
    with pytest.raises(ConfigError, match=words) as info:
        training_loop(tmp_path / "run", pggan_options(start_resolution=start))
    assert "\n" not in str(info.value)


def test_a_run_too_short_to_grow_to_the_data_resolution_says_so(tmp_path, caplog):
    # 8 -> 32 px ends its last fade-in at 2 * (0.032 + 0.032) = 0.128 kimg: 0.048 stops half way to 16 px.
    short = pggan_options(kimg=0.048)
    with caplog.at_level("WARNING", logger="gan_explorer.core.training.trainers.pggan"):
        assert training_loop(tmp_path / "short", short, abort_fn=_abort_after(0)) == "aborted"
    assert "--kimg 0.048 ends at 16 px (fade-in alpha 0.50), before growing to 32 px (at 0.128 kimg" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="gan_explorer.core.training.trainers.pggan"):
        assert training_loop(tmp_path / "long", pggan_options(kimg=0.128), abort_fn=_abort_after(0)) == "aborted"
    assert "before growing" not in caplog.text


@pytest.mark.slow
def test_a_run_grows_from_8_to_32_px_and_each_snapshot_opens_at_its_resolution(tmp_path):
    run_dir = tmp_path / "grow"
    options = pggan_options()
    assert training_loop(run_dir, options) == "finished"
    stats = read_jsonl(run_dir / "stats.jsonl")
    resolutions = [s["Progress/resolution"] for s in stats]
    assert resolutions == sorted(resolutions) and {8, 16, 32} <= set(resolutions)
    fading = [s for s in stats if s["Progress/phase"] == "fade-in"]
    assert fading and all(0 <= s["Progress/alpha"] < 1 for s in fading)
    assert all(s["Progress/alpha"] == 1 for s in stats if s["Progress/phase"] == "stable")
    schedule = GrowthSchedule(8, 32, 0.032, 0.032)
    snapshots = [e for e in read_jsonl(run_dir / "events.jsonl") if e.get("snapshot")]
    seen = set()
    for event in snapshots:
        resolution, alpha, _ = schedule.at(round(event["kimg"] * 1000))
        model = load_model(run_dir / event["snapshot"])
        assert (model.img_resolution, model.config.alpha) == (resolution, pytest.approx(alpha))
        with torch.no_grad():
            assert model.generate(model.sample_z(1, 0)).shape == (1, 3, resolution, resolution)
        seen.add(resolution)
        # The sample grid is the snapshot's own images at its resolution, upscaled to 32 px.
        grid = np.asarray(Image.open(run_dir / event["samples"]))
        assert grid.shape == (4 * 32, 4 * 32, 3)
        if resolution < 32:
            block = grid[:32, :32]
            step = 32 // resolution
            assert np.array_equal(block, np.repeat(np.repeat(block[::step, ::step], step, 0), step, 1))
    assert {16, 32} <= seen
    # `gan-explorer generate` draws a 16 px snapshot at 16 px.
    small = next(e["snapshot"] for e in snapshots if load_model(run_dir / e["snapshot"]).img_resolution == 16)
    out = tmp_path / "g.png"
    assert main(["generate", str(run_dir / small), "--seeds", "3", "--out", str(out)]) == 0
    assert Image.open(out).size == (16, 16)


@pytest.mark.slow
def test_a_run_killed_during_a_fade_in_resumes_at_the_same_resolution_and_alpha(tmp_path):
    # The default phases (0): 0.128 kimg in 4 shares of 0.032, so a resume that lengthens the run
    # would derive other phases from its --kimg.
    options = pggan_options(resolution=16, kimg=0.128, tick_kimg=0.008, snapshot_ticks=1, phase_kimg=0, fade_kimg=0)
    straight = tmp_path / "straight"
    assert training_loop(straight, options) == "finished"

    resumed = tmp_path / "resumed"
    # 6 steps of 8 images: 0.048 kimg, half way through the 8 -> 16 fade-in (0.032 to 0.064).
    assert training_loop(resumed, options, abort_fn=_abort_after(6)) == "aborted"
    extra = read_state(resumed / "training-state.pt")["trainer"]["extra"]
    assert (extra["resolution"], extra["alpha"]) == (16, 0.5)
    stopped = [e for e in read_jsonl(resumed / "events.jsonl") if e.get("snapshot")][-1]
    snapshot = load_model(resumed / stopped["snapshot"])
    assert (snapshot.img_resolution, snapshot.config.alpha) == (16, 0.5)

    # Resumed with a longer run, whose default phases differ (0.125 kimg: 48 images would be 8 px,
    # stable): the saved schedule holds, and a stop before any step leaves the phase the kill left.
    longer = options.replace(kimg=0.5)
    assert GrowthSchedule.for_options(longer.resolved()).at(48) == (8, 1.0, "stable")
    assert training_loop(resumed, longer, abort_fn=_abort_after(0)) == "aborted"
    again = read_state(resumed / "training-state.pt")["trainer"]["extra"]
    assert again == extra

    assert training_loop(resumed, options) == "finished"
    a = read_state(straight / "training-state.pt")
    b = read_state(resumed / "training-state.pt")
    assert a["cur_nimg"] == b["cur_nimg"] == 128
    assert a["trainer"]["extra"] == b["trainer"]["extra"]
    for net in ("G", "D", "G_ema"):
        for k, v in a["trainer"]["networks"][net].items():
            assert torch.equal(v, b["trainer"]["networks"][net][k]), (net, k)
    stats = read_jsonl(resumed / "stats.jsonl")
    assert [(s["Progress/resolution"], s["Progress/alpha"]) for s in stats] == \
        [(s["Progress/resolution"], s["Progress/alpha"]) for s in read_jsonl(straight / "stats.jsonl")]
