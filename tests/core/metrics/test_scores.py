"""FD, KID, precision/recall and density/coverage on features with known answers."""

import numpy as np
import pytest
import scipy.linalg

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.metrics import scores


def _spd(rng, d, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T / d + (0 if rank else 0.1) * np.eye(d)


def test_trace_sqrt_product_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    for d, rank in ((5, None), (32, None), (32, 10)):  # full rank and singular (fewer samples than dims)
        s1, s2 = _spd(rng, d, rank), _spd(rng, d)
        ours = scores.trace_sqrt_product(s1, s2)
        reference = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
        assert ours == pytest.approx(reference, rel=1e-6, abs=1e-8)
    s = _spd(rng, 16)
    np.testing.assert_allclose(scores.sqrtm_psd(s), scipy.linalg.sqrtm(s).real, atol=1e-9)


def test_fd_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(1).standard_normal((500, 64)) * 3 + 1
    assert scores.fd_from_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fd_equals_the_closed_form_for_known_gaussians():
    rng = np.random.default_rng(2)
    d = 8
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = _spd(rng, d), _spd(rng, d)
    fd = scores.frechet_distance(scores.Statistics(mu1, s1, 0), scores.Statistics(mu2, s2, 0))
    root = scipy.linalg.sqrtm(s1 @ s2).real
    closed = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * root)
    assert fd == pytest.approx(closed, rel=1e-8)
    # Diagonal covariances: the closed form is sum (mu1 - mu2)^2 + sum (sqrt(v1) - sqrt(v2))^2.
    v1, v2 = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    fd_diag = scores.frechet_distance(scores.Statistics(mu1, np.diag(v1), 0), scores.Statistics(mu2, np.diag(v2), 0))
    assert fd_diag == pytest.approx(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2), rel=1e-10)
    # Estimated from samples, FD approaches the closed form of the generating Gaussians.
    a = rng.multivariate_normal(mu1, np.diag(v1), size=20000)
    b = rng.multivariate_normal(mu2, np.diag(v2), size=20000)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert scores.fd_from_features(a, b) == pytest.approx(expected, rel=0.02)


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    same = scores.kid(x, y, subsets=20, subset_size=200)
    assert abs(same["mean"]) < 3 * same["std"] + 1e-3
    assert same["subsets"] == 20 and same["subset_size"] == 200
    shifted = scores.kid(x, y + 1.0, subsets=20, subset_size=200)
    assert shifted["mean"] > 10 * abs(same["mean"]) and shifted["mean"] > 0.05


def test_kid_matches_a_direct_unbiased_mmd():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((30, 5)), rng.standard_normal((30, 5)) + 0.3
    k = lambda a, b: (a @ b / 5 + 1) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert scores.kid(x, y, subsets=1, subset_size=30)["mean"] == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_precision_recall_density_coverage_of_identical_and_disjoint_sets():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 8))
    same = scores.precision_recall_density_coverage(x, x.copy(), k=3)
    assert same["precision"] == 1.0 and same["recall"] == 1.0 and same["coverage"] == 1.0
    assert same["density"] >= 1.0  # each sample lies in its own ball and in its k neighbours' balls
    far = scores.precision_recall_density_coverage(x, x + 100.0, k=3)
    assert far["precision"] == 0.0 and far["recall"] == 0.0 and far["coverage"] == 0.0 and far["density"] == 0.0
    # Fakes that cover only half the real support: precision stays high, recall and coverage drop.
    half = x[x[:, 0] > 0]
    part = scores.precision_recall_density_coverage(x, half + 0.01 * rng.standard_normal(half.shape), k=3)
    assert part["precision"] > 0.9 and part["recall"] < 0.75 and part["coverage"] < 0.75


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(ConfigError, match="at least 2"):
        scores.statistics(np.zeros((1, 4)))
    with pytest.raises(ConfigError, match="feature sizes differ"):
        scores.fd_from_features(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ConfigError, match="k=3"):
        scores.precision_recall_density_coverage(np.zeros((3, 2)), np.zeros((3, 2)), k=3)
