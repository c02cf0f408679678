"""The numpy linear models the analyses use agree with scikit-learn's (the reference)."""

import numpy as np
import pytest

from gan_explorer.core.analysis.linear import fit_logistic, fit_ridge, k_fold_indices, r2_score

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is the reference (in the test extra)")


def test_ridge_equals_scikit_learn():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 12)) * rng.uniform(0.5, 3, 12) + 2
    y = x @ rng.normal(size=(12, 3)) + rng.normal(size=(200, 3)) + 5
    w, b = fit_ridge(x, y, alpha=3.0)
    ref = Ridge(alpha=3.0).fit(x, y)
    assert np.allclose(w, ref.coef_.T, atol=1e-8) and np.allclose(b, ref.intercept_, atol=1e-8)
    from sklearn.metrics import r2_score as sk_r2

    pred = x @ w + b
    assert np.allclose(r2_score(y, pred), sk_r2(y, pred, multioutput="raw_values"))


def test_logistic_equals_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8))
    y = (x @ rng.normal(size=8) + 0.3 * rng.normal(size=300) > 0.4).astype(float)
    w, b = fit_logistic(x, y, c=0.7)
    ref = LogisticRegression(C=0.7, tol=1e-10, max_iter=10000).fit(x, y)
    assert np.allclose(w, ref.coef_[0], atol=1e-4) and b == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_logistic_survives_separable_data():
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    w, b = fit_logistic(x, np.array([0, 0, 1, 1.0]))
    assert np.all(np.isfinite(w)) and w[0] > 0


def test_stratified_folds_cover_every_sample_once():
    labels = np.array([1] * 12 + [0] * 7)
    folds = k_fold_indices(len(labels), 4, labels=labels)
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(19))
    assert all(labels[t].sum() >= 2 and (1 - labels[t]).sum() >= 1 for _, t in folds)
