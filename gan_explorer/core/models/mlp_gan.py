"""The original GAN (Goodfellow et al. 2014): multilayer perceptrons on flattened images."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models.base import GenerativeModel, ModelConfig, check_positive
from gan_explorer.core.models.registry import register_family


MAX_WIDTH = 65536  # units per layer (the discriminator, built from d_hidden, is not counted by the cap)


@dataclass(frozen=True)
class MLPGANConfig(ModelConfig):
    z_dim: int = 100                        # latent dimensionality
    img_resolution: int = 32                # output resolution (8 to 128; MLPs grow with pixels^2)
    img_channels: int = 3                   # 3 for RGB, 1 for grayscale
    g_hidden: tuple = (256, 512, 1024)      # generator hidden layer widths
    d_hidden: tuple = (1024, 512, 256)      # discriminator hidden layer widths
    d_dropout: float = 0.3                  # discriminator dropout (the paper used dropout too)

    def validate(self):
        if not isinstance(self.img_resolution, int) or not 8 <= self.img_resolution <= 128:
            raise ConfigError(f"img_resolution={self.img_resolution!r}: must be an integer from 8 to 128")
        for name in ("z_dim", "img_channels"):
            check_positive(name, getattr(self, name))
        for name in ("g_hidden", "d_hidden"):
            widths = getattr(self, name)
            if not widths or any(not isinstance(w, int) or isinstance(w, bool) or w <= 0 for w in widths):
                raise ConfigError(f"{name}={widths!r}: must be a non-empty list of positive integers")
            if len(widths) > 32 or max(widths) > MAX_WIDTH:
                raise ConfigError(f"{name}: at most 32 layers of at most {MAX_WIDTH} units")
        if not 0 <= self.d_dropout < 1:
            raise ConfigError(f"d_dropout={self.d_dropout}: must be from 0 to below 1")

    @property
    def num_pixels(self):
        return self.img_channels * self.img_resolution**2


def _mlp(widths, final_activation=None, dropout=0.0):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.LeakyReLU(0.2, True))
            if dropout:
                layers.append(nn.Dropout(dropout))
    if final_activation is not None:
        layers.append(final_activation)
    return nn.Sequential(*layers)


class MLPDiscriminator(nn.Module):
    def __init__(self, config: MLPGANConfig):
        super().__init__()
        self.main = _mlp([config.num_pixels, *config.d_hidden, 1], dropout=config.d_dropout)

    def forward(self, img):
        return self.main(img.flatten(1))


@register_family
class MLPGAN(GenerativeModel):
    family = "gan"
    config_class = MLPGANConfig

    def __init__(self, config: MLPGANConfig = MLPGANConfig()):
        super().__init__(config)
        self.generator = _mlp([config.z_dim, *config.g_hidden, config.num_pixels], final_activation=nn.Tanh())

    def synthesize(self, ws, noise_mode="const", noise_generator=None):
        c, r = self.img_channels, self.img_resolution
        return self.generator(ws[:, 0]).reshape(-1, c, r, r)

    def forward(self, z):
        return self.synthesize(z.unsqueeze(1))

    def make_discriminator(self):
        return MLPDiscriminator(self.config)


