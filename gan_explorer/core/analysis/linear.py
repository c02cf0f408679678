"""Small linear models in numpy: ridge regression, L2 logistic regression, splits and scores.

Written here rather than taken from scikit-learn so the application (and its frozen executable,
which ships without scipy) fits factor directions and user-marked attributes without it; each is
a closed form or a few Newton steps, and tests/core/analysis/test_linear.py holds them equal to
scikit-learn's Ridge and LogisticRegression (scikit-learn is in the test extra).
"""

from __future__ import annotations

import numpy as np


def standardise(x: np.ndarray):
    """(x - mean) / std per column, and the mean and std (std 1 where a column is constant)."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return (x - mean) / std, mean, std


def train_test_split(n: int, test_fraction: float = 0.25, seed: int = 0):
    """Shuffled index arrays (train, test); at least one sample on each side."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1.0):
    """Ridge regression with an unpenalised intercept (scikit-learn's Ridge objective):
    min ||y - x w - b||^2 + alpha ||w||^2. y may be [N] or [N, K]; returns (w, b)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - xm, y - ym
    a = xc.T @ xc + alpha * np.eye(x.shape[1])
    w = np.linalg.solve(a, xc.T @ yc)
    return w, ym - xm @ w


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column (1 = perfect, 0 = no better than the mean)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    return 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0, max_iter: int = 100, tol: float = 1e-8):
    """L2-regularised logistic regression by Newton's method (scikit-learn's LogisticRegression(C=c)
    objective: 0.5 ||w||^2 + c * sum log-loss, intercept unpenalised). y in {0, 1}; returns (w, b)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, 1.0 / c)
    penalty[-1] = 0.0
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-np.clip(xb @ theta, -35, 35)))
        grad = xb.T @ (p - y) + penalty * theta
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-10)
        delta = np.linalg.solve(hessian, grad)
        theta -= delta
        if np.abs(delta).max() < tol:
            break
    return theta[:-1], float(theta[-1])


def k_fold_indices(n: int, folds: int, seed: int = 0, labels: np.ndarray | None = None):
    """[(train, test), ...]; with labels, every fold gets its share of each class (stratified)."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, dtype=np.int64)
    if labels is None:
        fold_of[rng.permutation(n)] = np.arange(n) % folds
    else:
        for value in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == value))
            fold_of[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(folds)]
