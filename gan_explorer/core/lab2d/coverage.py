"""Mode coverage on the Gaussian-mixture datasets (the measure of the unrolled-GAN and VEEGAN papers).

A generated point is "high quality" when it lies within k standard deviations of its nearest
mode; a mode is covered when at least `min_share` of all generated points are high-quality
points of that mode. A collapsed generator covers few modes however good its points are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Coverage:
    modes_covered: int      # modes holding at least min_share of the points (within k std)
    modes_total: int
    high_quality: float     # share of all points within k std of some mode
    points: int             # how many generated points were measured

    @property
    def fraction(self) -> float:
        return self.modes_covered / self.modes_total

    def __str__(self) -> str:
        return (f"{self.modes_covered}/{self.modes_total} modes covered, "
                f"{100 * self.high_quality:.0f}% of points within 3 std of a mode")


def mode_coverage(points, modes, std: float, min_share: float = 0.05, k_std: float = 3.0) -> Coverage:
    points = np.asarray(points, dtype=np.float64)
    modes = np.asarray(modes, dtype=np.float64)
    dist = np.linalg.norm(points[:, None, :] - modes[None, :, :], axis=2)  # [n, k]
    nearest = dist.argmin(1)
    close = dist[np.arange(len(points)), nearest] <= k_std * std
    counts = np.bincount(nearest[close], minlength=len(modes))
    covered = int((counts >= min_share * len(points)).sum())
    return Coverage(covered, len(modes), float(close.mean()) if len(points) else 0.0, len(points))
