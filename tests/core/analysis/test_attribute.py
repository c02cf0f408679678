"""Your own attribute: a boundary in W from marked samples."""

from pathlib import Path

import numpy as np
import pytest
import torch

from gan_explorer.core.analysis.attribute import attribute_candidates, fit_attribute
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models import build_model
from tests.conftest import TINY


def _marked(model, count, hidden):
    """Candidates marked by a rule the user cannot state but follows: w . hidden above the median."""
    grid = attribute_candidates(model, count=count, seed=0)
    score = grid.ws[:, 0].numpy() @ hidden
    has = score > np.median(score)
    return grid, grid.ws[torch.from_numpy(has)], grid.ws[torch.from_numpy(~has)]


def test_a_dozen_marks_each_recover_the_direction():
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    hidden = np.random.default_rng(0).normal(size=model.w_dim)
    hidden /= np.linalg.norm(hidden)
    grid, with_it, without = _marked(model, 24, hidden)
    assert len(with_it) == len(without) == 12
    few = fit_attribute(with_it, without, reference_ws=grid.ws)
    grid, with_it, without = _marked(model, 200, hidden)
    many = fit_attribute(with_it, without, reference_ws=grid.ws)
    # 24 marks in 32 dimensions pin the direction only roughly; 200 pin it well.
    assert float(few.direction @ hidden) > 0.4
    assert float(many.direction @ hidden) > 0.9
    assert few.cv_accuracy > 0.6 and many.cv_accuracy > 0.85 and few.folds == 5
    assert np.linalg.norm(many.direction) == pytest.approx(1, abs=1e-5)
    # sigma is the spread of sampled w along the direction: a slider unit.
    w = grid.ws[:, 0].numpy()
    assert many.sigma == pytest.approx(float(((w - w.mean(0)) @ many.direction).std()), rel=1e-5)


def test_random_marks_cross_validate_near_chance():
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    grid = attribute_candidates(model, count=60, seed=5)
    has = np.random.default_rng(3).permutation(60) < 30
    fit = fit_attribute(grid.ws[torch.from_numpy(has)], grid.ws[torch.from_numpy(~has)])
    assert fit.cv_accuracy < 0.7


def test_too_few_marks_is_one_line():
    with pytest.raises(ConfigError, match="mark at least 2 images of each kind"):
        fit_attribute(np.zeros((1, 8)), np.ones((5, 8)))
    fit = fit_attribute(np.ones((2, 4)) + np.arange(4), -np.ones((2, 4)))
    assert fit.folds == 2 and fit.cv_accuracy == 1.0


OFFICIAL = Path(__file__).resolve().parents[2] / "fixtures" / "stylegan_official" / "sg2ada_64.pkl"


@pytest.mark.slow  # opening the official 512-d pickle takes seconds on 2 busy cores
def test_an_official_pickle_gets_a_slider_from_two_dozen_marks():
    """Mark the brighter half of 24 images of an official-format StyleGAN2-ADA network: the fitted
    direction brightens new seeds (a property of the pictures, not of the latents)."""
    from gan_explorer.core.io.models import open_model

    model = open_model(OFFICIAL)
    with torch.no_grad():
        grid = attribute_candidates(model, 24, seed=0)
        brightness = model.synthesize(grid.ws).mean(dim=(1, 2, 3)).numpy()
        has = torch.from_numpy(brightness > np.median(brightness))
        reference = model.map(model.z_from_seeds(range(1000, 1400)))
        fit = fit_attribute(grid.ws[has], grid.ws[~has], reference_ws=reference)
        new = attribute_candidates(model, 8, seed=100).ws
        step = 2 * fit.sigma * torch.from_numpy(fit.direction)
        brighter = model.synthesize(new + step).mean(dim=(1, 2, 3))
        darker = model.synthesize(new - step).mean(dim=(1, 2, 3))
    assert fit.direction.shape == (model.w_dim,) and 0 <= fit.cv_accuracy <= 1
    assert bool((brighter > darker).all())
    assert float((brighter - darker).mean()) > 0.5 * brightness.std()
