"""Convolutional variational autoencoder (Kingma & Welling 2014) and its shared codec blocks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_explorer.core.models.base import (
    Capabilities, GenerativeModel, ModelConfig, check_positive, check_power_of_two,
)
from gan_explorer.core.models.registry import register_family


@dataclass(frozen=True)
class CodecConfig(ModelConfig):
    z_dim: int = 128            # latent (code) dimensionality
    img_resolution: int = 64    # image resolution, a power of two from 16 to 512
    img_channels: int = 3       # 3 for RGB, 1 for grayscale
    base_channels: int = 32     # feature maps after the first downsampling
    channel_max: int = 256      # cap on feature maps per layer

    def validate(self):
        check_power_of_two("img_resolution", self.img_resolution, 16, 512)
        for name in ("z_dim", "img_channels", "base_channels", "channel_max"):
            check_positive(name, getattr(self, name))

    def channel_plan(self) -> list[int]:
        """Feature maps after each stride-2 step, from img_resolution down to 4x4."""
        steps = int(np.log2(self.img_resolution)) - 2
        return [min(self.base_channels * 2**i, self.channel_max) for i in range(steps)]


class ConvEncoder(nn.Module):
    """Strided 4x4 convs (batch norm, leaky ReLU) down to 4x4, then a linear head."""

    def __init__(self, config: CodecConfig, out_features: int):
        super().__init__()
        ch = config.channel_plan()
        layers, prev = [], config.img_channels
        for c in ch:
            layers += [nn.Conv2d(prev, c, 4, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            prev = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(ch[-1] * 16, out_features)

    def forward(self, img):
        return self.head(self.features(img).flatten(1))


class ConvDecoder(nn.Module):
    """A linear projection to 4x4, then transposed 4x4 convs up to the image, tanh output."""

    def __init__(self, config: CodecConfig):
        super().__init__()
        ch = config.channel_plan()[::-1]
        self.start_channels = ch[0]
        self.project = nn.Linear(config.z_dim, ch[0] * 16)
        layers = [nn.BatchNorm2d(ch[0]), nn.ReLU(True)]
        for i in range(1, len(ch)):
            layers += [nn.ConvTranspose2d(ch[i - 1], ch[i], 4, 2, 1), nn.BatchNorm2d(ch[i]), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ch[-1], config.img_channels, 4, 2, 1), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(self.project(z).reshape(z.shape[0], self.start_channels, 4, 4))


@dataclass(frozen=True)
class VAEConfig(CodecConfig):
    # 32, not the codec's 128: measured on faces:32, with 128 codes prior samples were mush
    # (the encoder spreads faces over more of the space than N(0, I) samples cover).
    z_dim: int = 32             # latent dimensionality
    beta: float = 1.0           # weight of the KL term the model was trained with (beta-VAE when > 1; --beta)

    def validate(self):
        super().validate()
        if self.beta < 0:
            from gan_explorer.core.errors import ConfigError
            raise ConfigError(f"beta={self.beta}: must not be negative")


@register_family
class VAE(GenerativeModel):
    family = "vae"
    config_class = VAEConfig
    capabilities = Capabilities(has_encoder=True)

    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__(config)
        self.encoder = ConvEncoder(config, 2 * config.z_dim)
        self.decoder = ConvDecoder(config)

    def encode_distribution(self, images):
        """(mu, logvar) of q(z | x), each [n, z_dim]."""
        mu, logvar = self.encoder(images).chunk(2, dim=1)
        return mu, logvar.clamp(-30, 20)

    def encode(self, images):
        mu, _ = self.encode_distribution(images)
        return mu.unsqueeze(1)

    def synthesize(self, ws, noise_mode="const", noise_generator=None):
        return self.decoder(ws[:, 0])

    def forward(self, images):
        """Reconstruction with the reparameterisation trick: (recon, mu, logvar)."""
        mu, logvar = self.encode_distribution(images)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decoder(z), mu, logvar
