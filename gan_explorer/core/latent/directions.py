"""Discovered directions in W: GANSpace (PCA of sampled w) and SeFa (closed-form factorisation).

Härkönen et al. 2020 (GANSpace): principal components of w over many samples.
Shen & Zhou 2021 (SeFa): eigenvectors of A^T A, where A stacks the style affine weights
that turn w into per-layer styles; moving w along them changes the styles the most.
Both return unit directions [k, w_dim] and the standard deviation of w along each.
"""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def pca_directions(model, k: int = 20, samples: int = 5000, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, model.z_dim, generator=g).to(model._device())
    w = model.map(z)[:, 0].cpu().double().numpy()
    w = w - w.mean(axis=0)
    _, s, vt = np.linalg.svd(w, full_matrices=False)
    k = min(k, vt.shape[0])
    sigma = s[:k] / np.sqrt(max(samples - 1, 1))
    return vt[:k].astype(np.float32), sigma.astype(np.float32)


def style_weight_matrix(model) -> np.ndarray | None:
    """The stacked affine weights (styles = A w + b) of every synthesis layer, or None."""
    blocks = [m.weight for name, m in model.named_modules() if name.endswith("affine") and hasattr(m, "weight")
              and name.startswith("synthesis")]
    if not blocks:
        return None
    return torch.cat([b.detach().cpu().double() for b in blocks]).numpy()


@torch.no_grad()
def sefa_directions(model, k: int = 20, samples: int = 2000, seed: int = 0):
    a = style_weight_matrix(model)
    if a is None:
        raise ValueError(f"SeFa needs style layers; the {model.family} family has none")
    a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-8)
    eigenvalues, vectors = np.linalg.eigh(a.T @ a)
    order = np.argsort(eigenvalues)[::-1][:k]
    directions = vectors[:, order].T.astype(np.float32)
    # Spread of sampled w along each direction, so sliders move in units of sigma.
    g = torch.Generator().manual_seed(seed)
    w = model.map(torch.randn(samples, model.z_dim, generator=g).to(model._device()))[:, 0].cpu().numpy()
    sigma = (w - w.mean(0)) @ directions.T
    return directions, sigma.std(axis=0).astype(np.float32)


METHODS = {"pca": pca_directions, "sefa": sefa_directions}
