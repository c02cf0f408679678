"""StyleGAN3 / Alias-Free GAN (Karras et al. 2021), the synthesis network, from the paper.

The input is a grid of Fourier features whose frequencies and phases follow a per-image
rotation/translation (from w) and a user transform; each layer is a modulated conv followed
by a *filtered* leaky ReLU: upsample with a low-pass FIR, apply the nonlinearity at the
higher rate, low-pass and downsample again, so no aliasing leaks into the features.
Tensor names follow NVIDIA's networks (synthesis.input.*, synthesis.L3_36_512.*, ...).

This family is for exploring (imported StyleGAN3-T / -R networks); training it is not offered.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models.base import Capabilities, ModelConfig, check_positive
from gan_explorer.core.models.layers import FullyConnectedLayer
from gan_explorer.core.models.ops import bias_act, upfirdn2d, upfirdn2d_reference
from gan_explorer.core.models.registry import register_family
from gan_explorer.core.models.stylegan import MappedGenerator


@dataclass(frozen=True)
class StyleGAN3Config(ModelConfig):
    z_dim: int = 512                    # input latent (Z) dimensionality
    w_dim: int = 512                    # intermediate latent (W) dimensionality
    img_resolution: int = 256           # output resolution
    img_channels: int = 3               # 3 for RGB
    mapping_layers: int = 2             # depth of the mapping network (StyleGAN3 uses 2)
    mapping_lr_multiplier: float = 0.01 # learning-rate multiplier of the mapping layers
    w_avg_beta: float = 0.998           # decay of the tracked w average
    channel_base: int = 32768           # feature maps: min(channel_base / 2 / cutoff, channel_max)
    channel_max: int = 512              # cap on feature maps per layer
    num_layers: int = 14                # synthesis layers, excluding ToRGB
    num_critical: int = 2               # critically sampled layers at the end
    first_cutoff: float = 2.0           # cutoff frequency of the first layer
    first_stopband: float = 2 ** 2.1    # minimum stopband of the first layer
    last_stopband_rel: float = 2 ** 0.3 # minimum stopband of the last layer, relative to its cutoff
    margin_size: int = 10               # extra pixels around the image in the hidden layers
    output_scale: float = 0.25          # scale of the ToRGB output
    conv_kernel: int = 3                # 3 for StyleGAN3-T, 1 for StyleGAN3-R
    filter_size: int = 6                # low-pass filter taps per up/down factor
    lrelu_upsampling: int = 2           # oversampling of the nonlinearity
    use_radial_filters: bool = False    # radially symmetric down filters (StyleGAN3-R)
    conv_clamp: float | None = 256      # clamp layer outputs to +-this
    magnitude_ema_beta: float = 0.999   # decay of the tracked input magnitude (training)
    num_fp16_res: int = 4               # kept for provenance; rendering is fp32

    def validate(self):
        for name in ("z_dim", "w_dim", "img_resolution", "img_channels", "channel_base", "channel_max",
                     "num_layers", "mapping_layers"):
            check_positive(name, getattr(self, name))
        if self.img_resolution & (self.img_resolution - 1) or self.img_resolution < 16:
            raise ConfigError(f"img_resolution={self.img_resolution}: must be a power of two, at least 16")
        if not 0 <= self.num_critical < self.num_layers:
            raise ConfigError(f"num_critical={self.num_critical}: must be from 0 to num_layers-1")
        if self.conv_kernel not in (1, 3):
            raise ConfigError(f"conv_kernel={self.conv_kernel}: must be 1 (R) or 3 (T)")

    def layer_plan(self):
        """Cutoffs, stopbands, sampling rates, half widths, sizes and channels per layer (sec. 3.2)."""
        n = self.num_layers
        last_cutoff = self.img_resolution / 2
        last_stopband = last_cutoff * self.last_stopband_rel
        exponents = np.minimum(np.arange(n + 1) / (n - self.num_critical), 1)
        cutoffs = self.first_cutoff * (last_cutoff / self.first_cutoff) ** exponents
        stopbands = self.first_stopband * (last_stopband / self.first_stopband) ** exponents
        rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, self.img_resolution))))
        half_widths = np.maximum(stopbands, rates / 2) - cutoffs
        sizes = rates + self.margin_size * 2
        sizes[-2:] = self.img_resolution
        channels = np.rint(np.minimum((self.channel_base / 2) / cutoffs, self.channel_max))
        channels[-1] = self.img_channels
        return cutoffs, rates, half_widths, sizes.astype(int), channels.astype(int)


def kaiser_beta_for(numtaps, width):
    """Kaiser window beta for `numtaps` taps and a transition `width` in units of Nyquist.

    Kaiser's empirical formulas (Oppenheim & Schafer, eq. 7.62-7.63), as scipy.signal's
    kaiser_atten + kaiser_beta; written out so that the frozen app need not ship scipy.
    """
    attenuation = 2.285 * (numtaps - 1) * np.pi * width + 7.95  # dB
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    return 0.0


def design_lowpass_filter(numtaps, cutoff, width, fs, radial=False):
    """Kaiser-windowed low-pass FIR with unit DC gain, or its radially symmetric 2-D version.

    The 1-D case is the windowed-sinc design of scipy.signal.firwin(numtaps, cutoff, width=width,
    fs=fs) (a test holds the two equal); the 2-D one windows the ideal circular low-pass (jinc).
    """
    if numtaps == 1:
        return None
    nyquist = fs / 2
    window = np.kaiser(numtaps, kaiser_beta_for(numtaps, width / nyquist))
    if not radial:
        m = np.arange(numtaps) - (numtaps - 1) / 2
        f = (cutoff / nyquist) * np.sinc(cutoff / nyquist * m) * window
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = torch.from_numpy(np.hypot(*np.meshgrid(x, x)))
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (torch.special.bessel_j1(2 * np.pi * cutoff * r) / (np.pi * r)).numpy()  # the 2-D ideal low-pass
    f[r.numpy() == 0] = cutoff  # its limit at the centre
    f = f * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


class SynthesisInput(nn.Module):
    """Fourier features on a grid, rotated/translated by w and by the user `transform`."""

    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth):
        super().__init__()
        self.channels, self.size = channels, int(size)
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():  # start as the identity transform: (cos, sin, tx, ty) = (1, 0, 0, 0)
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([channels]) - 0.5)

    def forward(self, w):
        n = w.shape[0]
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        rotation = torch.eye(3, device=w.device).unsqueeze(0).repeat(n, 1, 1)  # inverse rotation of the image
        rotation[:, 0, 0], rotation[:, 0, 1] = t[:, 0], -t[:, 1]
        rotation[:, 1, 0], rotation[:, 1, 1] = t[:, 1], t[:, 0]
        translation = torch.eye(3, device=w.device).unsqueeze(0).repeat(n, 1, 1)
        translation[:, 0, 2], translation[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = rotation @ translation @ self.transform.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ transforms[:, :2, 2:]).squeeze(2)
        freqs = self.freqs.unsqueeze(0) @ transforms[:, :2, :2]
        # Fade out frequencies that a user transform pushed beyond the band.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grid = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)
        x = torch.sin((x + phases.unsqueeze(1).unsqueeze(2)) * (2 * np.pi))
        x = x * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


def modulated_conv2d_sg3(x, weight, styles, demodulate=True, padding=0, input_gain=None):
    """StyleGAN3's modulated convolution: per-sample weights, optional input gain."""
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if demodulate:  # pre-normalise for numerical range; demodulation cancels the scale
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, -1, 1, 1, 1)
    if input_gain is not None:
        w = w * input_gain.expand(n, in_ch).reshape(n, 1, -1, 1, 1)
    x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), w.reshape(-1, in_ch, kh, kw), padding=padding, groups=n)
    return x.reshape(n, -1, *x.shape[2:])


_FIR = {"impl": upfirdn2d}


@contextlib.contextmanager
def reference_filters():
    """Render with the textbook (zero insertion + full-rate FIR) formulation: benchmarks, checks."""
    previous = _FIR["impl"]
    _FIR["impl"] = upfirdn2d_reference
    try:
        yield
    finally:
        _FIR["impl"] = previous


def filtered_lrelu(x, up_filter, down_filter, bias, up, down, padding, gain, slope, clamp):
    """Bias, upsample (FIR), leaky ReLU with gain and clamp, low-pass and downsample (FIR)."""
    fir = _FIR["impl"]
    x = bias_act(x, bias)
    x = fir(x, up_filter, up=up, padding=padding, gain=up * up)
    x = F.leaky_relu(x, slope) * gain if slope != 1 else x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return fir(x, down_filter, down=down)


class SynthesisLayerSG3(nn.Module):
    def __init__(self, w_dim, is_torgb, is_critically_sampled, in_channels, out_channels, in_size, out_size,
                 in_sampling_rate, out_sampling_rate, in_cutoff, out_cutoff, in_half_width, out_half_width,
                 config: StyleGAN3Config):
        super().__init__()
        self.is_torgb = is_torgb
        self.in_channels, self.out_channels = in_channels, out_channels
        self.out_size = int(out_size)
        self.conv_kernel = 1 if is_torgb else config.conv_kernel
        self.conv_clamp = config.conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        tmp_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else config.lrelu_upsampling)
        self.up_factor = int(np.rint(tmp_rate / in_sampling_rate))
        up_taps = config.filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(up_taps, in_cutoff, in_half_width * 2, tmp_rate))
        self.down_factor = int(np.rint(tmp_rate / out_sampling_rate))
        down_taps = config.filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        radial = config.use_radial_filters and not is_critically_sampled
        self.register_buffer("down_filter", design_lowpass_filter(down_taps, out_cutoff, out_half_width * 2,
                                                                  tmp_rate, radial=radial))
        # Padding so that output samples sit where the symmetric interpretation puts them (App. C.3).
        pad_total = (out_size - 1) * self.down_factor + 1
        pad_total -= (in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += up_taps + down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = (int(pad_lo), int(pad_hi), int(pad_lo), int(pad_hi))

    def forward(self, x, w):
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / np.sqrt(self.in_channels * self.conv_kernel**2)
        x = modulated_conv2d_sg3(x, self.weight, styles, demodulate=not self.is_torgb,
                                 padding=self.conv_kernel - 1, input_gain=self.magnitude_ema.rsqrt())
        gain, slope = (1.0, 1.0) if self.is_torgb else (np.sqrt(2), 0.2)
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, self.up_factor, self.down_factor,
                              self.padding, gain, slope, self.conv_clamp)

    def extra_repr(self):
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, out_size={self.out_size}, "
                f"up={self.up_factor}, down={self.down_factor}, torgb={self.is_torgb}")


class SynthesisNetworkSG3(nn.Module):
    def __init__(self, config: StyleGAN3Config):
        super().__init__()
        self.w_dim = config.w_dim
        self.num_ws = config.num_layers + 2
        self.output_scale = config.output_scale
        cutoffs, rates, half_widths, sizes, channels = config.layer_plan()
        self.input = SynthesisInput(config.w_dim, int(channels[0]), int(sizes[0]), rates[0], cutoffs[0])
        self.layer_names = []
        for idx in range(config.num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayerSG3(
                config.w_dim, is_torgb=idx == config.num_layers,
                is_critically_sampled=idx >= config.num_layers - config.num_critical,
                in_channels=int(channels[prev]), out_channels=int(channels[idx]),
                in_size=int(sizes[prev]), out_size=int(sizes[idx]),
                in_sampling_rate=int(rates[prev]), out_sampling_rate=int(rates[idx]),
                in_cutoff=cutoffs[prev], out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev], out_half_width=half_widths[idx], config=config)
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws):
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws has shape {list(ws.shape)}, expected [n, {self.num_ws}, {self.w_dim}]")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w)
        return x * self.output_scale if self.output_scale != 1 else x


@register_family
class StyleGAN3(MappedGenerator):
    family = "stylegan3"
    config_class = StyleGAN3Config
    capabilities = Capabilities(has_mapping=True, style_mixing=True, has_transform=True)

    def __init__(self, config: StyleGAN3Config = StyleGAN3Config()):
        super().__init__(config)
        self._add_networks(SynthesisNetworkSG3(config))

    def synthesize(self, ws, noise_mode="const", noise_generator=None):
        return self.synthesis(ws)  # StyleGAN3 has no noise inputs

    def set_transform(self, translate=(0.0, 0.0), rotate_degrees=0.0) -> torch.Tensor:
        """Move the image: the input transform is the inverse of translate-then-rotate."""
        m = make_transform(translate, rotate_degrees)
        inverse = torch.as_tensor(np.linalg.inv(m), dtype=torch.float32, device=self.synthesis.input.transform.device)
        self.synthesis.input.transform.copy_(inverse)
        return inverse


def make_transform(translate=(0.0, 0.0), rotate_degrees=0.0) -> np.ndarray:
    """A 3x3 translate + rotate matrix, as in NVIDIA's gen_images.py."""
    m = np.eye(3)
    s, c = np.sin(rotate_degrees / 360 * np.pi * 2), np.cos(rotate_degrees / 360 * np.pi * 2)
    m[0][0], m[0][1], m[0][2] = c, s, translate[0]
    m[1][0], m[1][1], m[1][2] = -s, c, translate[1]
    return m
