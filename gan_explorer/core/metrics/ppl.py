"""Perceptual path length (Karras et al. 2019, "A Style-Based Generator Architecture", section 4.1).

For random pairs of latents and t ~ U(0, 1) ('full'; 'end' uses t in {0, 1}), render the images at
t and t + epsilon (epsilon = 1e-4) along the interpolation path: slerp in Z, lerp in W (every layer
of ws); with crop=True keep the face region as the paper does for faces (rows 3/8..8/8, columns
2/8..6/8); measure the perceptual distance between the two images and divide by epsilon^2. The
result is the mean after discarding values below the 1st and above the 99th percentile.

The perceptual distance comes from the chosen feature network's maps, as LPIPS does without its
learned weights (Zhang et al. 2018, the "baseline" variant): each map is unit-normalised over
channels per pixel, squared differences are summed over channels, averaged over pixels and summed
over layers. So PPL numbers, like FD, are comparable only on the same feature network.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.ops import lerp, slerp
from gan_explorer.core.progress import Steps

EPSILON = 1e-4


def perceptual_distance(features, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[N] distance between image batches a and b from `features.feature_maps` (LPIPS-style, unweighted)."""
    total = torch.zeros(len(a), dtype=torch.float64, device=a.device)
    for fa, fb in zip(features.feature_maps(a), features.feature_maps(b)):
        fa = fa / (fa.norm(dim=1, keepdim=True) + 1e-10)
        fb = fb / (fb.norm(dim=1, keepdim=True) + 1e-10)
        total += ((fa - fb) ** 2).sum(dim=1).mean(dim=(1, 2)).double()
    return total


def crop_face(images: torch.Tensor) -> torch.Tensor:
    c = images.shape[-1] // 8
    return images[:, :, c * 3:c * 8, c * 2:c * 6]


@torch.no_grad()
def perceptual_path_length(model, features, space: str = "w", num: int = 1000, sampling: str = "full",
                           crop: bool = True, epsilon: float = EPSILON, batch_size: int = 16, seed: int = 0,
                           progress=None, should_stop=None) -> dict:
    """{'mean', 'space', 'sampling', 'num', 'epsilon', 'crop', 'std', 'median'} for a latent model."""
    if space not in ("z", "w"):
        raise ConfigError(f"PPL space {space!r}: must be 'z' or 'w'")
    if sampling not in ("full", "end"):
        raise ConfigError(f"PPL sampling {sampling!r}: must be 'full' or 'end'")
    if num < 2:
        raise ConfigError(f"PPL needs at least 2 samples, got {num}")
    device = model._device()
    rng = np.random.RandomState(seed)
    batches = math.ceil(num / batch_size)
    steps = Steps(batches, progress, should_stop)
    values = []
    for b in range(batches):
        n = min(batch_size, num - b * batch_size)
        z = torch.from_numpy(rng.randn(2 * n, model.z_dim)).float().to(device)
        t = torch.from_numpy(rng.uniform(size=(n, 1)) if sampling == "full" else rng.randint(0, 2, size=(n, 1)) * 1.0)
        t = t.float().to(device)
        z0, z1 = z[:n], z[n:]
        if space == "z":
            zt = torch.cat([slerp(z0, z1, t), slerp(z0, z1, t + epsilon)])
            ws = model.map(zt)
        else:
            w0, w1 = model.map(z0), model.map(z1)
            tw = t[:, :, None]
            ws = torch.cat([lerp(w0, w1, tw), lerp(w0, w1, tw + epsilon)])
        images = model.synthesize(ws, noise_mode="const").float()
        if crop:
            images = crop_face(images)
        d = perceptual_distance(features, images[:n], images[n:]) / epsilon ** 2
        values.append(d.cpu().numpy())
        steps.step()
    dist = np.concatenate(values)
    lo, hi = np.percentile(dist, 1, method="lower"), np.percentile(dist, 99, method="higher")
    kept = dist[(dist >= lo) & (dist <= hi)]
    return {"mean": float(kept.mean()), "median": float(np.median(dist)), "std": float(kept.std()), "space": space,
            "sampling": sampling, "num": int(num), "epsilon": epsilon, "crop": crop}
