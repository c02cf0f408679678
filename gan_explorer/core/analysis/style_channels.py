"""Which StyleSpace channels control a part or an attribute (Wu et al., CVPR 2021, sec. 4-5).

By a part (a region mask): every channel's *effect map* on a few images is the per-pixel change of
the image when that channel alone moves by one spread (a finite-difference gradient map: one
forward pass per channel, batched; written out here because it needs no autograd and its units,
pixels changed per spread, are what a slider does). Each channel is then scored against the mask:

- locality: the share of its pixel change (sum of absolute differences) that falls inside the mask,
  averaged over the images (1 = it changes only the part);
- strength: its mean change per pixel of the mask (how much the part moves);
- overlap (IoU): of its thresholded map (pixels above half its own maximum) with the mask, the
  paper's measure of whether the channel's gradient map covers the part.

Channels are ranked by locality among those with at least `min_strength` of the strongest
channel's strength, so that a channel that changes nothing is not "local".

By examples of an attribute: the paper's relevance |mean of the positives - mean of all| / std of the
positives per channel (a channel that is consistently unusual in the marked examples).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.stylespace import (
    add_to_styles, channel_name, concat_styles, flat_index, sample_styles, style_layers, style_spread, styles_for_ws,
)
from gan_explorer.core.progress import Steps

MAP_RESOLUTION = 64   # effect maps are pooled to at most this side (a 1024 px model's maps stay small)
THRESHOLD = 0.5       # a map's pixel is "on" above this fraction of the map's own maximum (IoU)


@dataclass(frozen=True)
class ChannelScore:
    layer: int          # style layer index (a SEdit's layer)
    channel: int        # channel in that layer
    name: str           # "6 b16.conv1 #45"
    spread: float       # std of the channel over sampled latents: the slider's unit
    locality: float     # share of the channel's pixel change inside the region (nan: by examples)
    strength: float     # mean change per region pixel, image units in [-1, 1] (examples: relevance)
    overlap: float      # IoU of the thresholded effect map with the region (nan: by examples)
    sign: float = 1.0   # the direction that adds the attribute (examples), else +1


@dataclass
class ChannelRanking:
    region: str                     # the part's name, "mask", or "examples: <attribute>"
    scores: list[ChannelScore]      # best first
    num_images: int = 0
    extra: dict = field(default_factory=dict)

    def top(self, k: int) -> list[ChannelScore]:
        return self.scores[:k]

    def to_dict(self) -> dict:
        return {"region": self.region, "num_images": self.num_images, **self.extra,
                "channels": [{"layer": s.layer, "channel": s.channel, "name": s.name, "spread": s.spread,
                              "locality": s.locality, "strength": s.strength, "overlap": s.overlap, "sign": s.sign}
                             for s in self.scores]}


@dataclass
class EffectMaps:
    """Per-channel change maps of a few images: maps [n_images, n_channels, H, W] float16 (image units
    per spread, summed over RGB), index [n_channels, 2] (layer, channel), spread [n_channels]."""

    maps: np.ndarray
    index: np.ndarray
    spread: np.ndarray
    names: list[str]

    @property
    def resolution(self) -> int:
        return self.maps.shape[-1]


def _pool(diff: torch.Tensor, resolution: int) -> torch.Tensor:
    """[n, C, H, W] image difference -> [n, r, r] per-pixel change summed over colour, area-pooled."""
    change = diff.abs().sum(dim=1, keepdim=True)
    if change.shape[-1] > resolution:
        change = F.adaptive_avg_pool2d(change, resolution)
    return change[:, 0]


@torch.no_grad()
def effect_maps(model, ws: torch.Tensor, layers: list[int] | None = None, step: float = 1.0, batch: int = 64,
                map_resolution: int = MAP_RESOLUTION, spread: list[np.ndarray] | None = None,
                progress=None, should_stop=None, around=None) -> EffectMaps:
    """Each channel of `layers` (all style layers if None) moved by `step` spreads, on each image of ws
    [n, num_ws, w_dim]; const noise, so the only change is the channel's. `around()`: a context
    entered around each synthesis only (the state's transform, tuning, blend and bends), never around
    `should_stop`, which may serve another render."""
    import contextlib

    around = around or contextlib.nullcontext
    all_layers = style_layers(model)
    chosen = list(range(len(all_layers))) if layers is None else sorted(set(int(k) for k in layers))
    for k in chosen:
        if not 0 <= k < len(all_layers):
            raise ConfigError(f"style layer {k}: this model has {len(all_layers)} (0-{len(all_layers) - 1})")
    spread = spread if spread is not None else style_spread(model)
    device = model._device()
    ws = ws.to(device)
    width = sum(all_layers[k].channels for k in chosen)
    steps = Steps(len(ws) * width, progress, should_stop)
    resolution = min(map_resolution, model.img_resolution)
    maps = np.zeros((len(ws), width, resolution, resolution), np.float16)
    for i in range(len(ws)):
        with around():
            base = model.synthesize(ws[i:i + 1], noise_mode="const")
        column = 0
        for k in chosen:
            channels = all_layers[k].channels
            unit = torch.as_tensor(spread[k], device=device) * step
            for start in range(0, channels, batch):
                rows = torch.arange(start, min(start + batch, channels), device=device)
                delta = torch.zeros(len(rows), channels, device=device)
                delta[torch.arange(len(rows)), rows] = unit[rows]
                with around(), add_to_styles(model, {k: delta}):
                    images = model.synthesize(ws[i:i + 1].expand(len(rows), -1, -1), noise_mode="const")
                maps[i, column + start:column + start + len(rows)] = _pool(images - base, resolution).cpu().numpy()
                steps.step(len(rows))
            column += channels
    index = flat_index([all_layers[k] for k in chosen])
    flat_spread = np.concatenate([spread[k] for k in chosen])
    names = [channel_name(all_layers, int(l), int(c)) for l, c in index]
    return EffectMaps(maps, index, flat_spread, names)


def resize_masks(masks: np.ndarray, resolution: int) -> np.ndarray:
    """Masks [n, H, W] (or one [H, W]) in {0, 1} -> [n, r, r] float: the share of each pooled cell inside."""
    masks = np.asarray(masks, np.float32)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.shape[-1] == resolution:
        return masks
    if masks.shape[-1] % resolution:
        raise ConfigError(f"mask of {masks.shape[-1]} px does not pool to {resolution} px maps")
    return F.adaptive_avg_pool2d(torch.from_numpy(masks)[:, None], resolution)[:, 0].numpy()


def rank_by_region(effects: EffectMaps, masks: np.ndarray, region: str = "mask", min_strength: float = 0.1,
                   ) -> ChannelRanking:
    """Score every channel of `effects` against masks ([n, H, W] one per image, or one [H, W])."""
    m = resize_masks(masks, effects.resolution)
    if len(m) not in (1, len(effects.maps)):
        raise ConfigError(f"{len(m)} masks for {len(effects.maps)} images")
    m = np.broadcast_to(m, (len(effects.maps), *m.shape[1:]))
    maps = effects.maps.astype(np.float32)                       # [n, C, H, W]
    area = m.sum(axis=(1, 2)).clip(1e-6)                        # [n]
    inside = np.einsum("nchw,nhw->nc", maps, m)
    total = maps.sum(axis=(2, 3)).clip(1e-12)
    locality = (inside / total).mean(axis=0)
    strength = (inside / area[:, None]).mean(axis=0)
    on = maps > THRESHOLD * maps.max(axis=(2, 3), keepdims=True).clip(1e-12)
    region_on = (m > 0.5)[:, None]
    overlap = ((on & region_on).sum(axis=(2, 3)) / (on | region_on).sum(axis=(2, 3)).clip(1)).mean(axis=0)
    strong = strength >= min_strength * strength.max()
    order = sorted(range(len(locality)), key=lambda j: (not strong[j], -locality[j], -strength[j]))
    scores = [ChannelScore(int(effects.index[j, 0]), int(effects.index[j, 1]), effects.names[j],
                           float(effects.spread[j]), float(locality[j]), float(strength[j]), float(overlap[j]))
              for j in order]
    return ChannelRanking(region, scores, len(effects.maps), {"min_strength": min_strength})


def rank_by_overlap(ranking: ChannelRanking) -> list[ChannelScore]:
    """The same scores ordered by the paper's overlap (IoU) instead of locality."""
    return sorted(ranking.scores, key=lambda s: -s.overlap)


@torch.no_grad()
def rank_by_examples(model, positive_ws: torch.Tensor, attribute: str = "attribute", population: int = 2000,
                     seed: int = 0) -> ChannelRanking:
    """Channels that the marked examples ws [k, num_ws, w_dim] share: |mean_pos - mean| / std_pos."""
    if len(positive_ws) < 2:
        raise ConfigError(f"{len(positive_ws)} example(s) of {attribute!r}: mark at least 2")
    layers = style_layers(model)
    everyone = sample_styles(model, population, seed).numpy()
    mean, std = everyone.mean(axis=0), everyone.std(axis=0).clip(1e-8)
    positives = concat_styles(styles_for_ws(model, positive_ws.to(model._device()))).cpu().numpy()
    gap = positives.mean(axis=0) - mean
    relevance = np.abs(gap) / positives.std(axis=0).clip(1e-3 * std)
    index = flat_index(layers)
    order = np.argsort(-relevance)
    scores = [ChannelScore(int(index[j, 0]), int(index[j, 1]), channel_name(layers, *map(int, index[j])),
                           float(std[j]), float("nan"), float(relevance[j]), float("nan"), float(np.sign(gap[j]) or 1))
              for j in order]
    return ChannelRanking(f"examples: {attribute}", scores, len(positive_ws))
