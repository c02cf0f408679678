"""Convolutional variational autoencoder (Kingma & Welling 2014) and its shared codec blocks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_explorer.core.models.base import (
    Capabilities, GenerativeModel, ModelConfig, check_positive, check_power_of_two,
)
from gan_explorer.core.models.conditioning import check_condition_fields
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
    """Strided 4x4 convs (batch norm, leaky ReLU) down to 4x4, then a linear head.

    ``cond_channels``: a conditional encoder (CVAE) sees c as that many constant planes beside
    the image's channels."""

    def __init__(self, config: CodecConfig, out_features: int, cond_channels: int = 0):
        super().__init__()
        ch = config.channel_plan()
        self.cond_channels = cond_channels
        layers, prev = [], config.img_channels + cond_channels
        for c in ch:
            layers += [nn.Conv2d(prev, c, 4, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            prev = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(ch[-1] * 16, out_features)

    def forward(self, img, c=None):
        if self.cond_channels:
            planes = c.to(img.dtype).reshape(*c.shape, 1, 1).expand(-1, -1, *img.shape[2:])
            img = torch.cat([img, planes], dim=1)
        return self.head(self.features(img).flatten(1))


class ConvDecoder(nn.Module):
    """A linear projection to 4x4, then transposed 4x4 convs up to the image, tanh output."""

    def __init__(self, config: CodecConfig, in_features: int | None = None):
        """in_features: the code's width (z_dim; z_dim + c_dim for a CVAE's concat(z, c))."""
        super().__init__()
        ch = config.channel_plan()[::-1]
        self.start_channels = ch[0]
        self.project = nn.Linear(in_features or config.z_dim, ch[0] * 16)
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
    c_dim: int = 0              # width of the condition c (0: plain VAE; > 0: CVAE, decoder takes concat(z, c))
    c_kind: str = "class"       # 'class' (one-hot c) or 'factors' (c holds named factor values)
    c_names: tuple = ()         # class or factor names, c_dim of them (empty: "class 0".. for classes)

    def validate(self):
        super().validate()
        check_condition_fields(self.c_dim, self.c_kind, self.c_names)
        if self.beta < 0:
            from gan_explorer.core.errors import ConfigError
            raise ConfigError(f"beta={self.beta}: must not be negative")


@register_family
class VAE(GenerativeModel):
    """A VAE; with c_dim > 0 the conditional VAE of Sohn et al. 2015: q(z | x, c) and p(x | z, c).

    Its w is concat(z, c), so synthesize(ws) decodes without a separate condition, and
    encode(images, c) returns the (mu, c) that synthesize reconstructs from."""

    family = "vae"
    config_class = VAEConfig
    capabilities = Capabilities(has_encoder=True)

    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__(config)
        self.encoder = ConvEncoder(config, 2 * config.z_dim, cond_channels=config.c_dim)
        self.decoder = ConvDecoder(config, in_features=config.z_dim + config.c_dim)

    def encode_distribution(self, images, c=None):
        """(mu, logvar) of q(z | x[, c]), each [n, z_dim]."""
        c = self.condition_batch(c, images.shape[0])
        mu, logvar = self.encoder(images, c).chunk(2, dim=1)
        return mu, logvar.clamp(-30, 20)

    def encode(self, images, c=None):
        """ws [n, 1, w_dim]: the posterior mean, with c appended on a CVAE (None: the default c)."""
        mu, _ = self.encode_distribution(images, c)
        c = self.condition_batch(c, images.shape[0])
        return (mu if c is None else torch.cat([mu, c], dim=1)).unsqueeze(1)

    def synthesize(self, ws, noise_mode="const", noise_generator=None):
        return self.decoder(ws[:, 0])

    def forward(self, images, c=None):
        """Reconstruction with the reparameterisation trick: (recon, mu, logvar)."""
        mu, logvar = self.encode_distribution(images, c)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        c = self.condition_batch(c, images.shape[0])
        return self.decoder(z if c is None else torch.cat([z, c], dim=1)), mu, logvar
