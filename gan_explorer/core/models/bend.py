"""Network bending (Broad, Leymarie and Grierson, "Network Bending: Expressive Manipulation of
Generative Models in Multiple Domains", 2021): transforms applied to the feature maps inside the
generator while it draws, so a face can be stretched, shifted, turned, thinned or hollowed from
within, at the depth the user picks (early layers bend the layout, late ones the texture).

A bend is a `Bend(layer, op, params)` in the latent state, so undo, presets, provenance and exports
carry it. `apply_bends(model, state)` is its synthesis applier: a forward hook on each bent layer
replaces that layer's output with the transformed one; the hooks are removed on exit, and no
weight is touched.

The ops and their parameters (feature maps are [n, C, H, W]):
- scale (factor): multiply the activations.
- translate (dx, dy): shift by fractions of the map's width and height, wrapping around.
- rotate (degrees): turn about the centre (bilinear, zeros outside).
- erode (radius) / dilate (radius): minimum / maximum over a (2r+1)^2 window: thinner / bolder.
- invert (): each channel mirrored within its own range (max + min - x).
- zero (channel, channel, ...): those channels set to 0 (ablating a cluster of units).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan_explorer.core.errors import ConfigError

BEND_OPS = {          # op -> (fewest parameters, most parameters)
    "scale": (1, 1),
    "translate": (2, 2),
    "rotate": (1, 1),
    "erode": (1, 1),
    "dilate": (1, 1),
    "invert": (0, 0),
    "zero": (1, 4096),
}
MAX_RADIUS = 16


@dataclass(frozen=True)
class BendLayer:
    index: int          # a Bend's `layer`
    name: str           # "b16.conv0" (StyleGAN2) or "L3_36_512" (StyleGAN3)
    channels: int       # feature maps it writes
    resolution: int


def bend_layers(model) -> list[BendLayer]:
    return [layer for layer, _ in _layer_modules(model)]


def _layer_modules(model):
    family = getattr(model, "family", "")
    synthesis = getattr(model, "synthesis", None)
    found = []
    if family == "stylegan":
        for res, op, _ in synthesis.plan:
            if op == "torgb":
                continue
            module = getattr(getattr(synthesis, f"b{res}"), op)
            found.append((f"b{res}.{op}", module, int(module.weight.shape[0]), res))
    elif family == "stylegan3":
        for name in synthesis.layer_names:
            module = getattr(synthesis, name)
            if not module.is_torgb:
                found.append((name, module, int(module.out_channels), int(module.out_size)))
    else:
        raise ConfigError(f"network bending needs a StyleGAN2 or StyleGAN3 generator; the "
                          f"{family or type(model).__name__} family has no synthesis layers to bend")
    return [(BendLayer(i, name, channels, res), module) for i, (name, module, channels, res) in enumerate(found)]


def check_bend(bend, layers: list[BendLayer]) -> None:
    """ConfigError, one line, for a bend this model cannot take."""
    layer, op, params = bend[0], bend[1], tuple(bend[2]) if len(bend) > 2 else ()
    if not 0 <= layer < len(layers):
        raise ConfigError(f"bend on layer {layer}: this model has layers 0 to {len(layers) - 1}")
    if op not in BEND_OPS:
        raise ConfigError(f"bend {op!r}: must be one of {', '.join(BEND_OPS)}")
    low, high = BEND_OPS[op]
    if not low <= len(params) <= high:
        raise ConfigError(f"bend {op!r} takes {low if low == high else f'{low} to {high}'} number"
                          f"{'' if high == 1 else 's'}, not {len(params)}")
    if op in ("erode", "dilate") and not (params[0] == int(params[0]) and 1 <= params[0] <= MAX_RADIUS):
        raise ConfigError(f"bend {op!r}: the radius must be a whole number from 1 to {MAX_RADIUS}")
    if op == "zero" and not all(p == int(p) and 0 <= p < layers[layer].channels for p in params):
        raise ConfigError(f"bend 'zero': channels must be whole numbers from 0 to {layers[layer].channels - 1}")


def bend_features(x: torch.Tensor, op: str, params: tuple) -> torch.Tensor:
    """The transformed feature maps (the ops above)."""
    if op == "scale":
        return x * params[0]
    if op == "translate":
        h, w = x.shape[-2:]
        return torch.roll(x, shifts=(round(params[1] * h), round(params[0] * w)), dims=(-2, -1))
    if op == "rotate":
        angle = torch.tensor(params[0] * torch.pi / 180, dtype=torch.float32)
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype, device=x.device)
        grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if op in ("erode", "dilate"):
        size = 2 * int(params[0]) + 1
        sign = 1 if op == "dilate" else -1
        return sign * F.max_pool2d(sign * x, size, stride=1, padding=size // 2)
    if op == "invert":
        top = x.amax(dim=(-2, -1), keepdim=True)
        bottom = x.amin(dim=(-2, -1), keepdim=True)
        return top + bottom - x
    if op == "zero":
        out = x.clone()
        out[:, [int(p) for p in params]] = 0
        return out
    raise ConfigError(f"bend {op!r}: must be one of {', '.join(BEND_OPS)}")


@contextmanager
def apply_bends(model, state):
    """While open, the model's synthesis applies `state.bends` (in the order listed)."""
    modules = _layer_modules(model)
    layers = [layer for layer, _ in modules]
    by_layer: dict[int, list] = {}
    for bend in state.bends:
        check_bend(bend, layers)
        by_layer.setdefault(int(bend[0]), []).append((bend[1], tuple(bend[2]) if len(bend) > 2 else ()))
    handles = []

    def hook_for(bends):
        def hook(module, inputs, output):
            for op, params in bends:
                output = bend_features(output, op, params)
            return output
        return hook

    try:
        for index, bends in by_layer.items():
            handles.append(modules[index][1].register_forward_hook(hook_for(bends)))
        yield
    finally:
        for handle in handles:
            handle.remove()
