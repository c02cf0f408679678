"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

Generator = MappingNetwork (z -> w) + SynthesisNetwork (ws -> image), skip architecture;
Discriminator = residual blocks + minibatch standard deviation. Module and tensor names
follow NVIDIA's published networks (``mapping.fc0.weight``, ``synthesis.b8.conv0.affine``...)
so that imported weights load without renaming.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models.base import (
    Capabilities, GenerativeModel, ModelConfig, check_positive, check_power_of_two,
)
from gan_explorer.core.models.conditioning import check_condition_fields
from gan_explorer.core.models.layers import Conv2dLayer, FullyConnectedLayer, MinibatchStdLayer
from gan_explorer.core.models.ops import (
    ACTIVATION_GAINS, bias_act, conv2d_resample, demodulation_coefficients, modulated_conv2d,
    normalize_2nd_moment, setup_filter, transposed_weight, upsample2d,
)
from gan_explorer.core.models.registry import register_family

NOISE_MODES = ("const", "random", "none")
# How renders (no autograd) run. channels_last: activations stay NHWC, where oneDNN's convolutions
# and depthwise FIR filters run faster (measured in `gan-explorer bench synthesis`). fold_batch1:
# batch 1 folds styles and demodulation into the kernel where that is cheaper; the exported graph
# (backends/) turns both off: the activation-scaling form with constant kernels.
RENDER_OPTIONS = {"channels_last": True, "fold_batch1": True}


@dataclass(frozen=True)
class StyleGANConfig(ModelConfig):
    z_dim: int = 512                    # input latent (Z) dimensionality
    w_dim: int = 512                    # intermediate latent (W) dimensionality
    img_resolution: int = 64            # output resolution, a power of two from 16 to 1024
    img_channels: int = 3               # 3 for RGB, 1 for grayscale
    mapping_layers: int = 8             # depth of the mapping network
    mapping_lr_multiplier: float = 0.01 # learning-rate multiplier of the mapping layers
    w_avg_beta: float = 0.995           # decay of the tracked average of w (for truncation)
    channel_base: int = 32768           # feature maps at resolution r: min(channel_base // r, channel_max)
    channel_max: int = 512              # cap on feature maps per layer
    conv_clamp: float | None = None     # clamp conv outputs to +-this (NVIDIA uses 256 with fp16)
    num_fp16_res: int = 0               # provenance only: top blocks the original (NVIDIA) training ran in fp16; ours is fp32
    mbstd_group_size: int = 4           # discriminator minibatch-stddev group size
    c_dim: int = 0                      # width of the condition c (0: unconditional; classes: one-hot)
    c_kind: str = "class"               # 'class' (one-hot c) or 'factors' (c holds named factor values)
    c_names: tuple = ()                 # class or factor names, c_dim of them (empty: "class 0".. for classes)

    def validate(self):
        check_condition_fields(self.c_dim, self.c_kind, self.c_names)
        check_power_of_two("img_resolution", self.img_resolution, 16, 1024)
        for name in ("z_dim", "w_dim", "img_channels", "mapping_layers", "channel_base", "channel_max"):
            value = getattr(self, name)
            if not isinstance(value, int):
                raise ConfigError(f"{name}={value!r}: must be an integer")
            check_positive(name, value)
        check_positive("mapping_lr_multiplier", self.mapping_lr_multiplier)
        if self.channels(self.img_resolution) < 1:
            raise ConfigError(f"channel_base={self.channel_base}: too small for {self.img_resolution} px "
                              f"(needs at least {self.img_resolution})")

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)


class MappingNetwork(nn.Module):
    """z (and a condition c) -> w, broadcast to num_ws.

    Conditional (c_dim > 0), as StyleGAN2-ADA conditions its mapping: c is embedded linearly to
    w_dim features, z and the embedding are each normalised by their second moment (so neither
    outweighs the other whatever their widths) and concatenated before the first layer. The
    condition enters only here: the ws carry it, synthesis never sees c."""

    def __init__(self,
                 z_dim,                 # input latent dimensionality
                 w_dim,                 # output latent dimensionality
                 num_ws,                # how many copies of w the synthesis network takes
                 num_layers=8,          # fully connected layers
                 lr_multiplier=0.01,    # learning-rate multiplier of every layer
                 w_avg_beta=0.995,      # decay of the tracked w average
                 c_dim=0,               # width of the condition (0: unconditional, no embedding)
                 ):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws, self.c_dim = z_dim, w_dim, num_ws, c_dim
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        if c_dim:  # NVIDIA's embed_features default: w_dim (its full learning rate, no activation)
            self.embed = FullyConnectedLayer(c_dim, w_dim)
        self.register_buffer("w_avg", torch.zeros([w_dim]))
        features = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * num_layers
        for i in range(num_layers):
            layer = FullyConnectedLayer(features[i], features[i + 1], activation="lrelu",
                                        lr_multiplier=lr_multiplier)
            setattr(self, f"fc{i}", layer)

    def forward(self, z, truncation_psi=1.0, truncation_cutoff=None, update_emas=False, c=None):
        """c: [n, c_dim] float for a conditional network (required there), else None."""
        from gan_explorer.core.models.truncation import truncate

        x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim:
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_emas:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)

    def extra_repr(self):
        return f"z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}"


def make_noise(mode, noise_const, n, generator=None):
    """The per-pixel noise image of one layer, [n, 1, H, W] or [H, W], or None."""
    if mode == "const":
        return noise_const
    if mode == "random":
        h, w = noise_const.shape
        return torch.randn([n, 1, h, w], generator=generator, device=noise_const.device)
    if mode == "none":
        return None
    raise ValueError(f"noise_mode={mode!r}: must be one of {', '.join(NOISE_MODES)}")


class SynthesisLayer(nn.Module):
    """A StyledConv: affine style, modulated 3x3 conv, noise with learned strength, bias, lrelu."""

    def __init__(self,
                 in_channels,           # number of input channels
                 out_channels,          # number of output channels
                 w_dim,                 # intermediate latent dimensionality
                 resolution,            # output resolution
                 kernel_size=3,         # convolution kernel size
                 up=1,                  # 2 to upsample the input first
                 conv_clamp=None,       # clamp outputs to +-this value
                 resample_filter=(1, 3, 3, 1),  # low-pass filter taps for upsampling
                 ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution = resolution
        self.up = up
        self.conv_clamp = conv_clamp
        self.padding = kernel_size // 2
        self.act_gain = ACTIVATION_GAINS["lrelu"]
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self._kernel_key = None
        self._kernels = None

    def kernels(self):
        """(sums of squared weights [out, in], transposed weight or None) for the current weight.

        Cached while the weight is unchanged (same storage and in-place version counter) and
        autograd does not need them; recomputed on every call while training."""
        weight = self.weight
        if torch.is_grad_enabled() and weight.requires_grad:
            return weight.square().sum(dim=[2, 3]), None
        key = (weight.data_ptr(), weight._version, weight.dtype, weight.device)
        if key != self._kernel_key:
            w = weight.detach()
            self._kernels = (w.square().sum(dim=[2, 3]),
                             transposed_weight(w, flip_weight=False) if self.up > 1 else None)
            self._kernel_key = key
        return self._kernels

    def forward(self, x, w, noise_mode="const", noise_generator=None, noise=None):
        """``noise``: this layer's noise image [n, 1, H, W] given from outside (an exported
        graph's input), instead of the one ``noise_mode`` makes."""
        styles = self.affine(w)
        if noise is None:
            noise = make_noise(noise_mode, self.noise_const, x.shape[0], noise_generator)
        if not torch.is_grad_enabled():
            return self._render(x, styles, noise)
        weight_sq_sum, wt = self.kernels()
        if noise is not None:
            noise = noise * self.noise_strength
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, flip_weight=(self.up == 1),
                             weight_sq_sum=weight_sq_sum, wt=wt)
        return bias_act(x, self.bias, act="lrelu", gain=self.act_gain, clamp=self.conv_clamp)

    def _render(self, x, styles, noise):
        """The same layer without autograd, in as few passes over the activations as the shape allows.

        lrelu(a) * g = lrelu(a * g) for g > 0, so the gain is folded into the demodulation
        coefficients, the noise and the bias. Batch 1 folds styles and demodulation into the
        kernel (one pass over the weight) when the weight is smaller than the activations it
        would otherwise scale twice; other shapes scale the activations (one convolution for
        the whole batch, never a grouped convolution)."""
        n = x.shape[0]
        weight_sq_sum, wt = self.kernels()
        styles = styles.to(x.dtype)
        gain = self.act_gain
        dcoefs = demodulation_coefficients(styles, weight_sq_sum.to(x.dtype)) * gain  # [n, out]
        out_pixels = (self.resolution ** 2) * self.out_channels
        fold = n == 1 and RENDER_OPTIONS["fold_batch1"] and self.weight.numel() <= x[0].numel() + out_pixels
        if fold:
            scale = dcoefs[0].unsqueeze(1) * styles[0].unsqueeze(0)  # [out, in]
            if self.up > 1:
                x = conv2d_resample(x, None, self.resample_filter, up=self.up, padding=self.padding,
                                    flip_weight=False, wt=wt * scale.t()[:, :, None, None])
            else:
                x = F.conv2d(x, self.weight * scale[:, :, None, None], padding=self.padding)
        else:
            x = x * styles.reshape(n, -1, 1, 1)
            x = conv2d_resample(x, self.weight, self.resample_filter, up=self.up, padding=self.padding,
                                flip_weight=(self.up == 1), wt=wt)
            x.mul_(dcoefs.reshape(n, -1, 1, 1))
        if noise is not None:
            x.add_(noise.to(x.dtype) * (self.noise_strength * gain).to(x.dtype))
        x.add_((self.bias * gain).to(x.dtype).reshape(1, -1, 1, 1))
        F.leaky_relu_(x, 0.2)
        if self.conv_clamp is not None:
            x.clamp_(-self.conv_clamp, self.conv_clamp)
        return x

    def extra_repr(self):
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"resolution={self.resolution}, up={self.up}")


class ToRGBLayer(nn.Module):
    """A 1x1 modulated conv to RGB without demodulation (the skip architecture's outputs)."""

    def __init__(self, in_channels, out_channels, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        if torch.is_grad_enabled():
            x = modulated_conv2d(x, self.weight, styles, demodulate=False)
            return bias_act(x, self.bias, clamp=self.conv_clamp)
        # A 1x1 conv to 3 channels: per-sample weights [n, 3, in] are tiny, and a batched
        # matrix product with them never scales the wide activations.
        n, c, h, w_ = x.shape
        weights = self.weight[:, :, 0, 0].unsqueeze(0) * styles.to(x.dtype).unsqueeze(1)  # [n, out, in]
        bias = self.bias.to(x.dtype)
        if x.is_contiguous(memory_format=torch.channels_last):  # [n, h*w, c] is a free view
            y = torch.baddbmm(bias.reshape(1, 1, -1), x.permute(0, 2, 3, 1).reshape(n, h * w_, c),
                              weights.transpose(1, 2))
            y = y.reshape(n, h, w_, -1).permute(0, 3, 1, 2)
        else:
            y = torch.baddbmm(bias.reshape(1, -1, 1), weights, x.reshape(n, c, h * w_)).reshape(n, -1, h, w_)
        return y.clamp_(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else y


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: (upsampling conv,) conv, ToRGB, skip sum."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels,
                 conv_clamp=None, resample_filter=(1, 3, 3, 1)):
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        if in_channels != 0:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2,
                                        conv_clamp=conv_clamp, resample_filter=resample_filter)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution,
                                    conv_clamp=conv_clamp, resample_filter=resample_filter)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1

    def step(self, op, x, img, w, noise_mode="const", noise_generator=None, noise=None):
        """One of the block's layers: 'conv0', 'conv1' (the 4x4 block starts from its constant)
        or 'torgb' (adds this resolution's RGB to the upsampled image). Returns (x, img)."""
        if op == "torgb":
            if img is not None:
                img = upsample2d(img, self.resample_filter)
            y = self.torgb(x, w)
            return x, (y if img is None else img + y)
        if op == "conv1" and self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat(w.shape[0], 1, 1, 1)
            if not torch.is_grad_enabled() and RENDER_OPTIONS["channels_last"]:
                x = x.contiguous(memory_format=torch.channels_last)
        return getattr(self, op)(x, w, noise_mode, noise_generator, noise), img

    def forward(self, x, img, ws, noise_mode="const", noise_generator=None):
        """ws: [n, num_conv + num_torgb, w_dim]."""
        ops = ["conv1", "torgb"] if self.in_channels == 0 else ["conv0", "conv1", "torgb"]
        for op, w in zip(ops, ws.unbind(dim=1)):
            x, img = self.step(op, x, img, w, noise_mode, noise_generator)
        return x, img


class SynthesisNetwork(nn.Module):
    """ws -> image through blocks 4, 8, ... img_resolution (skip architecture).

    The network runs as a flat plan of steps (block, layer, index of the w it takes), so a
    render can stop after any block (`max_resolution`: that block's own RGB output, the
    preview) or resume from the activations entering any step (`SynthesisCache`)."""

    def __init__(self, config: StyleGANConfig):
        super().__init__()
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        log2 = int(np.log2(config.img_resolution))
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        self.num_ws = 0
        self.plan = []  # (resolution, layer name, w index), in the order the layers run
        for res in self.block_resolutions:
            in_channels = config.channels(res // 2) if res > 4 else 0
            block = SynthesisBlock(in_channels, config.channels(res), config.w_dim, res,
                                   config.img_channels, conv_clamp=config.conv_clamp)
            ops = ["conv1"] if in_channels == 0 else ["conv0", "conv1"]
            for op in ops:
                self.plan.append((res, op, self.num_ws))
                self.num_ws += 1
            # A block's ToRGB takes the next block's first w (NVIDIA's indexing).
            self.plan.append((res, "torgb", self.num_ws))
            setattr(self, f"b{res}", block)
        self.num_ws += 1  # the last block's ToRGB has its own w

    def blocks(self):
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def check_ws(self, ws):
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws has shape {list(ws.shape)}, expected [n, {self.num_ws}, {self.w_dim}]")

    def plan_end(self, max_resolution=None) -> int:
        """Number of plan steps up to and including the ToRGB of block `max_resolution`."""
        if max_resolution is None or max_resolution >= self.img_resolution:
            return len(self.plan)
        if max_resolution not in self.block_resolutions:
            raise ValueError(f"max_resolution={max_resolution}: must be one of "
                             f"{', '.join(map(str, self.block_resolutions))}")
        return 1 + max(k for k, (res, op, _) in enumerate(self.plan) if res == max_resolution)

    def run(self, ws, noise_mode="const", noise_generator=None, max_resolution=None,
            start=0, state=(None, None), on_step=None, noises=None):
        """Run plan steps [start, plan_end(max_resolution)) from `state` = (x, img) entering
        step `start`; `on_step(k, x, img)` sees the state entering every step; `noises` maps
        a conv step's index to its noise image (else `noise_mode` makes it). Returns img."""
        ws = ws.to(torch.float32)
        x, img = state
        end = self.plan_end(max_resolution)
        for k in range(start, end):
            if on_step is not None:
                on_step(k, x, img)
            res, op, w_index = self.plan[k]
            noise = noises.get(k) if noises is not None else None
            x, img = getattr(self, f"b{res}").step(op, x, img, ws[:, w_index], noise_mode, noise_generator, noise)
        if on_step is not None and end < len(self.plan):
            on_step(end, x, img)  # where a longer run would go on (a preview's full frame)
        return img

    def macs(self, max_resolution=None) -> int:
        """Multiply-accumulates per image up to block `max_resolution`: convolutions (transposed
        ones counted at the input rate), the 4x4 FIR after each upsampling conv, ToRGB and the
        image upsampling; the affines and demodulation are negligible beside them."""
        total = 0
        for k in range(self.plan_end(max_resolution)):
            res, op, _ = self.plan[k]
            block = getattr(self, f"b{res}")
            if op == "torgb":
                total += block.torgb.weight.numel() * res * res
                if res > 4:
                    total += 16 * self.img_channels * res * res
                continue
            layer = getattr(block, op)
            in_res = res // layer.up
            total += layer.weight.numel() * in_res * in_res
            if layer.up > 1:
                total += 16 * layer.out_channels * res * res
        return total

    def noise_layers(self):
        """(plan step, SynthesisLayer) of every layer that takes noise, in the order they run."""
        return [(k, getattr(getattr(self, f"b{res}"), op)) for k, (res, op, _) in enumerate(self.plan)
                if op != "torgb"]

    def forward(self, ws, noise_mode="const", noise_generator=None, max_resolution=None):
        self.check_ws(ws)
        return self.run(ws, noise_mode, noise_generator, max_resolution)


class MappedGenerator(GenerativeModel):
    """A generator made of `synthesis` and a `mapping` network (StyleGAN2 and StyleGAN3)."""

    def _add_networks(self, synthesis: nn.Module):
        # Synthesis before mapping: the same state_dict order as NVIDIA's networks.
        config = self.config
        self.synthesis = synthesis
        self.mapping = MappingNetwork(config.z_dim, config.w_dim, synthesis.num_ws,
                                      num_layers=config.mapping_layers,
                                      lr_multiplier=config.mapping_lr_multiplier,
                                      w_avg_beta=config.w_avg_beta,
                                      c_dim=int(getattr(config, "c_dim", 0) or 0))

    @property
    def w_dim(self):
        return self.config.w_dim

    @property
    def num_ws(self):
        return self.synthesis.num_ws

    @property
    def w_avg(self):
        return self.mapping.w_avg

    def map(self, z, truncation_psi=1.0, truncation_cutoff=None, update_emas=False, c=None):
        """z [n, z_dim] -> ws [n, num_ws, w_dim]; c [n, c_dim] on a conditional model (None:
        its default condition on every row; a c on an unconditional model is a ConfigError).
        Truncation pulls toward the one class-agnostic w_avg, as NVIDIA's does."""
        c = self.condition_batch(c, z.shape[0])
        return self.mapping(z, truncation_psi, truncation_cutoff, update_emas=update_emas, c=c)


@register_family
class StyleGAN(MappedGenerator):
    family = "stylegan"
    config_class = StyleGANConfig
    capabilities = Capabilities(has_mapping=True, style_mixing=True, has_noise=True)

    def __init__(self, config: StyleGANConfig = StyleGANConfig()):
        super().__init__(config)
        self._add_networks(SynthesisNetwork(config))

    def synthesize(self, ws, noise_mode="const", noise_generator=None, max_resolution=None):
        """ws -> images; ``max_resolution`` stops after that block and returns its own RGB
        output (the skip architecture's image at that resolution: the cheap preview)."""
        return self.synthesis(ws, noise_mode=noise_mode, noise_generator=noise_generator,
                              max_resolution=max_resolution)

    def forward(self, z, truncation_psi=1.0, truncation_cutoff=None, noise_mode="random", update_emas=False,
                c=None):
        ws = self.map(z, truncation_psi, truncation_cutoff, update_emas=update_emas, c=c)
        return self.synthesize(ws, noise_mode=noise_mode)


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convs (the second downsampling) plus a 1x1 downsampling skip."""

    def __init__(self, in_channels, tmp_channels, out_channels, img_channels, conv_clamp=None):
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x, img):
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv0(x)
        x = self.conv1(x, gain=math.sqrt(0.5))
        return y + x


class DiscriminatorEpilogue(nn.Module):
    """The 4x4 head: minibatch stddev, conv, fully connected, one logit."""

    def __init__(self, in_channels, resolution=4, mbstd_group_size=4, conv_clamp=None, cmap_dim=0):
        super().__init__()
        self.cmap_dim = cmap_dim
        self.mbstd = MinibatchStdLayer(group_size=mbstd_group_size, num_channels=1)
        self.conv = Conv2dLayer(in_channels + 1, in_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, cmap_dim or 1)

    def forward(self, x, cmap=None):
        x = self.conv(self.mbstd(x))
        x = self.out(self.fc(x.flatten(1)))
        if cmap is not None:  # projection: the inner product of the features with the condition's embedding
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class StyleGANDiscriminator(nn.Module):
    def __init__(self, config: StyleGANConfig):
        super().__init__()
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        log2 = int(np.log2(config.img_resolution))
        self.block_resolutions = [2**i for i in range(log2, 2, -1)]
        for res in self.block_resolutions:
            in_channels = config.channels(res) if res < config.img_resolution else 0
            block = DiscriminatorBlock(in_channels, config.channels(res), config.channels(res // 2),
                                       config.img_channels, conv_clamp=config.conv_clamp)
            setattr(self, f"b{res}", block)
        self.c_dim = int(getattr(config, "c_dim", 0) or 0)
        cmap_dim = config.channels(4) if self.c_dim else 0
        if self.c_dim:  # the condition's embedding (projection discriminator, Miyato & Koyama 2018)
            self.embed = FullyConnectedLayer(self.c_dim, cmap_dim)
        self.b4 = DiscriminatorEpilogue(config.channels(4), mbstd_group_size=config.mbstd_group_size,
                                        conv_clamp=config.conv_clamp, cmap_dim=cmap_dim)

    def forward(self, img, c=None):
        """One logit per image; a conditional D scores the image *as* its condition c [n, c_dim]."""
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, img)
        cmap = None
        if self.c_dim:
            if c is None:
                raise ConfigError(f"this discriminator is conditional (c_dim {self.c_dim}): give c")
            cmap = normalize_2nd_moment(self.embed(c.to(torch.float32)))
        return self.b4(x, cmap)
