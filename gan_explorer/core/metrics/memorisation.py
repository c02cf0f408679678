"""Memorisation check: for each generated sample, the nearest training image in feature space.

A generator that copies its training set puts samples much closer to some training image than
training images are to each other. So the distances are reported beside a reference: each
training image's distance to its nearest *other* training image (leave-one-out). Samples closer
than the reference's 1st percentile are flagged as possible copies; the closest pairs are drawn
as a grid (each row: sample, nearest training image) for a person to judge.
"""

from __future__ import annotations

import numpy as np
import torch

from gan_explorer.core.io.images import make_grid


def nearest(query, reference, exclude_self: bool = False, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(distance [Q], index [Q]) of each query's nearest reference feature (Euclidean)."""
    q = torch.as_tensor(np.asarray(query), dtype=torch.float64)
    r = torch.as_tensor(np.asarray(reference), dtype=torch.float64)
    dists, index = [], []
    for start in range(0, len(q), block):
        d = torch.cdist(q[start:start + block], r)
        if exclude_self:
            rows = torch.arange(start, min(start + block, len(q)))
            d[torch.arange(len(rows)), rows] = float("inf")
        m = d.min(dim=1)
        dists.append(m.values)
        index.append(m.indices)
    return torch.cat(dists).numpy(), torch.cat(index).numpy()


def memorisation_report(fake_features, real_features, bins: int = 30, pairs: int = 16) -> dict:
    """Nearest-training-image distances of the samples, their histogram beside the real-to-real
    reference, the share of suspiciously close samples, and the closest pairs (indices)."""
    fake_d, fake_i = nearest(fake_features, real_features)
    real_d, _ = nearest(real_features, real_features, exclude_self=True)
    hi = float(max(fake_d.max(), real_d.max()))
    edges = np.linspace(0.0, hi if hi > 0 else 1.0, bins + 1)
    threshold = float(np.percentile(real_d, 1))
    order = np.argsort(fake_d)[:pairs]
    return {
        "median_distance": float(np.median(fake_d)),
        "reference_median_distance": float(np.median(real_d)),
        "ratio_to_reference": float(np.median(fake_d) / max(np.median(real_d), 1e-12)),
        "close_threshold": threshold,
        "close_fraction": float((fake_d < threshold).mean()),
        "histogram": {"edges": edges.tolist(), "samples": np.histogram(fake_d, edges)[0].tolist(),
                      "reference": np.histogram(real_d, edges)[0].tolist()},
        "closest_pairs": [{"sample": int(j), "training_image": int(fake_i[j]), "distance": float(fake_d[j])}
                          for j in order],
    }


def closest_pairs_grid(fake_images: np.ndarray, real_images: np.ndarray, pairs: list[dict], cols: int = 4) -> np.ndarray:
    """HWC uint8 grid: for each pair a sample with its nearest training image at its right."""
    tiles = []
    for pair in pairs:
        tiles.append(np.concatenate([fake_images[pair["sample"]], real_images[pair["training_image"]]], axis=1))
    if not tiles:
        return np.zeros((1, 1, 3), np.uint8)
    return make_grid(np.stack(tiles), cols)
