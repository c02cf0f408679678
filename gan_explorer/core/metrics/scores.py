"""Distances between two sets of features (numpy / torch, no Qt, no scipy at run time).

- Frechet distance (Heusel et al. 2017): ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), with
  tr((S1 S2)^(1/2)) from a symmetric eigendecomposition: (S1 S2)^(1/2) has the eigenvalues of
  S1^(1/2) S2 S1^(1/2), which is symmetric positive semi-definite, so the trace is the sum of the
  square roots of its (clipped) eigenvalues. Tested equal to scipy.linalg.sqrtm.
- KID (Binkowski et al. 2018): the unbiased MMD^2 with the polynomial kernel
  k(x, y) = (x.y / d + 1)^3, over random subsets; mean and std over subsets.
- Precision / recall (Kynkaanniemi et al. 2019): k-NN balls around each real (fake) feature;
  precision = share of fakes inside some real ball, recall = share of reals inside some fake ball.
- Density / coverage (Naeem et al. 2020): density counts how many real balls hold each fake (/k);
  coverage = share of real balls that hold at least one fake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError


@dataclass(frozen=True)
class Statistics:
    mu: np.ndarray      # [D] float64
    sigma: np.ndarray   # [D, D] float64
    count: int


def statistics(features) -> Statistics:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ConfigError(f"need at least 2 feature vectors [N, D] for statistics, got shape {f.shape}")
    return Statistics(f.mean(axis=0), np.cov(f, rowvar=False), len(f))


def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    m = (np.asarray(matrix, np.float64) + np.asarray(matrix, np.float64).T) / 2
    values, vectors = np.linalg.eigh(m)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((sigma1 sigma2)^(1/2)) for covariance matrices, via sigma1^(1/2) sigma2 sigma1^(1/2)."""
    root1 = sqrtm_psd(sigma1)
    inner = root1 @ np.asarray(sigma2, np.float64) @ root1
    values = np.linalg.eigvalsh((inner + inner.T) / 2)
    return float(np.sqrt(np.clip(values, 0, None)).sum())


def frechet_distance(a: Statistics, b: Statistics) -> float:
    if a.mu.shape != b.mu.shape:
        raise ConfigError(f"feature sizes differ: {a.mu.shape[0]} vs {b.mu.shape[0]}")
    diff = a.mu - b.mu
    value = diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2 * trace_sqrt_product(a.sigma, b.sigma)
    return float(max(value, 0.0))


def fd_from_features(x, y) -> float:
    return frechet_distance(statistics(x), statistics(y))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    sum_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    sum_yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * kxy.mean())


def kid(x, y, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> dict:
    """{'mean', 'std', 'subsets', 'subset_size'}: unbiased MMD^2 (cubic polynomial kernel) over subsets."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise ConfigError(f"KID needs at least 2 samples on each side, got {len(x)} and {len(y)}")
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(max(1, subsets)):
        ix = rng.choice(len(x), size, replace=False)
        iy = rng.choice(len(y), size, replace=False)
        values.append(_mmd2_unbiased(x[ix], y[iy]))
    values = np.array(values)
    return {"mean": float(values.mean()), "std": float(values.std()), "subsets": len(values), "subset_size": size}


def _pairwise(a: torch.Tensor, b: torch.Tensor, block: int = 4096) -> torch.Tensor:
    return torch.cat([torch.cdist(a[i:i + block], b) for i in range(0, len(a), block)]) if len(a) else \
        torch.zeros(0, len(b), dtype=a.dtype)


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    if len(features) <= k:
        raise ConfigError(f"k-NN with k={k} needs more than {k} samples, got {len(features)}")
    d = _pairwise(features, features)
    return d.kthvalue(k + 1, dim=1).values  # the 1st smallest is the point itself (distance 0)


def precision_recall_density_coverage(real, fake, k: int = 3) -> dict:
    """Kynkaanniemi et al. 2019 (precision, recall) and Naeem et al. 2020 (density, coverage), k-NN balls."""
    real = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    fake = torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    real_r, fake_r = knn_radii(real, k), knn_radii(fake, k)
    d_fr = _pairwise(fake, real)                                   # [F, R]
    inside_real = d_fr <= real_r[None, :]                          # fake j inside real ball i
    precision = inside_real.any(dim=1).double().mean()
    recall = (d_fr.T <= fake_r[None, :]).any(dim=1).double().mean()
    density = inside_real.sum(dim=1).double().mean() / k
    coverage = (d_fr.min(dim=0).values <= real_r).double().mean()
    return {"precision": float(precision), "recall": float(recall), "density": float(density),
            "coverage": float(coverage), "k": k}
