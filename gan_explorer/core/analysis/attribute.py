"""Your own attribute: a direction in W from samples you marked "has it" / "has not".

    grid = attribute_candidates(model, count=48, seed=0)      # seeds and ws to show as a grid
    fit = fit_attribute(ws_with, ws_without, reference_ws=grid.ws)   # refit after every click
    fit.direction, fit.sigma, fit.cv_accuracy                 # a named slider for the direction library

A linear boundary in W (InterFaceGAN, Shen et al. 2020): L2 logistic regression on the marked
latents; its unit normal, pointing toward "has it", is the direction, and the spread of sampled
latents along it is the slider's sigma. With a dozen samples of each kind the fit is rough, so
its stratified k-fold cross-validated accuracy is shown and it improves as more are marked.
Works for any latent family (an official FFHQ pickle included); without a mapping, W is Z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.analysis.linear import fit_logistic, k_fold_indices
from gan_explorer.core.errors import ConfigError, GanExplorerError

WHAT_AM_I_LOOKING_AT = (
    "Mark a dozen images that have the attribute you care about (a hat, a side view, a warm light...) "
    "and a dozen that do not. The app draws the flat boundary in the latent space W that best "
    "separates the two groups; the arrow across it, from 'has not' to 'has it', becomes a slider "
    "that adds or removes the attribute from any image. The cross-validated accuracy is how often "
    "the boundary, fitted without an image, puts that image on the right side: near 50% means the "
    "marks do not follow a straight direction (or need more samples), near 100% means they do. "
    "It is refitted each time you mark another image."
)

MIN_PER_CLASS = 2


@dataclass
class AttributeCandidates:
    seeds: list                  # the seeds shown
    ws: torch.Tensor             # [n, num_ws, w_dim] to render and to mark


@torch.no_grad()
def attribute_candidates(model, count: int = 48, seed: int = 0, truncation_psi: float = 1.0) -> AttributeCandidates:
    """Seeds seed..seed+count-1 and their ws: the grid the user marks."""
    if model.capabilities.is_translation:
        raise GanExplorerError(f"the {model.family} family translates images; it has no latent space")
    seeds = list(range(seed, seed + count))
    return AttributeCandidates(seeds, model.map(model.z_from_seeds(seeds), truncation_psi))


@dataclass
class AttributeFit:
    direction: np.ndarray        # [w_dim] unit vector toward "has it"
    sigma: float                 # spread of the reference (or marked) latents along it: the slider unit
    cv_accuracy: float | None    # stratified k-fold accuracy (None with fewer than 2 folds' worth)
    folds: int
    num_positive: int
    num_negative: int
    bias: float                  # the logistic intercept (in centred, scaled W coordinates)
    train_accuracy: float

    def to_dict(self) -> dict:
        return {"direction": np.round(self.direction.astype(np.float64), 7).tolist(), "sigma": self.sigma,
                "cv_accuracy": self.cv_accuracy, "folds": self.folds, "num_positive": self.num_positive,
                "num_negative": self.num_negative, "train_accuracy": self.train_accuracy}


def _as_w(ws) -> np.ndarray:
    """[n, w_dim] from ws [n, num_ws, w_dim] (mean over layers) or [n, w_dim]."""
    a = np.asarray(ws.detach().cpu() if isinstance(ws, torch.Tensor) else ws, dtype=np.float64)
    if a.ndim == 3:
        a = a.mean(axis=1)
    if a.ndim != 2:
        raise ConfigError(f"marked latents of shape {list(a.shape)}: expected [n, w_dim] or [n, num_ws, w_dim]")
    return a


def fit_attribute(positive, negative, reference_ws=None, folds: int = 5, c: float = 1.0, seed: int = 0) -> AttributeFit:
    """Fit the boundary between marked latents; positive / negative: [n, num_ws, w_dim] or [n, w_dim]."""
    pos, neg = _as_w(positive), _as_w(negative)
    if len(pos) < MIN_PER_CLASS or len(neg) < MIN_PER_CLASS:
        raise ConfigError(f"mark at least {MIN_PER_CLASS} images of each kind (now {len(pos)} with, {len(neg)} without)")
    if pos.shape[1] != neg.shape[1]:
        raise ConfigError(f"marked latents of {pos.shape[1]} and {neg.shape[1]} dimensions")
    x = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    reference = _as_w(reference_ws) if reference_ws is not None else x
    centre = reference.mean(axis=0)
    scale = reference.std(axis=0).mean() or 1.0
    xs = (x - centre) / scale
    k = min(folds, len(pos), len(neg))
    cv = None
    if k >= 2:
        correct = 0
        for train, test in k_fold_indices(len(x), k, seed, labels=y):
            w, b = fit_logistic(xs[train], y[train], c=c)
            correct += int(((xs[test] @ w + b >= 0) == (y[test] > 0.5)).sum())
        cv = correct / len(x)
    w, b = fit_logistic(xs, y, c=c)
    norm = max(float(np.linalg.norm(w)), 1e-12)
    direction = (w / norm).astype(np.float32)
    sigma = float(((reference - centre) @ direction).std())
    train_acc = float(((xs @ w + b >= 0) == (y > 0.5)).mean())
    return AttributeFit(direction, sigma, cv, k if k >= 2 else 0, len(pos), len(neg), float(b), train_acc)
