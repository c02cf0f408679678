"""The 2-D GAN lab's core: datasets, objectives, fields the view draws, coverage, the runner."""

import threading

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.lab2d import (
    DATASETS, LOSSES, VIEW_EXTENT, Cancelled, GanLab, LabConfig, LabDiverged, make_distribution, mode_coverage,
)
from gan_explorer.core.lab2d.distributions import RING_RADIUS, RING_STD
from gan_explorer.core.lab2d.runner import LabRunner

TINY = dict(g_hidden=16, g_layers=2, d_hidden=16, d_layers=2, batch=64)
DRAWN = np.stack([np.linspace(-2, 2, 40), np.sin(np.linspace(-3, 3, 40))], 1)  # a wave someone drew


def _finite(a):
    return bool(np.isfinite(np.asarray(a, dtype=np.float64)).all())


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("loss", LOSSES)
def test_every_objective_trains_on_every_dataset(loss, dataset):
    lab = GanLab(LabConfig(dataset=dataset, loss=loss, **TINY), drawn_points=DRAWN if dataset == "drawn" else None)
    before = [p.detach().clone() for p in lab.G.parameters()]
    iterations = 300 // (lab.config.n_critic + 1)  # about 300 updates of D and G together
    lab.train(iterations)
    assert lab.g_steps == iterations and lab.d_steps == iterations * lab.config.n_critic
    assert any(not torch.equal(a, b) for a, b in zip(before, lab.G.parameters()))
    frame = lab.frame()
    assert frame.fake.shape == frame.real.shape == (512, 2) and _finite(frame.fake)
    assert frame.field.shape == (64, 64) and _finite(frame.field)
    assert frame.arrow_from.shape == frame.arrow_vec.shape and _finite(frame.arrow_vec)
    assert len(frame.d_curve[0]) == lab.d_steps and len(frame.g_curve[1]) == lab.g_steps
    assert _finite(frame.d_curve[1]) and _finite(frame.g_curve[1])
    if loss in ("saturating", "nonsaturating"):
        assert frame.field.min() >= 0 and frame.field.max() <= 1  # a probability
    if loss == "wgan":
        assert max(float(p.detach().abs().max()) for p in lab.D.parameters()) <= lab.config.clip + 1e-7
    if dataset in ("ring", "grid"):
        assert frame.coverage is not None and 0 <= frame.coverage.fraction <= 1
    else:
        assert frame.coverage is None


@pytest.mark.parametrize("dataset", ["ring", "grid", "moons", "spiral", "drawn"])
def test_datasets_are_seeded_and_inside_the_view(dataset):
    dist = make_distribution(dataset, DRAWN if dataset == "drawn" else None)
    a = dist.sample(2000, torch.Generator().manual_seed(3))
    b = dist.sample(2000, torch.Generator().manual_seed(3))
    assert a.shape == (2000, 2) and torch.equal(a, b)
    xmin, xmax, ymin, ymax = VIEW_EXTENT
    assert xmin < float(a[:, 0].min()) and float(a[:, 0].max()) < xmax
    assert ymin < float(a[:, 1].min()) and float(a[:, 1].max()) < ymax
    assert float(a.std(0).min()) > 0.3  # spread out, not a blob


def test_real_ring_data_covers_every_mode():
    dist = make_distribution("ring")
    assert np.allclose(np.linalg.norm(dist.modes, axis=1), RING_RADIUS)
    points = dist.sample(2000, torch.Generator().manual_seed(0)).numpy()
    cov = mode_coverage(points, dist.modes, RING_STD)
    assert cov.modes_covered == 8 and cov.high_quality > 0.98  # 3 std holds 98.9% of a 2-D Gaussian


def test_coverage_counts_modes_with_enough_close_points():
    modes = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
    pts = np.concatenate([np.zeros((60, 2)), np.full((36, 2), 1.0), [[1.0, 0.0]] * 4,  # 4% at mode 1
                          np.full((100, 2), 5.0)])  # far from every mode
    cov = mode_coverage(pts, modes, std=0.05)
    assert (cov.modes_covered, cov.modes_total, cov.points) == (2, 4, 200)
    assert cov.high_quality == pytest.approx(0.5)
    assert "2/4 modes" in str(cov)


@pytest.mark.parametrize("bad,match", [
    (dict(loss="lsgan"), "loss"), (dict(dataset="swissroll"), "dataset"), (dict(z_dim=3), "z_dim"),
    (dict(g_hidden=0), "g_hidden"), (dict(lr_g=-1.0), "lr_g"), (dict(n_critic=-1), "n_critic"),
])
def test_bad_settings_are_one_line_errors(bad, match):
    with pytest.raises(ConfigError, match=match):
        GanLab(LabConfig(**bad))


@pytest.mark.parametrize("points,match", [(np.zeros((2, 2)), "at least 3"), (np.zeros((5, 3)), "shape"),
                                          (np.full((5, 2), np.nan), "NaN")])
def test_bad_drawings_are_one_line_errors(points, match):
    with pytest.raises(ConfigError, match=match):
        GanLab(LabConfig(dataset="drawn"), drawn_points=points)


def test_config_defaults_per_loss_and_json_round_trip():
    c = LabConfig(loss="wgan-gp").resolved()
    assert c.n_critic == 5 and c.lr_g > 0 and LabConfig(loss="saturating").resolved().n_critic == 1
    assert LabConfig.from_json(c.to_json()) == c
    with pytest.raises(ConfigError, match="unknown option"):
        LabConfig.from_json('{"colour": 1}')


def test_same_seed_same_run():
    a, b = GanLab(LabConfig(seed=4, **TINY)), GanLab(LabConfig(seed=4, **TINY))
    a.train(20)
    b.train(20)
    assert np.array_equal(a.generate(), b.generate())
    assert not np.array_equal(a.generate(), GanLab(LabConfig(seed=5, **TINY)).generate())


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_arrows_point_uphill_on_d(loss):
    """G's loss falls as D's output rises, so -dL_G/dx points where D's output grows."""
    lab = GanLab(LabConfig(loss=loss, **TINY))
    lab.train(10)
    pts = lab.generate()[:64]
    arrows = lab.g_gradients(pts)
    x = torch.as_tensor(pts).requires_grad_(True)
    (d_grad,) = torch.autograd.grad(lab.D(x).sum(), x)
    assert np.all(np.sum(arrows * d_grad.numpy(), axis=1) > 0)


def test_saturating_arrows_vanish_where_d_is_sure():
    """The minimax G loss's gradient is exp(logit) times the non-saturating one: tiny where D(x) ~ 0."""
    sat = GanLab(LabConfig(loss="saturating", **TINY))
    ns = GanLab(LabConfig(loss="nonsaturating", **TINY))
    ns.D.load_state_dict(sat.D.state_dict())
    pts = np.random.default_rng(0).uniform(-3, 3, (100, 2)).astype(np.float32)
    with torch.no_grad():
        logits = sat.D(torch.as_tensor(pts)).numpy()[:, 0]
    ratio = np.linalg.norm(sat.g_gradients(pts), axis=1) / np.linalg.norm(ns.g_gradients(pts), axis=1)
    assert np.allclose(ratio, np.exp(logits), rtol=1e-3)


@pytest.mark.parametrize("z_dim,lines", [(1, 1), (2, 18)])
def test_latent_grid_is_the_image_of_z_lines(z_dim, lines):
    lab = GanLab(LabConfig(z_dim=z_dim, **TINY))
    grid = lab.latent_image()
    gaps = np.isnan(grid).any(1)
    assert np.count_nonzero(gaps) == (0 if lines == 1 else lines)
    z = lab.latent_z[~torch.isnan(lab.latent_z).any(1)]
    assert np.allclose(grid[~gaps], lab.generate(z), atol=1e-6)


def test_training_can_be_cancelled_with_progress():
    lab = GanLab(LabConfig(**TINY))
    seen = []
    with pytest.raises(Cancelled):
        lab.train(100, progress=lambda done, total: seen.append((done, total)), should_stop=lambda: len(seen) >= 3)
    assert seen == [(1, 100), (2, 100), (3, 100)] and lab.g_steps == 3


def test_divergence_is_a_clear_error():
    lab = GanLab(LabConfig(**TINY))
    with torch.no_grad():
        lab.D[0].weight.fill_(float("nan"))
    with pytest.raises(LabDiverged, match="lower the learning rates"):
        lab.step()


def test_sync_runner_plays_steps_pauses_and_resets():
    frames = []
    runner = LabRunner(frames.append, LabConfig(**TINY), sync=True, speed=3)
    runner.request_frame()
    assert frames[-1].g_steps == 0
    runner.play()
    runner.advance()
    runner.advance()
    assert frames[-1].g_steps == 6 and frames[-1].d_steps == 6
    runner.step_d()
    assert not runner.playing and (frames[-1].g_steps, frames[-1].d_steps) == (6, 7)
    runner.step_g()
    assert (frames[-1].g_steps, frames[-1].d_steps) == (7, 7)
    runner.advance()  # paused: nothing happens
    assert frames[-1].g_steps == 7
    first_field = frames[0].field
    runner.reset()
    assert frames[-1].g_steps == 0 and np.array_equal(frames[-1].field, first_field)  # seeded
    runner.reset(LabConfig(loss="wgan-gp", **TINY))
    assert frames[-1].config.loss == "wgan-gp" and frames[-1].field_label == "critic f(x)"
    runner.set_extent((-1, 1, -2, 2))
    runner.request_frame()
    assert frames[-1].extent == (-1, 1, -2, 2)


def test_threaded_runner_waits_for_each_frame_to_be_shown_and_stops():
    got = threading.Event()
    frames = []

    def on_frame(frame):
        frames.append(frame)
        got.set()

    runner = LabRunner(on_frame, LabConfig(**TINY), speed=2)
    try:
        runner.play()
        assert got.wait(20)
        # Not acknowledged: no second frame within the wait limit.
        got.clear()
        assert not got.wait(0.3)
        assert len(frames) == 1
        runner.frame_shown()
        assert got.wait(20) and len(frames) == 2 and frames[1].g_steps > frames[0].g_steps
        errors = []
        runner.on_error = errors.append
        with torch.no_grad():
            runner.lab.D[0].weight.fill_(float("nan"))
        runner.frame_shown()
        deadline = threading.Event()
        for _ in range(200):
            if errors:
                break
            deadline.wait(0.05)
        assert errors and "lower the learning rates" in errors[0].message and not runner.playing
    finally:
        runner.close()
    assert not runner._thread.is_alive()


# README's "2-D GAN lab" settings: the ring, the default 64x3 MLPs, batch 256, lr 1e-3 for G and D,
# 5 D steps per G step for both objectives, 1500 iterations (seeds 0-4 measured in README).
README_SETTINGS = dict(dataset="ring", n_critic=5, lr_g=1e-3, lr_d=1e-3)
README_ITERATIONS = 1500


@pytest.mark.slow
def test_wgan_gp_covers_the_ring_where_the_saturating_loss_collapses():
    coverage = {}
    for loss in ("saturating", "wgan-gp"):
        lab = GanLab(LabConfig(loss=loss, seed=0, **README_SETTINGS))
        lab.train(README_ITERATIONS)
        coverage[loss] = lab.coverage()
    sat, gp = coverage["saturating"], coverage["wgan-gp"]
    assert sat.points == gp.points == 2000
    assert gp.modes_covered > sat.modes_covered, coverage
    assert gp.modes_covered >= 7 and sat.modes_covered <= 4, coverage


def test_loss_history_stays_bounded_over_a_long_session(monkeypatch):
    import gan_explorer.core.lab2d.lab as lab_module

    monkeypatch.setattr(lab_module, "MAX_HISTORY", 50)
    lab = GanLab(LabConfig(**TINY))
    lab.train(120)
    steps, values = lab.frame().d_curve
    assert 25 <= len(steps) <= 50 and steps[-1] == lab.d_steps and np.all(np.diff(steps) > 0)
