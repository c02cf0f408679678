"""Progressive growing (Karras et al. 2018): the schedule, the real images served at the current
resolution, and the paper's loss (WGAN-GP with a drift term, one critic step per G step).

The schedule is a function of the images trained so far: `phase_kimg` at the start resolution,
then for every doubling a fade-in of `fade_kimg` (alpha 0 -> 1) and `phase_kimg` of
stabilisation, and the final resolution until the run ends. The resolved start / phase / fade
are saved in the training state with the image count, so a run killed during a fade-in resumes
at the same resolution and alpha (even when the resume lengthens the run, which would change
the default phase length).

Every layer up to the final resolution exists from the first step and every one is in its
optimiser; a layer not yet in use gets no gradient, so Adam leaves it alone until it fades in.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.images import make_grid, to_uint8
from gan_explorer.core.training.trainers.base import SAMPLE_SEEDS, Trainer

log = logging.getLogger(__name__)
DRIFT = 0.001  # epsilon_drift: keeps the critic's output near zero (the paper's appendix A.1)
BETAS = (0.0, 0.99)  # the paper's Adam settings (with lr 0.001)


@dataclass(frozen=True)
class GrowthSchedule:
    start_resolution: int  # the resolution training starts at
    final_resolution: int  # the resolution it grows to
    phase_kimg: float      # kimg at each resolution once faded in
    fade_kimg: float       # kimg of each fade-in

    @classmethod
    def for_options(cls, options) -> "GrowthSchedule":
        """The schedule an options object asks for, with 0 phase / fade resolved: the run's kimg
        split into 2 * doublings + 2 equal shares, one for the start resolution, a fade and a phase
        for each resolution above it, and one more at the final resolution (which, counting its
        fade-in, gets three)."""
        final, start = options.resolution, options.start_resolution
        if start & (start - 1) or not 4 <= start <= final:
            raise ConfigError(f"--start-resolution {start}: must be a power of two from 4 to the final "
                              f"resolution {final}")
        if options.phase_kimg < 0 or options.fade_kimg < 0:
            raise ConfigError("--phase-kimg and --fade-kimg must not be negative")
        doublings = int(math.log2(final // start))
        share = options.kimg / (2 * doublings + 2)
        return cls(start, final, options.phase_kimg or share, options.fade_kimg or share)

    @property
    def doublings(self) -> int:
        return int(math.log2(self.final_resolution // self.start_resolution))

    @property
    def grown_kimg(self) -> float:
        """kimg at which the last fade-in ends (the final resolution at alpha 1)."""
        return self.doublings * (self.phase_kimg + self.fade_kimg)

    def at(self, nimg: int) -> tuple[int, float, str]:
        """(resolution, alpha, phase) after `nimg` trained images; phase is 'stable' or 'fade-in'."""
        kimg = nimg / 1000
        resolution = self.start_resolution
        t = kimg - self.phase_kimg
        for _ in range(self.doublings):
            if t < 0:
                return resolution, 1.0, "stable"
            resolution *= 2
            if t < self.fade_kimg:
                return resolution, float(t / self.fade_kimg), "fade-in"
            t -= self.fade_kimg + self.phase_kimg
        return resolution, 1.0, "stable"

    def to_dict(self) -> dict:
        return {"start_resolution": self.start_resolution, "final_resolution": self.final_resolution,
                "phase_kimg": float(self.phase_kimg), "fade_kimg": float(self.fade_kimg)}


def resize_real(images: torch.Tensor, resolution: int, alpha: float) -> torch.Tensor:
    """Real images as the generator draws them at this phase: area-downsampled to `resolution`
    and, during a fade-in, blended by alpha with the half-resolution images upsampled (nearest),
    the same blend the generator's output goes through (the paper's appendix A.1)."""
    size = images.shape[-1]
    if size != resolution:
        images = F.avg_pool2d(images, size // resolution)
    if alpha < 1 and resolution > 4:
        low = F.interpolate(F.avg_pool2d(images, 2), scale_factor=2, mode="nearest")
        images = torch.lerp(low, images, alpha)
    return images


class PGGANTrainer(Trainer):
    def __init__(self, options, device, dist):
        super().__init__(options, device, dist)
        if self.model.img_resolution != options.resolution:
            raise ConfigError(f"--model-option img_resolution={self.model.img_resolution} differs from "
                              f"--resolution {options.resolution}: the model grows to the data's resolution")
        self.schedule = GrowthSchedule.for_options(options)
        self.G = self.model
        self.D = self.G.make_discriminator().to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_G = self._adam(self.G.parameters(), options.lr, BETAS)
        self.opt_D = self._adam(self.D.parameters(), options.lr, BETAS)
        self.ema_kimg = options.ema_kimg or options.batch * 10 / 32
        self.cur_nimg = 0
        self._warn_if_short()

    def _warn_if_short(self):
        """A run whose --kimg ends before the last fade-in does would silently leave its last
        snapshot at a lower resolution than the data's."""
        s = self.schedule
        if self.options.kimg < s.grown_kimg:
            resolution, alpha, phase = s.at(int(self.options.kimg * 1000))
            where = f"{resolution} px" + (f" (fade-in alpha {alpha:.2f})" if phase == "fade-in" else "")
            log.warning("pggan: --kimg %g ends at %s, before growing to %d px (at %g kimg with these "
                        "phases): lengthen --kimg (a new run may shorten --phase-kimg / --fade-kimg)",
                        self.options.kimg, where, s.final_resolution, s.grown_kimg)

    def networks(self):
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    @property
    def phase(self) -> tuple[int, float, str]:
        return self.schedule.at(self.cur_nimg)

    def train_step(self, real, real_b=None):
        self.G.train()
        self.D.train()
        resolution, alpha, _ = self.phase
        n = real.shape[0]
        real = resize_real(real, resolution, alpha)

        # D: WGAN-GP (Gulrajani et al. 2017) plus the drift penalty, n_critic = 1 as the paper.
        with torch.no_grad():
            fake = self.G(self.random_z(n), resolution, alpha)
        d_real = self.D(self.augment(real), alpha)
        d_fake = self.D(self.augment(fake), alpha)
        eps = torch.rand(n, 1, 1, 1, device=self.device)
        mixed = torch.lerp(real, fake, eps).requires_grad_(True)
        (grads,) = torch.autograd.grad(self.D(mixed, alpha).sum(), mixed, create_graph=True)
        gp = (grads.flatten(1).norm(dim=1) - 1).square().mean()
        loss_d = d_fake.mean() - d_real.mean() + self.options.gp_lambda * gp + DRIFT * d_real.square().mean()
        stats = {"Loss/D/loss": self.update(loss_d, self.opt_D, "D"), "Loss/D/gp": float(gp.detach()),
                 "Loss/D/wdist": float((d_real.mean() - d_fake.mean()).detach())}

        # G: make the critic score the fakes high.
        self.D.requires_grad_(False)
        try:
            with self.autocast():
                loss_g = -self.D(self.augment(self.G(self.random_z(n), resolution, alpha)), alpha).float().mean()
            stats["Loss/G/loss"] = self.update(loss_g, self.opt_G, "G")
        finally:
            self.D.requires_grad_(True)
        self.update_ema(self.G_ema, self.G, self.ema_kimg, self.cur_nimg)
        self.step_count += 1
        self.cur_nimg += self.options.batch
        return stats

    def export_model(self):
        """The smoothed generator as a model that renders at the current resolution and alpha."""
        resolution, alpha, _ = self.phase
        return self.G_ema.at_resolution(resolution, alpha).eval()

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """The sample seeds at the current resolution, upscaled (nearest) to the final size so every
        grid of the run has the same size."""
        model = self.export_model()
        z = model.z_from_seeds(SAMPLE_SEEDS).to(self.device)
        images = model.synthesize(model.map(z))
        scale = self.schedule.final_resolution // images.shape[-1]
        if scale > 1:
            images = F.interpolate(images, scale_factor=scale, mode="nearest")
        return make_grid(to_uint8(images))

    def tick_stats(self):
        resolution, alpha, phase = self.phase
        return {"Progress/resolution": resolution, "Progress/alpha": alpha, "Progress/phase": phase}

    def extra_state(self):
        resolution, alpha, _ = self.phase
        return {"cur_nimg": self.cur_nimg, "schedule": self.schedule.to_dict(),
                "resolution": resolution, "alpha": alpha}

    def load_extra_state(self, state):
        saved = GrowthSchedule(**state["schedule"])
        if saved.final_resolution != self.schedule.final_resolution:
            raise ValueError(f"the state grows to {saved.final_resolution} px, this run to "
                             f"{self.schedule.final_resolution} px")
        changed = saved != self.schedule
        self.schedule = saved  # the phases the run started with, whatever --kimg a resume gives
        self.cur_nimg = int(state["cur_nimg"])
        if self.phase[:2] != (state["resolution"], state["alpha"]):
            raise ValueError(f"the state's phase {state['resolution']} px alpha {state['alpha']} does not "
                             f"follow from its schedule")
        if changed:
            self._warn_if_short()
