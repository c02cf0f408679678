"""Named 2-D distributions for the GAN lab, all inside the square [-3, 3]^2 the view shows.

The ring of 8 Gaussians (Metz et al. 2017, "Unrolled GANs") and the 5x5 grid (Srivastava et al.
2017, VEEGAN) have known modes, so mode coverage can be measured on them; two moons, the spiral
and the points a student draws have none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError

DATASETS = ("ring", "grid", "moons", "spiral", "drawn")
VIEW_EXTENT = (-3.0, 3.0, -3.0, 3.0)  # xmin, xmax, ymin, ymax of the plane the lab shows

RING_RADIUS = 2.0       # the 8 modes sit on this circle
RING_STD = 0.05         # per-mode standard deviation; 3 std is a "high-quality" sample
GRID_SPACING = 1.0      # the 25 modes sit at {-2, -1, 0, 1, 2}^2
GRID_STD = 0.05
CURVE_NOISE = 0.05      # jitter of the moons and the spiral
DRAWN_STD = 0.05        # each drawn point becomes a small Gaussian blob
MAX_DRAWN = 5000        # a drawing larger than this is refused (it would be a paste, not a drawing)


@dataclass(frozen=True)
class Distribution:
    name: str
    modes: np.ndarray | None = None     # [k, 2] centres where the distribution is a Gaussian mixture
    mode_std: float | None = None       # the mixture's per-mode standard deviation
    points: np.ndarray | None = None    # [m, 2] anchor points (drawn) sampled with DRAWN_STD jitter

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n points [n, 2] float32, reproducible with the given generator."""
        if self.name in ("ring", "grid", "drawn"):
            centres = torch.as_tensor(self.modes if self.points is None else self.points, dtype=torch.float32)
            pick = torch.randint(0, len(centres), (n,), generator=generator)
            std = self.mode_std if self.points is None else DRAWN_STD
            return centres[pick] + std * torch.randn(n, 2, generator=generator)
        if self.name == "moons":
            t = torch.rand(n, generator=generator) * math.pi
            upper = torch.rand(n, generator=generator) < 0.5
            x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
            y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
            pts = torch.stack([x - 0.5, y - 0.25], 1) * 1.6  # centred, about [-2.4, 2.4] x [-1.2, 1.2]
            return pts + CURVE_NOISE * torch.randn(n, 2, generator=generator)
        if self.name == "spiral":
            # Archimedean spiral r = a * theta over 1.75 turns, uniform in arc length (sqrt of uniform theta).
            u = torch.rand(n, generator=generator)
            theta = (0.2 + 0.8 * u.sqrt()) * 3.5 * math.pi
            r = 2.5 * theta / (3.5 * math.pi)
            pts = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1)
            return pts + CURVE_NOISE * torch.randn(n, 2, generator=generator)
        raise ConfigError(f"dataset {self.name!r}: must be one of {', '.join(DATASETS)}")


def ring_modes(count: int = 8, radius: float = RING_RADIUS) -> np.ndarray:
    angles = 2 * np.pi * np.arange(count) / count
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], 1).astype(np.float32)


def grid_modes(side: int = 5, spacing: float = GRID_SPACING) -> np.ndarray:
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    xx, yy = np.meshgrid(ticks, ticks)
    return np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)


def make_distribution(name: str, drawn_points=None) -> Distribution:
    """The distribution called `name`; 'drawn' needs the points the user drew ([m, 2], m >= 3)."""
    if name == "ring":
        return Distribution("ring", ring_modes(), RING_STD)
    if name == "grid":
        return Distribution("grid", grid_modes(), GRID_STD)
    if name in ("moons", "spiral"):
        return Distribution(name)
    if name == "drawn":
        pts = np.asarray(drawn_points if drawn_points is not None else np.zeros((0, 2)), dtype=np.float32)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ConfigError(f"drawn points: expected an array of shape [m, 2], got {list(pts.shape)}")
        if len(pts) < 3:
            raise ConfigError(f"drawn points: draw at least 3 points (got {len(pts)})")
        if len(pts) > MAX_DRAWN:
            raise ConfigError(f"drawn points: at most {MAX_DRAWN} (got {len(pts)})")
        if not np.isfinite(pts).all():
            raise ConfigError("drawn points: NaN or infinite coordinates")
        return Distribution("drawn", points=pts)
    raise ConfigError(f"dataset {name!r}: must be one of {', '.join(DATASETS)}")
