"""Variations and crossbreeding of latents (Artbreeder's children and genes, on ws arrays).

Everything here is numpy on [num_ws, w_dim] arrays, so it runs anywhere and is exact:
- `children`: small random steps around a parent in W (one step shared by the chosen layers) or
  W+ (a step per layer), scaled by the spread of sampled w per dimension; the same seed gives the
  same children.
- `crossbreed`: a weighted blend of parents, or genes: each layer range taken from one parent.
"""

from __future__ import annotations

import numpy as np

from gan_explorer.core.errors import ConfigError

SPACES = ("w", "w+")


def children(parent_ws: np.ndarray, count: int, strength: float, w_std: np.ndarray | None = None,
             layers: tuple[int, int] | None = None, space: str = "w", seed: int = 0) -> list[np.ndarray]:
    """`count` children of `parent_ws` [num_ws, w_dim]: parent + strength * sigma * N(0, 1) on the
    layers `layers` (inclusive range; default all). `space` 'w' moves the chosen layers together,
    'w+' moves each layer on its own. Child i depends only on (seed, i)."""
    parent = np.asarray(parent_ws, dtype=np.float32)
    if parent.ndim != 2:
        raise ConfigError(f"a parent latent must be [num_ws, w_dim], not {list(parent.shape)}")
    if space not in SPACES:
        raise ConfigError(f"space {space!r}: must be w or w+")
    if not np.isfinite(strength) or strength < 0:
        raise ConfigError(f"strength {strength!r}: must be a finite number >= 0")
    num_ws, w_dim = parent.shape
    start, end = layers if layers is not None else (0, num_ws - 1)
    if not 0 <= start <= end < num_ws:
        raise ConfigError(f"layers {start}-{end}: this model has layers 0-{num_ws - 1}")
    sigma = np.ones(w_dim, np.float32) if w_std is None else np.asarray(w_std, np.float32)
    out = []
    for i in range(count):
        rng = np.random.default_rng([int(seed), i])
        rows = 1 if space == "w" else end - start + 1
        step = rng.standard_normal((rows, w_dim)).astype(np.float32) * sigma * np.float32(strength)
        child = parent.copy()
        child[start:end + 1] += step
        out.append(child)
    return out


def blend(parents: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """The weighted mean of the parents' ws (weights are normalised to sum 1)."""
    if len(parents) < 1 or len(parents) != len(weights):
        raise ConfigError("give one weight per parent")
    w = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ConfigError(f"weights {list(weights)}: must be finite, >= 0, and not all 0")
    stack = np.stack([np.asarray(p, dtype=np.float64) for p in parents])
    return np.tensordot(w / w.sum(), stack, axes=1).astype(np.float32)


def genes(parents: list[np.ndarray], owner_of_layer: list[int]) -> np.ndarray:
    """Each layer's w from the parent `owner_of_layer[layer]` (e.g. coarse from A, fine from B)."""
    num_ws = np.asarray(parents[0]).shape[0]
    if len(owner_of_layer) != num_ws:
        raise ConfigError(f"give an owner for each of the {num_ws} layers")
    if any(not 0 <= o < len(parents) for o in owner_of_layer):
        raise ConfigError(f"layer owners {owner_of_layer}: each must name one of {len(parents)} parents")
    return np.stack([np.asarray(parents[o], dtype=np.float32)[layer] for layer, o in enumerate(owner_of_layer)])
