"""Latent-space operations. They act on ``ws`` tensors [n, num_ws, w_dim], never inside forward."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models.truncation import truncate  # noqa: F401  (one of the latent ops; lives low)


def parse_layers(spec, num_ws: int) -> list[int]:
    """'0-3', '0,2,5-7', a list of ints, or 'coarse' / 'middle' / 'fine' -> sorted layer indices."""
    if isinstance(spec, str):
        named = layer_groups(num_ws)
        if spec in named:
            return list(named[spec])
        layers: list[int] = []
        for part in spec.replace(" ", "").split(","):
            if not part:
                continue
            try:
                if "-" in part:
                    lo, hi = (int(v) for v in part.split("-", 1))
                    layers.extend(range(lo, hi + 1))
                else:
                    layers.append(int(part))
            except ValueError:
                raise ConfigError(f"layers {spec!r}: expected e.g. '0-3' or '0,2,4'") from None
    else:
        layers = [int(v) for v in spec]
    bad = [i for i in layers if not 0 <= i < num_ws]
    if bad:
        raise ConfigError(f"layers {spec!r}: {bad} outside 0..{num_ws - 1} (the model has {num_ws} ws)")
    return sorted(set(layers))


def layer_groups(num_ws: int) -> dict[str, range]:
    """The StyleGAN paper's coarse (4-8 px), middle (16-32 px) and fine (64+ px) layer groups."""
    coarse = min(4, num_ws)
    middle = min(8, num_ws)
    return {"coarse": range(0, coarse), "middle": range(coarse, middle), "fine": range(middle, num_ws)}


def mix_styles(ws_dst: torch.Tensor, ws_src: torch.Tensor, layers: Iterable[int]) -> torch.Tensor:
    """A copy of ws_dst whose given layers are taken from ws_src (style mixing)."""
    if ws_dst.shape != ws_src.shape:
        raise ValueError(f"style mixing needs equal shapes, got {list(ws_dst.shape)} and {list(ws_src.shape)}")
    out = ws_dst.clone()
    layers = list(layers)
    if layers:
        out[:, layers] = ws_src[:, layers]
    return out


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the last dimension; falls back to lerp for parallel vectors.

    Magnitudes are interpolated linearly, directions along the great circle, so that
    slerp between two Gaussian samples keeps a typical norm.
    """
    a_norm = a.norm(dim=-1, keepdim=True)
    b_norm = b.norm(dim=-1, keepdim=True)
    a_unit = a / a_norm.clamp_min(eps)
    b_unit = b / b_norm.clamp_min(eps)
    cos = (a_unit * b_unit).sum(dim=-1, keepdim=True).clamp(-1 + eps, 1 - eps)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * a_unit + torch.sin(t * omega) * b_unit) / sin.clamp_min(eps)
    magnitude = a_norm + (b_norm - a_norm) * t
    result = direction * magnitude
    parallel = sin.abs() < 1e-4
    return torch.where(parallel, lerp(a, b, t), result)
