"""Image distances for projection: pixel, multi-scale structural (MS-SSIM + gradients), perceptual.

Every loss takes images [N, C, H, W] in [-1, 1] and returns one value per image [N], so a batch
of projections optimises each image independently (Adam is per element, the sum separates).

Named options (``make_loss(name)``), with their trade-offs:

- ``l2`` / ``l1``: pixel error only. Cheapest and exact for generated targets, but an optimiser
  that only sees pixels settles on blurry averages for targets the model cannot reach exactly.
- ``structural``: L1 + MS-SSIM (Wang et al. 2003) + image gradients. Needs no network and no
  weights; it rewards the right local contrast and edges at several scales, so reconstructions
  of unreachable targets stay sharper than with L1/L2. It knows nothing of what a face is.
- ``perceptual``: L2 + a distance between the feature maps of the shipped offline feature
  network (``core.metrics.features.load_features("gan_explorer")``, trained on procedural faces),
  each map unit-normalised over channels as LPIPS does (Zhang et al. 2018). Closest to what
  Karras et al. (2020) optimise, but only as good as that network is on the pictures at hand:
  it was trained on cartoon faces, not photos, and it costs a forward/backward pass per step.
- ``auto``: ``perceptual`` where the feature network and its weights are present, else
  ``structural``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import ConfigError

LOSSES = ("auto", "l2", "l1", "structural", "perceptual")

# Wang, Simoncelli & Bovik (2003): relative weight of each scale, finest first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SSIM_K1, SSIM_K2 = 0.01, 0.03
DATA_RANGE = 2.0  # images live in [-1, 1]


def gaussian_window(size: int = 7, sigma: float = 1.5, device=None, dtype=torch.float32) -> torch.Tensor:
    """A normalised 1-D Gaussian of `size` taps."""
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel, 'valid' (no padding), as the SSIM paper computes it.

    A weighted sum of shifted slices: on a CPU, oneDNN's depthwise convolution of these small
    images cost ~20 ms a call (measured), the slices well under 1 ms."""
    k = window.numel()
    w, h = x.shape[-1] - k + 1, x.shape[-2] - k + 1
    taps = window.tolist()
    x = sum(taps[i] * x[..., :, i:i + w] for i in range(k))
    return sum(taps[i] * x[..., i:i + h, :] for i in range(k))


def downsample2(x: torch.Tensor) -> torch.Tensor:
    """2x2 box downsampling (an odd last row or column is dropped), as a reshape and a mean:
    avg_pool2d took ~20 ms a call on these small images on a busy CPU (measured), this ~0.1 ms."""
    n, c, h, w = x.shape
    x = x[..., : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))


def ssim_terms(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(SSIM, contrast-structure term) per image [N], averaged over pixels and channels."""
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    mu_x, mu_y = _blur(x, window), _blur(y, window)
    sxx = _blur(x * x, window) - mu_x ** 2
    syy = _blur(y * y, window) - mu_y ** 2
    sxy = _blur(x * y, window) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)
    return (luminance * cs).flatten(1).mean(1), cs.flatten(1).mean(1)


def ssim(x: torch.Tensor, y: torch.Tensor, window_size: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """Single-scale SSIM per image [N] (Gaussian window, valid region only)."""
    return ssim_terms(x.float(), y.float(), gaussian_window(window_size, sigma, x.device))[0]


def ms_ssim_levels(size: int, window_size: int = 7) -> int:
    """Scales that fit: the coarsest must still hold a window (NVIDIA-sized 5 scales need 176 px
    with an 11-tap window; a 64 px image gets 4 scales of a 7-tap one)."""
    levels = 1
    while levels < len(MS_SSIM_WEIGHTS) and size // 2 ** levels >= window_size:
        levels += 1
    return levels


def ms_ssim(x: torch.Tensor, y: torch.Tensor, window_size: int = 7, sigma: float = 1.5,
            levels: int | None = None) -> torch.Tensor:
    """Multi-scale SSIM per image [N] (Wang et al. 2003), weights renormalised to the scales that fit.

    The contrast-structure terms of the finer scales and the full SSIM of the coarsest are
    clamped at 0 before the fractional powers (negative correlation would give NaN)."""
    x, y = x.float(), y.float()
    size = min(x.shape[-2:])
    if size < window_size:
        raise ConfigError(f"MS-SSIM needs images of at least {window_size} px, got {size}")
    levels = levels or ms_ssim_levels(size, window_size)
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], device=x.device)
    weights = weights / weights.sum()
    window = gaussian_window(window_size, sigma, x.device)
    values = []
    for level in range(levels):
        s, cs = ssim_terms(x, y, window)
        values.append(F.relu(s if level == levels - 1 else cs))
        if level < levels - 1:
            x, y = downsample2(x), downsample2(y)
    stacked = torch.stack(values, dim=1)  # [N, levels]
    return (stacked.clamp_min(1e-8) ** weights).prod(dim=1)


def gradient_loss(x: torch.Tensor, y: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """Mean L1 distance of horizontal and vertical finite differences, at `levels` scales, per image [N]."""
    total = x.new_zeros(x.shape[0])
    for level in range(levels):
        if level:
            if min(x.shape[-2:]) < 4:
                break
            x, y = downsample2(x), downsample2(y)
        dx = (x[..., :, 1:] - x[..., :, :-1]) - (y[..., :, 1:] - y[..., :, :-1])
        dy = (x[..., 1:, :] - x[..., :-1, :]) - (y[..., 1:, :] - y[..., :-1, :])
        total = total + dx.abs().flatten(1).mean(1) + dy.abs().flatten(1).mean(1)
    return total / levels


class PixelLoss(nn.Module):
    def __init__(self, kind: str = "l2"):
        super().__init__()
        self.kind = kind
        self.name = kind

    def forward(self, images, target):
        diff = images - target
        return (diff.square() if self.kind == "l2" else diff.abs()).flatten(1).mean(1)


class StructuralLoss(nn.Module):
    """L1 + (1 - MS-SSIM) + gradients; the weights put the three on a similar footing for faces."""

    name = "structural"

    def __init__(self,
                 l1_weight: float = 1.0,        # keeps colours and flat regions right (SSIM ignores a uniform shift)
                 ms_ssim_weight: float = 1.0,   # local contrast and structure at every scale
                 gradient_weight: float = 1.0,  # edges where SSIM's windows are too coarse
                 ):
        super().__init__()
        self.l1_weight, self.ms_ssim_weight, self.gradient_weight = l1_weight, ms_ssim_weight, gradient_weight

    def forward(self, images, target):
        loss = self.l1_weight * (images - target).abs().flatten(1).mean(1)
        if min(images.shape[-2:]) >= 7:
            loss = loss + self.ms_ssim_weight * (1 - ms_ssim(images, target))
        return loss + self.gradient_weight * gradient_loss(images, target)


class PerceptualLoss(nn.Module):
    """L2 pixels + LPIPS-style distance of a feature network's maps (unit-normalised per position)."""

    name = "perceptual"

    def __init__(self, features: nn.Module,
                 pixel_weight: float = 1.0,    # the L2 term: colours and exact values the features blur over
                 feature_weight: float = 1.0,  # the sum over maps of mean squared normalised differences
                 ):
        super().__init__()
        self.features = features.eval().requires_grad_(False)
        self.pixel_weight, self.feature_weight = pixel_weight, feature_weight
        self._target_key = None
        self._target_maps = None

    def _maps(self, images):
        return [m / (m.square().sum(dim=1, keepdim=True) + 1e-10).sqrt() for m in self.features.feature_maps(images)]

    def forward(self, images, target):
        key = (target.data_ptr(), target._version, tuple(target.shape))
        if key != self._target_key:  # the target's maps are the same every step: computed once
            with torch.no_grad():
                self._target_maps = self._maps(target)
            self._target_key = key
        loss = self.pixel_weight * (images - target).square().flatten(1).mean(1)
        for a, b in zip(self._maps(images), self._target_maps):
            loss = loss + self.feature_weight * (a - b).square().sum(dim=1).flatten(1).mean(1)
        return loss


def load_perceptual_features(device="cpu"):
    """The offline feature network of the metrics, or None where it (or its weights) is missing."""
    try:
        from gan_explorer.core.metrics.features import load_features

        return load_features("gan_explorer", device=device)
    except Exception:  # not built, weights not shipped, or an unreadable file: fall back
        return None


def make_loss(name: str = "auto", device="cpu") -> nn.Module:
    """A loss module by its option name (see the module docstring for the trade-offs)."""
    if name not in LOSSES:
        raise ConfigError(f"loss {name!r}: must be one of {', '.join(LOSSES)}")
    if name in ("l1", "l2"):
        return PixelLoss(name)
    if name == "structural":
        return StructuralLoss()
    features = load_perceptual_features(device)
    if features is None:
        if name == "perceptual":
            raise ConfigError("loss 'perceptual': the offline feature network (resources/networks) is not "
                              "available; use --loss structural")
        return StructuralLoss()
    return PerceptualLoss(features)


def psnr(images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image [N], for images in [-1, 1] (peak-to-peak 2)."""
    mse = (images.float() - target.float()).square().flatten(1).mean(1).clamp_min(1e-12)
    return 10 * torch.log10(DATA_RANGE ** 2 / mse)


def psnr_uint8(a, b) -> float:
    """PSNR in dB of two uint8 images (what a user sees in saved PNGs)."""
    import numpy as np

    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
