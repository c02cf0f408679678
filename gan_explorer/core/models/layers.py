"""Equalized-learning-rate building blocks shared by the StyleGAN generator and discriminator.

Weights are stored with unit variance and scaled at run time (Karras et al. 2018, sec. 4.1),
so Adam's per-parameter step sizes are equal across layers of different fan-in.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from gan_explorer.core.models.ops import ACTIVATION_GAINS, bias_act, conv2d_resample, setup_filter


class FullyConnectedLayer(nn.Module):
    def __init__(self,
                 in_features,           # number of input features
                 out_features,          # number of output features
                 bias=True,             # learn an additive bias
                 activation="linear",   # 'linear', 'relu' or 'lrelu'
                 lr_multiplier=1.0,     # learning-rate scale (0.01 in the mapping network)
                 bias_init=0.0,         # initial bias (1 for style affines: styles start at 1)
                 ):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


class Conv2dLayer(nn.Module):
    def __init__(self,
                 in_channels,           # number of input channels
                 out_channels,          # number of output channels
                 kernel_size,           # width and height of the kernel
                 bias=True,             # learn an additive bias
                 activation="linear",   # 'linear', 'relu' or 'lrelu'
                 up=1,                  # FIR upsampling factor (1 or 2)
                 down=1,                # FIR downsampling factor (1 or 2)
                 resample_filter=(1, 3, 3, 1),  # taps of the low-pass resampling filter
                 conv_clamp=None,       # clamp outputs to +-this value (None: no clamp)
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.activation = activation
        self.up = up
        self.down = down
        self.conv_clamp = conv_clamp
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.act_gain = ACTIVATION_GAINS[activation]
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.register_buffer("resample_filter", setup_filter(resample_filter))

    def forward(self, x, gain=1.0):
        w = self.weight.to(x.dtype) * self.weight_gain
        x = conv2d_resample(x, w, self.resample_filter, up=self.up, down=self.down,
                            padding=self.padding, flip_weight=(self.up == 1))
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)

    def extra_repr(self):
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"activation={self.activation}, up={self.up}, down={self.down}")


class MinibatchStdLayer(nn.Module):
    """Appends the across-group standard deviation of features (Karras et al. 2018, sec. 3)."""

    def __init__(self, group_size=4, num_channels=1):
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x):
        n, c, h, w = x.shape
        # The largest group size <= group_size that divides the batch, so any batch works.
        g = max(d for d in range(1, min(self.group_size, n) + 1) if n % d == 0)
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])  # [n/g, f]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def extra_repr(self):
        return f"group_size={self.group_size}, num_channels={self.num_channels}"


def count_parameters(module: nn.Module) -> int:
    return int(np.sum([p.numel() for p in module.parameters()]))
