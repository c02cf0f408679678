"""CycleGAN (Zhu et al. 2017): two ResNet generators A->B, B->A and 70x70 PatchGAN critics.

Generator (Johnson et al. 2016): c7s1-64, d128, d256, n residual blocks, u128, u64, c7s1-3,
instance norm and reflection padding. This is translation, not a latent model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models.base import Capabilities, ModelConfig, TranslationModel, check_positive
from gan_explorer.core.models.registry import register_family


@dataclass(frozen=True)
class CycleGANConfig(ModelConfig):
    img_resolution: int = 128   # training crop size (a multiple of 4, >= 32; inference works at any size)
    img_channels: int = 3       # channels of both domains
    ngf: int = 64               # generator feature maps after the first layer
    ndf: int = 64               # PatchGAN feature maps after the first layer
    n_blocks: int = 0           # residual blocks; 0 picks the paper's 6 below 256 px and 9 from 256 px
    n_d_layers: int = 3         # PatchGAN downsampling layers (3 gives a 70x70 receptive field)

    def validate(self):
        if not isinstance(self.img_resolution, int) or self.img_resolution < 16 or self.img_resolution % 4:
            raise ConfigError(f"img_resolution={self.img_resolution!r}: must be a multiple of 4, at least 16")
        for name in ("img_channels", "ngf", "ndf", "n_d_layers"):
            check_positive(name, getattr(self, name))
        smallest = 2 ** (self.n_d_layers + 2)  # the PatchGAN must still see a 2x2 grid of patches
        if self.img_resolution < smallest:
            raise ConfigError(f"img_resolution={self.img_resolution}: at least {smallest} for "
                              f"a PatchGAN with n_d_layers={self.n_d_layers}")
        if not isinstance(self.n_blocks, int) or self.n_blocks < 0:
            raise ConfigError(f"n_blocks={self.n_blocks!r}: must be 0 (automatic) or a positive integer")

    @property
    def residual_blocks(self) -> int:
        return self.n_blocks or (9 if self.img_resolution >= 256 else 6)


class ResnetBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
        )

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, config: CycleGANConfig):
        super().__init__()
        ngf, c = config.ngf, config.img_channels
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(c, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for mult in (1, 2):  # d128, d256
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                       nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(config.residual_blocks)]
        for mult in (4, 2):  # u128, u64
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, c, 7), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, x):
        # The two stride-2 steps need sizes divisible by 4: pad by reflection, then crop back.
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = nn.functional.pad(x, [0, pw, 0, ph], mode="reflect")
        return self.main(x)[..., :h, :w]


class PatchDiscriminator(nn.Module):
    """PatchGAN: a grid of real/fake logits, each seeing a 70x70 patch (for 3 layers)."""

    def __init__(self, config: CycleGANConfig):
        super().__init__()
        ndf = config.ndf
        layers = [nn.Conv2d(config.img_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for i in range(1, config.n_d_layers + 1):
            prev, mult = mult, min(2**i, 8)
            stride = 2 if i < config.n_d_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1), nn.InstanceNorm2d(ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.main = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, img):
        return self.main(img)

    def feature_maps(self, img) -> list[torch.Tensor]:
        """The activation after each LeakyReLU block, finest first (n_d_layers + 1 maps): the
        discriminator's own feature space, where CycleGAN's perceptual loss can compare images."""
        maps = []
        x = img
        for module in self.main[:-1]:
            x = module(x)
            if isinstance(module, nn.LeakyReLU):
                maps.append(x)
        return maps


def _init_weights(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


@register_family
class CycleGAN(TranslationModel):
    family = "cyclegan"
    config_class = CycleGANConfig
    capabilities = Capabilities(is_translation=True)

    def __init__(self, config: CycleGANConfig = CycleGANConfig()):
        super().__init__(config)
        self.G_AB = ResnetGenerator(config)
        self.G_BA = ResnetGenerator(config)

    def translate(self, images: torch.Tensor, direction: str = "AB") -> torch.Tensor:
        if direction not in ("AB", "BA"):
            raise ConfigError(f"direction={direction!r}: must be 'AB' or 'BA'")
        return (self.G_AB if direction == "AB" else self.G_BA)(images)

    def make_discriminators(self):
        return PatchDiscriminator(self.config), PatchDiscriminator(self.config)


def receptive_field(n_d_layers: int = 3) -> int:
    """Receptive field in pixels of a PatchGAN output unit (70 for the default 3 layers)."""
    rf = 1
    strides = [2] * n_d_layers + [1, 1]
    for s in reversed(strides):
        rf = rf * s + (4 - s)
    return rf
