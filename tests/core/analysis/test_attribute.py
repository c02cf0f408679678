"""Your own attribute: a boundary in W from marked samples."""

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
