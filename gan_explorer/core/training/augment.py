"""Differentiable augmentation for small datasets.

DiffAugment (Zhao et al. 2020): colour, translation and cutout applied to every image
D sees, real and fake alike. ADA (Karras et al. 2020): the same kind of transforms, each
applied with probability p, with p steered so that r_t = E[sign(D(real))] stays near a
target (0.6): a D that grows too sure of the reals means it is overfitting them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _brightness(x, strength, g):
    return x + (torch.rand(x.shape[0], 1, 1, 1, generator=g, device=x.device) - 0.5) * strength


def _saturation(x, strength, g):
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (1 + (torch.rand(x.shape[0], 1, 1, 1, generator=g, device=x.device) - 0.5) * strength * 2) + mean


def _contrast(x, strength, g):
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (1 + (torch.rand(x.shape[0], 1, 1, 1, generator=g, device=x.device) - 0.5) * strength) + mean


def _translation(x, ratio, g):
    """Integer shifts up to ratio * size with zero fill, per image (differentiable w.r.t. x)."""
    n, _, h, w = x.shape
    sx, sy = int(w * ratio + 0.5), int(h * ratio + 0.5)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), generator=g, device=x.device)
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), generator=g, device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    src_y = (gy[None] - ty).clamp(-1, h)
    src_x = (gx[None] - tx).clamp(-1, w)
    padded = F.pad(x, [1, 1, 1, 1])
    index = ((src_y + 1) * (w + 2) + (src_x + 1)).reshape(n, 1, -1).expand(-1, x.shape[1], -1)
    return padded.reshape(n, x.shape[1], -1).gather(2, index).reshape_as(x)


def _cutout(x, ratio, g):
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + 1 - ch % 2, (n, 1, 1), generator=g, device=x.device)
    cx = torch.randint(0, w + 1 - cw % 2, (n, 1, 1), generator=g, device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    inside = ((gy[None] - cy).abs() < ch // 2 + 1) & ((gx[None] - cx).abs() < cw // 2 + 1)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x, policy=("color", "translation", "cutout"), generator=None):
    if "color" in policy:
        x = _contrast(_saturation(_brightness(x, 1.0, generator), 1.0, generator), 1.0, generator)
    if "translation" in policy:
        x = _translation(x, 0.125, generator)
    if "cutout" in policy:
        x = _cutout(x, 0.5, generator)
    return x


class AdaptiveAugment:
    """ADA-style augmentation with probability p, adjusted from the sign of D's real logits."""

    def __init__(self, target=0.6, adjust_kimg=100.0, interval=4, p=0.0):
        self.target = target
        self.adjust_kimg = adjust_kimg  # images for p to go from 0 to 1 at full speed
        self.interval = interval  # adjust every this many steps
        self.p = p
        self._sign_sum = 0.0
        self._count = 0
        self._steps = 0
        self.rt = 0.0

    def _apply_each(self, x, fn, g):
        mask = (torch.rand(x.shape[0], 1, 1, 1, generator=g, device=x.device) < self.p).to(x.dtype)
        return x + (fn(x) - x) * mask

    def __call__(self, x, generator=None):
        if self.p <= 0:
            return x
        g = generator
        x = self._apply_each(x, lambda v: v.flip(3), g)
        x = self._apply_each(x, lambda v: _translation(v, 0.125, g), g)
        x = self._apply_each(x, lambda v: _brightness(v, 0.4, g), g)
        x = self._apply_each(x, lambda v: _contrast(v, 0.5, g), g)
        x = self._apply_each(x, lambda v: _saturation(v, 0.5, g), g)
        x = self._apply_each(x, lambda v: _cutout(v, 0.25, g), g)
        return x

    def accumulate(self, real_logits: torch.Tensor):
        self._sign_sum += float(real_logits.detach().sign().sum())
        self._count += real_logits.numel()

    def update(self, batch_images: int, sign_sum: float | None = None, count: int | None = None):
        """Called once per step; moves p every `interval` steps. Returns r_t when it moved."""
        self._steps += 1
        if self._steps % self.interval or self._count == 0:
            return None
        s = self._sign_sum if sign_sum is None else sign_sum
        c = self._count if count is None else count
        self.rt = s / c
        step = (1 if self.rt > self.target else -1) * batch_images * self.interval / (self.adjust_kimg * 1000)
        self.p = float(min(max(self.p + step, 0.0), 1.0))
        self._sign_sum, self._count = 0.0, 0
        return self.rt

    def state_dict(self):
        return {"p": self.p, "sign_sum": self._sign_sum, "count": self._count, "steps": self._steps, "rt": self.rt}

    def load_state_dict(self, state):
        self.p, self._sign_sum, self._count = state["p"], state["sign_sum"], state["count"]
        self._steps, self.rt = state["steps"], state["rt"]
