"""What each layer of a generator sees: its activations, their statistics and spectrum, and ablation.

Works for every family through forward hooks on the modules that run during one
``synthesize(ws)`` (or ``translate(images)`` for CycleGAN), in the order they run:

    layers = list_layers(model)                       # [LayerInfo(name, kind, shape), ...]
    acts = capture_activations(model, ws, [layers[3].name])   # {name: Tensor [n, C, H, W]}
    view = layer_view(model, ws, layers[3].name, db=True)     # image, channel grid, stats, spectrum
    image = render_ablated(model, ws, layers[3].name, channels=[5], scale=0.0)  # unit ablation

Activations are cloned inside the hook (an in-place ReLU after a batch norm would otherwise
overwrite what was captured). Ablation returns a changed output from the hook, so the rest of
the network runs on it (Bau et al. 2019, GAN Dissection: zero a unit and look).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.io.images import to_uint8

WHAT_AM_I_LOOKING_AT = (
    "A generator builds the picture in stages: each layer turns the previous layer's feature maps "
    "into new ones, from a few pixels wide near the input to full size at the output. The list shows "
    "every layer with the shape of what it outputs (channels x height x width). The grid shows each "
    "channel of the selected layer as a grey image for the current latent (bright = large); dB shows "
    "magnitudes on a log scale so weak channels are visible too. Mean, std and max per channel tell "
    "which channels are busy. The spectrum is the 2-D Fourier transform of the layer (log magnitude, "
    "low frequencies in the centre): a regular grid of bright dots away from the centre is aliasing, "
    "the artefact StyleGAN3 was designed to remove. Setting a channel's scale to 0 switches that unit "
    "off (ablation) and re-renders, so you can see what it contributes."
)

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


@dataclass(frozen=True)
class LayerInfo:
    index: int          # position in the order the layers run
    name: str           # the module's qualified name (e.g. synthesis.b16.conv1)
    kind: str           # the module's class (SynthesisLayer, ConvTranspose2d, ReLU, ...)
    shape: tuple        # one sample's output shape: (C, H, W) or (features,)

    @property
    def is_spatial(self) -> bool:
        return len(self.shape) == 3


def _forward(model, inputs, noise_mode: str = "const", direction: str = "AB"):
    """Run the generator once: synthesize(ws) for latent families, translate(images) for CycleGAN."""
    if model.capabilities.is_translation:
        return model.translate(inputs, direction)
    return model.synthesize(inputs, noise_mode=noise_mode)


def _candidate_modules(model):
    return [(name, m) for name, m in model.named_modules() if name and not isinstance(m, _CONTAINERS)]


def example_input(model, seed: int = 0):
    """A one-sample input: ws of `seed` (latent families) or a noise picture (translation)."""
    device = model._device() if hasattr(model, "_device") else next(model.parameters()).device
    if model.capabilities.is_translation:
        g = torch.Generator().manual_seed(seed)
        shape = (1, model.img_channels, model.img_resolution, model.img_resolution)
        return (torch.rand(shape, generator=g) * 2 - 1).to(device)
    return model.map(model.sample_z(1, seed))


@torch.no_grad()
def list_layers(model, inputs=None, direction: str = "AB") -> list[LayerInfo]:
    """Every module that outputs a tensor while the generator runs, in running order."""
    inputs = example_input(model) if inputs is None else inputs
    seen: dict[str, LayerInfo] = {}
    handles = []
    for name, module in _candidate_modules(model):
        def hook(mod, _inp, out, name=name):
            if name not in seen and isinstance(out, torch.Tensor) and out.ndim >= 2:
                seen[name] = LayerInfo(len(seen), name, type(mod).__name__, tuple(out.shape[1:]))
        handles.append(module.register_forward_hook(hook))
    try:
        _forward(model, inputs[:1], direction=direction)
    finally:
        for h in handles:
            h.remove()
    return list(seen.values())


def _module(model, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or not name:
        raise ConfigError(f"layer {name!r}: the {model.family} generator has no such layer")
    return modules[name]


@torch.no_grad()
def capture_activations(model, inputs, names, noise_mode: str = "const", direction: str = "AB"):
    """({name: activation [n, ...] float32 on CPU}, output images) for one run of the generator."""
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for name in names:
        def hook(_mod, _inp, out, name=name):
            if name not in captured and isinstance(out, torch.Tensor):
                captured[name] = out.detach().float().cpu().clone()
        handles.append(_module(model, name).register_forward_hook(hook))
    try:
        images = _forward(model, inputs, noise_mode, direction)
    finally:
        for h in handles:
            h.remove()
    missing = [n for n in names if n not in captured]
    if missing:
        raise GanExplorerError(f"layer(s) {', '.join(missing)} did not output a tensor in this run")
    return captured, images


@torch.no_grad()
def render_ablated(model, inputs, layer: str, channels, scale: float = 0.0, noise_mode: str = "const",
                   direction: str = "AB") -> torch.Tensor:
    """The generator's output with `channels` of `layer` multiplied by `scale` (0 = switched off)."""
    channels = [int(channels)] if np.isscalar(channels) else [int(c) for c in channels]

    def hook(_mod, _inp, out):
        if not isinstance(out, torch.Tensor):
            raise GanExplorerError(f"layer {layer!r} does not output a tensor; it cannot be ablated")
        bad = [c for c in channels if not 0 <= c < out.shape[1]]
        if bad:
            raise ConfigError(f"channel(s) {bad} of layer {layer!r}: it has {out.shape[1]} channels")
        out = out.clone()
        out[:, channels] *= scale
        return out

    handle = _module(model, layer).register_forward_hook(hook)
    try:
        return _forward(model, inputs, noise_mode, direction)
    finally:
        handle.remove()


def as_channel_maps(activation) -> np.ndarray:
    """One sample's activation as [C, H, W]: spatial maps as they are, a vector as one square map."""
    a = np.asarray(activation.detach().cpu() if isinstance(activation, torch.Tensor) else activation,
                   dtype=np.float32)
    if a.ndim == 3:
        return a
    if a.ndim == 1:
        side = math.ceil(math.sqrt(a.size))
        square = np.full(side * side, np.nan, dtype=np.float32)
        square[:a.size] = a
        return square.reshape(1, side, side)
    raise ConfigError(f"an activation of shape {list(a.shape)}: expected [C, H, W] or [features]")


def to_decibels(a: np.ndarray) -> np.ndarray:
    """20 log10 |a|, floored 100 dB below the largest magnitude."""
    mag = np.abs(a)
    top = np.nanmax(mag) if np.isfinite(np.nanmax(mag)) else 1.0
    return 20 * np.log10(np.maximum(mag, max(top, 1e-30) * 1e-5))


def normalise(maps: np.ndarray, per_channel: bool = True) -> np.ndarray:
    """[C, H, W] float -> uint8, min..max to 0..255 per channel (or over the layer); NaN -> 0."""
    axes = (1, 2) if per_channel else None
    lo = np.nanmin(maps, axis=axes, keepdims=True)
    hi = np.nanmax(maps, axis=axes, keepdims=True)
    scaled = (maps - lo) / np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return np.nan_to_num(np.clip(scaled * 255 + 0.5, 0, 255)).astype(np.uint8)


def channel_grid(activation, db: bool = False, per_channel: bool = True, cols: int | None = None,
                 border: int = 1) -> np.ndarray:
    """Every channel of one sample's activation side by side: HxW uint8 (greyscale), 1 px borders."""
    maps = as_channel_maps(activation)
    if db:
        maps = to_decibels(maps)
    tiles = normalise(maps, per_channel)
    c, h, w = tiles.shape
    cols = cols or math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    grid = np.zeros((rows * (h + border) - border, cols * (w + border) - border), dtype=np.uint8)
    for i in range(c):
        r, k = divmod(i, cols)
        grid[r * (h + border):r * (h + border) + h, k * (w + border):k * (w + border) + w] = tiles[i]
    return grid


def channel_image(activation, channel: int, db: bool = False) -> np.ndarray:
    """One channel as HxW uint8."""
    maps = as_channel_maps(activation)
    if not 0 <= channel < len(maps):
        raise ConfigError(f"channel {channel}: the layer has {len(maps)} channels")
    one = maps[channel:channel + 1]
    return normalise(to_decibels(one) if db else one)[0]


def channel_stats(activation) -> dict[str, np.ndarray]:
    """Per-channel mean, std and max of one sample ([C, H, W]: over H, W; a vector: each feature)."""
    a = np.asarray(activation.detach().cpu() if isinstance(activation, torch.Tensor) else activation,
                   dtype=np.float64)
    if a.ndim == 1:
        return {"mean": a.copy(), "std": np.zeros_like(a), "max": a.copy()}
    flat = a.reshape(a.shape[0], -1)
    return {"mean": flat.mean(1), "std": flat.std(1), "max": flat.max(1)}


def spectrum(activation) -> np.ndarray:
    """The 2-D power spectrum of one sample's maps, averaged over channels: 10 log10 |F|^2 (dB),
    DC in the centre. [C, H, W] (or [H, W]) -> [H, W] float."""
    a = np.asarray(activation.detach().cpu() if isinstance(activation, torch.Tensor) else activation,
                   dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ConfigError(f"a spectrum needs spatial maps; this layer outputs shape {list(a.shape)}")
    power = (np.abs(np.fft.fft2(a - a.mean(axis=(1, 2), keepdims=True))) ** 2).mean(0)
    return np.fft.fftshift(10 * np.log10(power + 1e-12 * power.max() + 1e-30))


@dataclass
class LayerView:
    """All a layer viewer shows for one layer and one latent."""

    layer: LayerInfo
    activation: np.ndarray        # one sample's raw output, float32 ([C, H, W] or [features])
    grid: np.ndarray              # HxW uint8: all channels (or `channel` alone when given)
    stats: dict                   # per-channel mean / std / max
    spectrum: np.ndarray | None   # HxW uint8 (log magnitude, normalised), None for non-spatial layers
    image: np.ndarray             # HWC uint8: what the generator output for this latent


def layer_view(model, inputs, layer: str, channel: int | None = None, db: bool = False,
               per_channel: bool = True, noise_mode: str = "const", direction: str = "AB",
               layers: list[LayerInfo] | None = None) -> LayerView:
    """Everything the layer viewer draws, for the first sample of `inputs`."""
    infos = {i.name: i for i in (layers or list_layers(model, inputs[:1], direction))}
    if layer not in infos:
        raise ConfigError(f"layer {layer!r}: not one of the {len(infos)} layers of this {model.family} generator")
    acts, images = capture_activations(model, inputs[:1], [layer], noise_mode, direction)
    activation = acts[layer][0].numpy()
    grid = (channel_image(activation, channel, db) if channel is not None
            else channel_grid(activation, db=db, per_channel=per_channel))
    spec = None
    if activation.ndim == 3:
        source = activation[channel] if channel is not None else activation
        spec = normalise(spectrum(source)[None])[0]
    return LayerView(infos[layer], activation, grid, channel_stats(activation), spec, to_uint8(images)[0])
