"""DCGAN (Radford et al. 2016): all-convolutional generator and discriminator.

The generator projects z to a 4x4 map and doubles the resolution with strided transposed
convolutions (batch norm + ReLU, tanh output); the discriminator mirrors it with strided
convolutions and leaky ReLU. With ``d_norm='none'`` it is the WGAN-GP critic (Gulrajani
et al. 2017: batch norm would break the per-sample gradient penalty).

``upsample='resize'`` replaces each stride-2 transposed convolution by a nearest-neighbour 2x
resize and a 3x3 convolution (Odena, Dumoulin and Olah, "Deconvolution and checkerboard
artifacts", Distill 2016): a transposed convolution gives the even and the odd output pixels
different kernel taps, which paints a period-2 checkerboard over the image (strongest at random
initialisation, and training must learn to cancel it); a resize then a convolution treats every
output pixel alike. `checkerboard_ratio` measures the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models.base import GenerativeModel, ModelConfig, check_positive, check_power_of_two
from gan_explorer.core.models.conditioning import check_condition_fields
from gan_explorer.core.models.registry import register_family


UPSAMPLE_MODES = ("transposed", "resize")


MAX_WIDTH = 8192  # feature maps per layer (the paper's widest is 1024)


@dataclass(frozen=True)
class DCGANConfig(ModelConfig):
    z_dim: int = 100            # latent dimensionality (nz)
    img_resolution: int = 64    # output resolution, a power of two from 16 to 512
    img_channels: int = 3       # 3 for RGB, 1 for grayscale
    ngf: int = 64               # generator feature maps at the output resolution
    ndf: int = 64               # discriminator feature maps at the input resolution
    channel_max: int = 512      # cap on feature maps per layer
    d_norm: str = "batch"       # discriminator normalisation: 'batch', 'layer' or 'none' (WGAN-GP)
    upsample: str = "transposed"  # G's 2x steps: 'transposed' (the paper's) or 'resize' (no checkerboard)
    c_dim: int = 0              # width of the condition c (0: unconditional); G takes concat(z, c)
    c_kind: str = "class"       # 'class' (one-hot c) or 'factors' (c holds named factor values)
    c_names: tuple = ()         # class or factor names, c_dim of them (empty: "class 0".. for classes)

    def validate(self):
        check_condition_fields(self.c_dim, self.c_kind, self.c_names)
        check_power_of_two("img_resolution", self.img_resolution, 16, 512)
        for name in ("z_dim", "img_channels", "ngf", "ndf", "channel_max"):
            check_positive(name, getattr(self, name))
        for name in ("ngf", "ndf", "channel_max"):  # the discriminator is built from these too
            if getattr(self, name) > MAX_WIDTH:
                raise ConfigError(f"{name}={getattr(self, name)}: must be at most {MAX_WIDTH}")
        if self.d_norm not in ("batch", "layer", "none"):
            raise ConfigError(f"d_norm={self.d_norm!r}: must be 'batch', 'layer' or 'none'")
        if self.upsample not in UPSAMPLE_MODES:
            raise ConfigError(f"upsample={self.upsample!r}: must be 'transposed' or 'resize'")

    @property
    def num_doublings(self) -> int:
        return int(np.log2(self.img_resolution)) - 2  # 4x4 -> img_resolution


def _up(in_ch, out_ch, mode):
    """One 2x step of the generator: a 4x4 stride-2 transposed conv, or nearest resize + 3x3 conv."""
    if mode == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False)]
    return [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False)]


def _channels(base, level, cap):
    return min(base * 2**level, cap)


class DCGANGenerator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        n = config.num_doublings
        ch = [_channels(config.ngf, n - 1 - i, config.channel_max) for i in range(n)]
        # A conditional G's input is w = concat(z, c) (Mirza & Osindero 2014).
        layers = [nn.ConvTranspose2d(config.z_dim + config.c_dim, ch[0], 4, 1, 0, bias=False),
                  nn.BatchNorm2d(ch[0]), nn.ReLU(True)]
        for i in range(1, n):
            layers += [*_up(ch[i - 1], ch[i], config.upsample), nn.BatchNorm2d(ch[i]), nn.ReLU(True)]
        layers += [*_up(ch[-1], config.img_channels, config.upsample), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, w):
        return self.main(w.reshape(w.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        n = config.num_doublings
        ch = [_channels(config.ndf, i, config.channel_max) for i in range(n)]
        self.c_dim = config.c_dim
        # A conditional D sees c as c_dim constant planes beside the image's channels (concatenation).
        layers = [nn.Conv2d(config.img_channels + config.c_dim, ch[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        res = config.img_resolution // 2
        for i in range(1, n):
            res //= 2
            layers.append(nn.Conv2d(ch[i - 1], ch[i], 4, 2, 1, bias=config.d_norm == "none"))
            if config.d_norm == "batch":
                layers.append(nn.BatchNorm2d(ch[i]))
            elif config.d_norm == "layer":
                layers.append(nn.GroupNorm(1, ch[i]))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Conv2d(ch[-1], 1, 4, 1, 0, bias=False))  # 4x4 -> one logit
        self.main = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, img, c=None):
        if self.c_dim:
            if c is None:
                raise ConfigError(f"this discriminator is conditional (c_dim {self.c_dim}): give c")
            planes = c.to(img.dtype).reshape(*c.shape, 1, 1).expand(-1, -1, *img.shape[2:])
            img = torch.cat([img, planes], dim=1)
        return self.main(img).reshape(img.shape[0], 1)


def init_dcgan_weights(m):
    """The paper's initialisation: conv weights ~ N(0, 0.02), norm scales ~ N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


@register_family
class DCGAN(GenerativeModel):
    family = "dcgan"
    config_class = DCGANConfig

    def __init__(self, config: DCGANConfig = DCGANConfig()):
        super().__init__(config)
        self.generator = DCGANGenerator(config)

    def synthesize(self, ws, noise_mode="const", noise_generator=None):
        return self.generator(ws[:, 0])

    def forward(self, z, c=None):
        """Training's G(z, c): concat(z, c) through the generator (c None: the default condition)."""
        return self.synthesize(self.map(z, c=c) if self.c_dim else z.unsqueeze(1))

    def make_discriminator(self):
        return DCGANDiscriminator(self.config)


def checkerboard_ratio(images: torch.Tensor, period: int = 2) -> float:
    """Checkerboard artefact strength: spectral power at the stride frequency over the average.

    The mean-removed power spectrum is averaged over images and channels; the result is the mean
    power on the frequency lines of a `period`-pixel pattern (u or v = k * size / period, k >= 1:
    for period 2 the Nyquist row and column) divided by the mean power of every non-DC bin.
    White noise gives about 1; a transposed-convolution generator at random init gives well
    above 1 (a period-2 checkerboard); a resize-convolution one gives well below 1.
    """
    x = images.detach().double()
    if x.ndim != 4 or x.shape[-1] != x.shape[-2] or x.shape[-1] % period:
        raise ConfigError(f"checkerboard_ratio: expected square images [n, c, s, s] with s a multiple of "
                          f"{period}, got {list(x.shape)}")
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square().mean(dim=(0, 1))  # [s, s], DC at [0, 0]
    size = x.shape[-1]
    on_line = torch.zeros(size, size, dtype=torch.bool)
    step = size // period
    on_line[step::step, :] = True
    on_line[:, step::step] = True
    not_dc = torch.ones(size, size, dtype=torch.bool)
    not_dc[0, 0] = False
    return float(power[on_line].mean() / power[not_dc].mean())
