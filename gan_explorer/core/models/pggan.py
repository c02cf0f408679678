"""Progressive GAN (Karras, Aila, Laine and Lehtinen 2018, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation"), written from the paper.

The generator and the discriminator are built up to the final resolution, but run only up to the
current one: training starts at a low resolution and doubles it, fading each new block in
(sec. 2, fig. 2): the generator's output is

    (1 - alpha) * upsample(toRGB_{r/2}(x_{r/2})) + alpha * toRGB_r(block_r(x_{r/2}))

and the discriminator mirrors it on its input with fromRGB and 2x average pooling. The paper's
other ingredients: equalized learning rate (sec. 4.1: weights ~ N(0, 1) scaled at run time by
He's constant), pixelwise feature normalisation in the generator after every 3x3 convolution
(sec. 4.2), and the minibatch standard deviation as an extra feature map before the
discriminator's last block (sec. 3). Upsampling is nearest neighbour, downsampling 2x2 average
pooling, activations leaky ReLU(0.2), toRGB linear (Table 2).

A model file holds the generator up to the resolution it renders (``img_resolution``) and the
fade-in ``alpha`` of its top block, so a snapshot taken at 16 px during a fade-in opens as 16 px
and draws exactly what training drew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models.base import GenerativeModel, ModelConfig, check_positive, check_power_of_two
from gan_explorer.core.models.layers import MinibatchStdLayer
from gan_explorer.core.models.registry import register_family

LRELU_SLOPE = 0.2


@dataclass(frozen=True)
class PGGANConfig(ModelConfig):
    z_dim: int = 128            # latent dimensionality (the paper's 512, narrower for CPUs)
    img_resolution: int = 64    # the resolution this generator renders, a power of two from 4 to 1024
    img_channels: int = 3       # 3 for RGB, 1 for grayscale
    fmap_base: int = 2048       # feature maps at resolution r: min(fmap_base // r, fmap_max) (paper: 8192)
    fmap_max: int = 128         # cap on feature maps per block (paper: 512)
    alpha: float = 1.0          # fade-in of the top block: 0 renders the block below upsampled, 1 the top block
    mbstd_group_size: int = 4   # minibatch standard deviation over groups of this many images (paper: 4)

    def validate(self):
        check_power_of_two("img_resolution", self.img_resolution, 4, 1024)
        for name in ("z_dim", "img_channels", "fmap_base", "fmap_max", "mbstd_group_size"):
            check_positive(name, getattr(self, name))
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"alpha={self.alpha!r}: the fade-in must be from 0 to 1")

    def channels(self, resolution: int) -> int:
        return max(min(self.fmap_base // resolution, self.fmap_max), 1)

    @property
    def resolutions(self) -> list[int]:
        """4, 8, ..., img_resolution."""
        return [2**i for i in range(2, int(np.log2(self.img_resolution)) + 1)]


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit average square (sec. 4.2)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


class EqualizedLinear(nn.Module):
    """A dense layer with equalized learning rate: w ~ N(0, 1), times gain / sqrt(fan_in) at run time."""

    def __init__(self, in_features, out_features, gain=math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self):
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}"


class EqualizedConv2d(nn.Module):
    """A same-padded convolution with equalized learning rate (He's constant applied at run time)."""

    def __init__(self, in_channels, out_channels, kernel_size, gain=math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self):
        o, i, k, _ = self.weight.shape
        return f"in_channels={i}, out_channels={o}, kernel_size={k}"


def _lrelu(x):
    return F.leaky_relu(x, LRELU_SLOPE)


class GeneratorBlock(nn.Module):
    """4x4: z -> dense -> 4x4 map -> conv; above: upsample 2x (nearest) -> conv -> conv.
    Each convolution is followed by leaky ReLU and pixel normalisation."""

    def __init__(self, config: PGGANConfig, resolution: int):
        super().__init__()
        self.resolution = resolution
        out_ch = config.channels(resolution)
        if resolution == 4:
            self.dense = EqualizedLinear(config.z_dim, out_ch * 16, gain=math.sqrt(2) / 4)  # the paper's gain
            self.conv1 = EqualizedConv2d(out_ch, out_ch, 3)
        else:
            self.conv0 = EqualizedConv2d(config.channels(resolution // 2), out_ch, 3)
            self.conv1 = EqualizedConv2d(out_ch, out_ch, 3)

    def forward(self, x):
        if self.resolution == 4:
            x = pixel_norm(_lrelu(self.dense(pixel_norm(x)).reshape(x.shape[0], -1, 4, 4)))
        else:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = pixel_norm(_lrelu(self.conv0(x)))
        return pixel_norm(_lrelu(self.conv1(x)))


class PGGANGenerator(nn.Module):
    def __init__(self, config: PGGANConfig):
        super().__init__()
        self.config = config
        self.blocks = nn.ModuleDict({str(r): GeneratorBlock(config, r) for r in config.resolutions})
        # toRGB: 1x1 convolution, linear (gain 1).
        self.to_rgb = nn.ModuleDict({str(r): EqualizedConv2d(config.channels(r), config.img_channels, 1, gain=1.0)
                                     for r in config.resolutions})

    def forward(self, z, resolution: int | None = None, alpha: float | None = None):
        """Images [n, C, resolution, resolution]; the top block faded in by alpha. Without an alpha,
        the config's fade-in applies to the config's own resolution only: every resolution below it
        has finished fading in."""
        resolution = resolution or self.config.img_resolution
        if alpha is None:
            alpha = self.config.alpha if resolution == self.config.img_resolution else 1.0
        alpha = float(alpha)
        if str(resolution) not in self.blocks:
            raise ConfigError(f"resolution {resolution}: this generator renders "
                              f"{', '.join(map(str, self.config.resolutions))} px")
        x, below = z, None
        for r in self.config.resolutions:
            if r == resolution and alpha < 1 and r > 4:
                below = x
            x = self.blocks[str(r)](x)
            if r == resolution:
                break
        img = self.to_rgb[str(resolution)](x)
        if below is not None:
            low = F.interpolate(self.to_rgb[str(resolution // 2)](below), scale_factor=2, mode="nearest")
            img = torch.lerp(low, img, alpha)
        return img


class DiscriminatorBlock(nn.Module):
    """Above 4x4: conv -> conv -> 2x2 average pool. At 4x4: minibatch stddev -> conv -> dense -> dense -> score."""

    def __init__(self, config: PGGANConfig, resolution: int):
        super().__init__()
        self.resolution = resolution
        in_ch = config.channels(resolution)
        if resolution == 4:
            self.mbstd = MinibatchStdLayer(config.mbstd_group_size, num_channels=1)  # the paper's single map
            self.conv = EqualizedConv2d(in_ch + 1, in_ch, 3)
            self.dense0 = EqualizedLinear(in_ch * 16, in_ch)
            self.dense1 = EqualizedLinear(in_ch, 1, gain=1.0)
        else:
            self.conv0 = EqualizedConv2d(in_ch, in_ch, 3)
            self.conv1 = EqualizedConv2d(in_ch, config.channels(resolution // 2), 3)

    def forward(self, x):
        if self.resolution == 4:
            x = self.mbstd(x)
            x = _lrelu(self.conv(x))
            x = _lrelu(self.dense0(x.flatten(1)))
            return self.dense1(x)
        x = _lrelu(self.conv1(_lrelu(self.conv0(x))))
        return F.avg_pool2d(x, 2)


class PGGANDiscriminator(nn.Module):
    """Scores images of any resolution from 4 to the config's; fromRGB per resolution."""

    def __init__(self, config: PGGANConfig):
        super().__init__()
        self.config = config
        self.from_rgb = nn.ModuleDict({str(r): EqualizedConv2d(config.img_channels, config.channels(r), 1)
                                       for r in config.resolutions})
        self.blocks = nn.ModuleDict({str(r): DiscriminatorBlock(config, r) for r in config.resolutions})

    def forward(self, img, alpha: float = 1.0):
        resolution = img.shape[-1]
        if str(resolution) not in self.blocks or img.shape[-2] != resolution:
            raise ConfigError(f"images of {list(img.shape[-2:])} px: this discriminator scores square "
                              f"images of {', '.join(map(str, self.config.resolutions))} px")
        x = _lrelu(self.from_rgb[str(resolution)](img))
        r = resolution
        if alpha < 1 and r > 4:
            x = self.blocks[str(r)](x)
            low = _lrelu(self.from_rgb[str(r // 2)](F.avg_pool2d(img, 2)))
            x = torch.lerp(low, x, float(alpha))
            r //= 2
        while r >= 4:
            x = self.blocks[str(r)](x)
            r //= 2
        return x


@register_family
class PGGAN(GenerativeModel):
    family = "pggan"
    config_class = PGGANConfig

    def __init__(self, config: PGGANConfig = PGGANConfig()):
        super().__init__(config)
        self.generator = PGGANGenerator(config)

    def synthesize(self, ws, noise_mode="const", noise_generator=None):
        """ws [n, 1, z_dim] -> images at img_resolution, the top block faded in by the config's alpha."""
        return self.generator(ws[:, 0])

    def forward(self, z, resolution: int | None = None, alpha: float | None = None):
        """Training's G(z) at a resolution and fade-in (default: the config's)."""
        return self.generator(z, resolution, alpha)

    def make_discriminator(self):
        return PGGANDiscriminator(self.config)

    def at_resolution(self, resolution: int, alpha: float) -> "PGGAN":
        """A model that renders at `resolution` with fade-in `alpha`, sharing nothing with this one:
        the blocks and toRGB layers up to that resolution, copied."""
        config = self.config.replace(img_resolution=int(resolution), alpha=float(alpha))
        with torch.random.fork_rng(devices=[]):  # its initial weights are overwritten: leave training's RNG alone
            small = PGGAN(config).to(self._device())
        ours = self.state_dict()
        small.load_state_dict({k: ours[k].detach().clone() for k in small.state_dict()})
        return small
