"""The lab's settings: one frozen dataclass (saved as JSON), with defaults per loss."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.lab2d.distributions import DATASETS

LOSSES = ("saturating", "nonsaturating", "wgan", "wgan-gp")
LOSS_TITLES = {
    "saturating": "GAN, saturating G loss (minimax)",
    "nonsaturating": "GAN, non-saturating G loss",
    "wgan": "WGAN, weight clipping",
    "wgan-gp": "WGAN-GP, gradient penalty",
}
# Each objective with the optimiser its paper used (lrs raised for 2-D toys that must move in seconds).
LOSS_DEFAULTS = {
    "saturating": dict(lr_g=1e-3, lr_d=1e-3, n_critic=1),
    "nonsaturating": dict(lr_g=1e-3, lr_d=1e-3, n_critic=1),
    "wgan": dict(lr_g=5e-4, lr_d=5e-4, n_critic=5),
    "wgan-gp": dict(lr_g=1e-3, lr_d=1e-3, n_critic=5),
}


@dataclass(frozen=True)
class LabConfig:
    dataset: str = "ring"            # ring, grid, moons, spiral or drawn (the points the user drew)
    loss: str = "nonsaturating"      # saturating, nonsaturating, wgan (weight clipping) or wgan-gp
    z_dim: int = 2                   # 1: G draws a curve; 2: G folds a plane (what the z-grid shows)
    g_hidden: int = 64               # G's hidden width: small enough to watch, big enough for the ring
    g_layers: int = 3                # G's hidden layers
    d_hidden: int = 64               # D's hidden width
    d_layers: int = 3                # D's hidden layers
    lr_g: float = 0.0                # G's learning rate; 0: the loss's default (LOSS_DEFAULTS)
    lr_d: float = 0.0                # D's learning rate; 0: the loss's default
    n_critic: int = 0                # D steps per G step; 0: the loss's default (5 for the WGANs)
    batch: int = 256                 # points per step, real and generated
    clip: float = 0.01               # WGAN: critic weights are clipped to [-clip, clip] (Arjovsky et al.)
    gp_lambda: float = 0.1           # WGAN-GP: penalty weight (0.1 in Gulrajani et al.'s toy code; 10 on images)
    seed: int = 0                    # seeds the weights, the data and the latent samples

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset {self.dataset!r}: must be one of {', '.join(DATASETS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss {self.loss!r}: must be one of {', '.join(LOSSES)}")
        if self.z_dim not in (1, 2):
            raise ConfigError(f"z_dim={self.z_dim!r}: must be 1 or 2")
        for name in ("g_hidden", "g_layers", "d_hidden", "d_layers", "batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}={value!r}: must be a positive integer")
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ConfigError(f"{name}={value!r}: must be from 0 (default) to 1")
        if not isinstance(self.n_critic, int) or not 0 <= self.n_critic <= 100:
            raise ConfigError(f"n_critic={self.n_critic!r}: must be from 0 (default) to 100")
        if not self.clip > 0:
            raise ConfigError(f"clip={self.clip!r}: must be positive")
        if not self.gp_lambda >= 0:
            raise ConfigError(f"gp_lambda={self.gp_lambda!r}: must not be negative")

    def resolved(self) -> "LabConfig":
        """Every 0 replaced by the loss's default; validated."""
        self.validate()
        d = LOSS_DEFAULTS[self.loss]
        return dataclasses.replace(self, lr_g=self.lr_g or d["lr_g"], lr_d=self.lr_d or d["lr_d"],
                                   n_critic=self.n_critic or d["n_critic"])

    def replace(self, **changes) -> "LabConfig":
        config = dataclasses.replace(self, **changes)
        config.validate()
        return config

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "LabConfig":
        data = json.loads(text)
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"lab config: unknown option(s) {', '.join(unknown)}")
        config = cls(**data)
        config.validate()
        return config
