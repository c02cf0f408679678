"""The 2-D GAN lab's engine: tiny MLPs, one D step / one G step, and what the view draws.

Everything here is plain PyTorch + numpy; the widget (gan_explorer/gui/widgets/gan_lab.py)
only draws the `LabFrame`s this produces. What a frame holds:
  - real and generated points (the same latent samples every frame, so points move smoothly),
  - D's output over the plane (P(real) for the GANs, the critic's value for the WGANs),
  - G's gradient arrows: for each generated point x, -dL_G/dx, the way G's loss pushes it,
  - the image of a grid of z under G (for z_dim 2 the folded latent plane; for 1 a curve),
  - the loss curves and, on the ring and the grid, the mode coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_explorer.core.errors import Cancelled, GanExplorerError
from gan_explorer.core.lab2d import losses
from gan_explorer.core.lab2d.config import LabConfig
from gan_explorer.core.lab2d.coverage import Coverage, mode_coverage
from gan_explorer.core.lab2d.distributions import VIEW_EXTENT, make_distribution

VIEW_POINTS = 512       # real and generated points drawn per frame
ARROWS = 128            # generated points that carry a gradient arrow
FIELD_SIZE = 64         # D's heat map is FIELD_SIZE x FIELD_SIZE samples of the view
COVERAGE_POINTS = 2000  # generated points the coverage is measured on
LATENT_LINES = 9        # z-grid lines per axis (z_dim 2), at -2..2 std
LATENT_SAMPLES = 48     # samples along each z-grid line
MAX_HISTORY = 10000     # loss-curve points kept per curve; beyond, every other one is dropped


class LabDiverged(GanExplorerError):
    """A loss became NaN or infinite (the learning rate is too high for these settings)."""


def make_mlp(in_dim: int, hidden: int, layers: int, out_dim: int) -> nn.Sequential:
    widths = [in_dim] + [hidden] * layers
    modules = []
    for a, b in zip(widths[:-1], widths[1:]):
        modules += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    modules.append(nn.Linear(widths[-1], out_dim))
    return nn.Sequential(*modules)


@dataclass(frozen=True)
class LabFrame:
    """Everything the view draws, as numpy arrays (no torch, no Qt)."""

    config: LabConfig
    g_steps: int
    d_steps: int
    real: np.ndarray            # [VIEW_POINTS, 2]
    fake: np.ndarray            # [VIEW_POINTS, 2]
    field: np.ndarray           # [FIELD_SIZE (y), FIELD_SIZE (x)] D's output over the view
    field_label: str            # what the field means: "D(x) = P(real)" or "critic f(x)"
    extent: tuple               # (xmin, xmax, ymin, ymax) of the field
    arrow_from: np.ndarray      # [ARROWS, 2] generated points
    arrow_vec: np.ndarray       # [ARROWS, 2] -dL_G/dx at those points (unscaled)
    latent_grid: np.ndarray     # [m, 2] G(z) along the z-grid lines, NaN rows between lines
    d_curve: tuple              # (D steps, D loss) arrays
    g_curve: tuple              # (D steps at each G step, G loss) arrays
    coverage: Coverage | None   # on the ring and the grid; None elsewhere
    coverage_g_steps: int = 0   # the G step the coverage was measured at (a few frames old while playing)
    token: int = 0              # the lab configuration it was made for (LabRunner stamps it; see runner.py)


class GanLab:
    def __init__(self, config: LabConfig = LabConfig(), drawn_points=None):
        self.config = config.resolved()
        self.drawn_points = None if drawn_points is None else np.asarray(drawn_points, np.float32)
        self.distribution = make_distribution(self.config.dataset, self.drawn_points)
        c = self.config
        with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's RNG
            torch.manual_seed(c.seed)
            self.G = make_mlp(c.z_dim, c.g_hidden, c.g_layers, 2)
            self.D = make_mlp(2, c.d_hidden, c.d_layers, 1)
        if c.loss == "wgan":
            self.opt_g = torch.optim.RMSprop(self.G.parameters(), lr=c.lr_g)
            self.opt_d = torch.optim.RMSprop(self.D.parameters(), lr=c.lr_d)
            self._clip_critic()
        else:
            betas = (0.5, 0.9) if c.loss == "wgan-gp" else (0.5, 0.999)
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.lr_g, betas=betas)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=c.lr_d, betas=betas)
        self.rng = torch.Generator().manual_seed(c.seed)
        view_rng = torch.Generator().manual_seed(c.seed + 1)
        self.view_z = torch.randn(VIEW_POINTS, c.z_dim, generator=view_rng)
        self.view_real = self.distribution.sample(VIEW_POINTS, view_rng)
        self.coverage_z = torch.randn(COVERAGE_POINTS, c.z_dim, generator=view_rng)
        self.latent_z = latent_grid_z(c.z_dim)
        self.g_steps = self.d_steps = 0
        self._d_hist: list[tuple[int, float]] = []
        self._g_hist: list[tuple[int, float]] = []
        self._coverage: Coverage | None = None
        self._coverage_at: int | None = None

    # Training.
    def _sample_z(self, n):
        return torch.randn(n, self.config.z_dim, generator=self.rng)

    def _check(self, value: float, what: str) -> float:
        if not np.isfinite(value):
            raise LabDiverged(f"{what} loss became {value} after {self.g_steps} G steps "
                              f"({self.config.loss}, lr_g={self.config.lr_g:g}, lr_d={self.config.lr_d:g}): "
                              "lower the learning rates and reset")
        return value

    def _clip_critic(self):
        with torch.no_grad():
            for p in self.D.parameters():
                p.clamp_(-self.config.clip, self.config.clip)

    def d_step(self) -> float:
        c = self.config
        real = self.distribution.sample(c.batch, self.rng)
        with torch.no_grad():
            fake = self.G(self._sample_z(c.batch))
        out = self.D(torch.cat([real, fake]))  # one pass over both halves: fewer ops per step
        loss = losses.d_loss(c.loss, out[: len(real)], out[len(real):])
        if c.loss == "wgan-gp" and c.gp_lambda:
            loss = loss + c.gp_lambda * losses.gradient_penalty(self.D, real, fake, self.rng)
        value = self._check(float(loss.detach()), "D")
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if c.loss == "wgan":
            self._clip_critic()
        self.d_steps += 1
        self._d_hist.append((self.d_steps, value))
        if len(self._d_hist) > MAX_HISTORY:  # a long session keeps the curve's shape, not every step
            self._d_hist = self._d_hist[::2]
        return value

    def g_step(self) -> float:
        c = self.config
        self.D.requires_grad_(False)
        try:
            loss = losses.g_loss(c.loss, self.D(self.G(self._sample_z(c.batch))))
            value = self._check(float(loss.detach()), "G")
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            self.D.requires_grad_(True)
        self.g_steps += 1
        self._g_hist.append((self.d_steps, value))
        if len(self._g_hist) > MAX_HISTORY:
            self._g_hist = self._g_hist[::2]
        return value

    def step(self) -> tuple[float, float]:
        """One iteration: n_critic D steps, then one G step. Returns (last D loss, G loss)."""
        for _ in range(self.config.n_critic):
            d = self.d_step()
        return d, self.g_step()

    def train(self, iterations: int, progress=None, should_stop=None) -> None:
        """`iterations` steps; progress(done, total) after each, should_stop() polled (then Cancelled)."""
        for i in range(iterations):
            if should_stop is not None and should_stop():
                raise Cancelled(f"stopped after {i} of {iterations} iterations")
            self.step()
            if progress is not None:
                progress(i + 1, iterations)

    # What the view shows.
    @torch.no_grad()
    def generate(self, z: torch.Tensor | None = None, n: int = VIEW_POINTS) -> np.ndarray:
        return self.G(self.view_z[:n] if z is None else z).numpy()

    @torch.no_grad()
    def d_field(self, size: int = FIELD_SIZE, extent=VIEW_EXTENT) -> np.ndarray:
        """D over a size x size grid of the view, rows = y (bottom to top), columns = x."""
        xmin, xmax, ymin, ymax = extent
        xs = torch.linspace(xmin, xmax, size)
        ys = torch.linspace(ymin, ymax, size)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        out = self.D(torch.stack([xx.ravel(), yy.ravel()], 1)).reshape(size, size)
        if self.config.loss in ("saturating", "nonsaturating"):
            out = torch.sigmoid(out)
        return out.numpy()

    def g_gradients(self, points: np.ndarray) -> np.ndarray:
        """-dL_G/dx at each point: where G's loss pushes a generated point sitting there."""
        x = torch.as_tensor(points, dtype=torch.float32).clone().requires_grad_(True)
        self.D.requires_grad_(False)
        try:
            per_point = losses.g_loss_per_point(self.config.loss, self.D(x))
            (grad,) = torch.autograd.grad(per_point.sum(), x)
        finally:
            self.D.requires_grad_(True)
        return (-grad).numpy()

    @torch.no_grad()
    def latent_image(self) -> np.ndarray:
        """G applied to the z-grid lines; NaN rows separate the lines (for one connected polyline)."""
        out = self.G(self.latent_z).numpy()
        nan_rows = np.isnan(self.latent_z.numpy()).any(1)
        out[nan_rows] = np.nan
        return out

    def coverage(self, points: np.ndarray | None = None) -> Coverage | None:
        dist = self.distribution
        if dist.modes is None:
            return None
        if points is None:
            points = self.generate(self.coverage_z)
        return mode_coverage(points, dist.modes, dist.mode_std)

    def frame(self, extent=VIEW_EXTENT, measure_coverage: bool = True) -> LabFrame:
        """What the view draws; `extent` (xmin, xmax, ymin, ymax) is the part of the plane it shows.

        measure_coverage=False reuses the last measured coverage (2000 more points through G):
        a view playing at 20+ frames a second needs it a few times a second, not every frame."""
        if measure_coverage or self._coverage_at is None:
            self._coverage, self._coverage_at = self.coverage(), self.g_steps
        fake = self.generate()
        arrow_from = fake[:ARROWS]
        d_hist = np.asarray(self._d_hist, np.float64).reshape(-1, 2)
        g_hist = np.asarray(self._g_hist, np.float64).reshape(-1, 2)
        gan = self.config.loss in ("saturating", "nonsaturating")
        return LabFrame(
            config=self.config, g_steps=self.g_steps, d_steps=self.d_steps,
            real=self.view_real.numpy(), fake=fake,
            field=self.d_field(extent=extent), field_label="D(x) = P(real)" if gan else "critic f(x)",
            extent=tuple(float(v) for v in extent),
            arrow_from=arrow_from, arrow_vec=self.g_gradients(arrow_from), latent_grid=self.latent_image(),
            d_curve=(d_hist[:, 0], d_hist[:, 1]), g_curve=(g_hist[:, 0], g_hist[:, 1]),
            coverage=self._coverage, coverage_g_steps=self._coverage_at,
        )


def latent_grid_z(z_dim: int) -> torch.Tensor:
    """z along grid lines with NaN rows between them: a 9 x 9 grid at -2..2 std (z_dim 2), a line (1)."""
    if z_dim == 1:
        return torch.linspace(-3, 3, 4 * LATENT_SAMPLES)[:, None]
    ticks = torch.linspace(-2, 2, LATENT_LINES)
    along = torch.linspace(-2, 2, LATENT_SAMPLES)
    gap = torch.full((1, 2), float("nan"))
    pieces = []
    for t in ticks:
        pieces += [torch.stack([along, torch.full_like(along, t)], 1), gap,
                   torch.stack([torch.full_like(along, t), along], 1), gap]
    return torch.cat(pieces)
