"""Factor directions: the fit (known answers), conditional directions, cosines, and the probe end to end."""

import numpy as np
import pytest

from gan_explorer.core.analysis.probe import cosine_table, fit_factor_directions, project_out
from gan_explorer.core.errors import ConfigError, GanExplorerError


def _latents_and_labels(n=3000, d=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d)
    u_smile = np.eye(d)[3]
    u_skin = (np.eye(d)[3] + np.eye(d)[7]) / np.sqrt(2)      # entangled with smile on purpose
    u_glasses = np.eye(d)[11]
    labels = {"smile": x @ u_smile + 0.1 * rng.normal(size=n),
              "skin_tone": 0.2 * (x @ u_skin) + 0.02 * rng.normal(size=n),
              "glasses": (x @ u_glasses + 0.2 * rng.normal(size=n) > 1.0).astype(float),
              "background_hue": rng.uniform(size=n)}          # nothing to do with x
    return x, labels, {"smile": u_smile, "skin_tone": u_skin, "glasses": u_glasses}


def test_each_factor_direction_is_found_with_its_held_out_score():
    x, labels, truth = _latents_and_labels()
    fitted = fit_factor_directions(x, labels, kinds={"glasses": "binary"})
    for name, u in truth.items():
        assert float(fitted[name].direction @ u) > 0.97, name
    assert fitted["smile"].metric == "r2" and fitted["smile"].score > 0.95
    assert fitted["glasses"].metric == "accuracy" and fitted["glasses"].score > 0.95
    assert 0.1 < fitted["glasses"].positive_fraction < 0.4
    assert fitted["background_hue"].score < 0.05              # no linear direction: R^2 about 0
    assert fitted["smile"].num_test == 750
    centred = x - x.mean(0)
    assert fitted["smile"].sigma == pytest.approx(float((centred @ fitted["smile"].direction).std()), rel=1e-5)


def test_conditional_direction_leaves_the_other_factor_alone():
    x, labels, truth = _latents_and_labels()
    plain = fit_factor_directions(x, labels, names=["smile", "skin_tone"])
    conditional = fit_factor_directions(x, labels, names=["smile", "skin_tone"],
                                        conditional={"skin_tone": ["smile"]})
    assert abs(float(plain["skin_tone"].direction @ plain["smile"].direction)) > 0.6
    assert abs(float(conditional["skin_tone"].direction @ conditional["smile"].direction)) < 1e-6
    assert conditional["skin_tone"].conditioned_on == ("smile",)
    assert float(conditional["skin_tone"].direction @ np.eye(16)[7]) > 0.97   # what is left of skin tone


def test_cosine_table_and_projection():
    x, labels, truth = _latents_and_labels()
    fitted = fit_factor_directions(x, labels, names=["smile", "glasses"], kinds={"glasses": "binary"})
    table = cosine_table(np.stack([np.eye(16)[3] * 5, -np.eye(16)[11]]), fitted)
    assert table.shape == (2, 2)
    assert table[0, 0] > 0.97 and table[1, 1] < -0.97 and abs(table[0, 1]) < 0.1
    with pytest.raises(GanExplorerError, match="vanishes"):
        project_out(np.eye(4)[0], [np.eye(4)[0] * 2])


def test_bad_factor_names_and_single_class_are_one_line():
    x, labels, _ = _latents_and_labels(n=200)
    with pytest.raises(ConfigError, match="factor\\(s\\) moustache"):
        fit_factor_directions(x, labels, names=["moustache"])
    labels["glasses"][:] = 0
    with pytest.raises(GanExplorerError, match="training samples is off"):
        fit_factor_directions(x, labels, kinds={"glasses": "binary"}, names=["glasses"])


def test_a_factor_the_model_never_shows_is_skipped_with_its_reason():
    x, labels, _ = _latents_and_labels(n=300)
    labels["glasses"][:] = 1
    skipped = {}
    fitted = fit_factor_directions(x, labels, kinds={"glasses": "binary"}, skipped=skipped)
    assert "glasses" not in fitted and "smile" in fitted
    assert "training samples is on" in skipped["glasses"]


@pytest.mark.slow  # renders a few hundred 64 px faces
def test_on_the_demo_the_skin_tone_and_hair_colour_directions_move_their_factor():
    """The real path: the shipped StyleGAN demo, the shipped factor regressor, a probe on few samples."""
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.analysis.probe import probe_model
    from gan_explorer.resources import demo_model

    model = open_model(demo_model())
    report = probe_model(model, num=200, factors=["skin_tone", "hair_color"], discovered=(),
                         effect_seeds=8, strengths=(-2.0, 0.0, 2.0))
    result = report.to_dict()
    for name in ("skin_tone", "hair_color"):
        entry = result["factors"][name]
        assert entry["score"] > 0.7, entry
        assert entry["monotonic_mean"] and entry["own_change"] > 0.5
        assert entry["own_change"] > 2 * entry["largest_other_change"], entry
        assert entry["conditioned_on"]   # conditioned on the other factors by default


def test_hue_effects_are_measured_around_the_circle():
    from gan_explorer.core.analysis.probe import Effects

    hue = np.array([0.90, 0.95, 0.99, 0.03, 0.08])               # crosses 1 -> 0 while rising
    smile = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    per_seed = np.stack([np.stack([hue, smile], axis=1)[..., None] + np.array([0.0, 0.002])])  # [1, S, F, 2]
    effects = Effects.from_predictions([-2, -1, 0, 1, 2], ["background_hue", "smile"], per_seed % 1.0)
    change = effects.change()
    assert change[0, 0] == pytest.approx(0.181 / (1 / np.sqrt(12)), abs=0.01)   # +0.18 of the circle, not -0.82
    assert change[0, 1] == pytest.approx(0.4 / (2 / np.sqrt(12)), abs=0.01)    # smile ranges over [-1, 1]
    assert np.all(effects.steps_of_mean(0, 0) > 0)
    assert effects.monotonic_fraction(0, 0) == 1.0
