"""A video from a walk and a sound: which sound feature moves which parameter, the ws of every
frame, and the export (frames rendered a batch at a time, the sound muxed into the MP4).

A mapping is written as the CLI takes it: "bass=smile,onsets=keyframes,loudness=psi":
- a library direction's name: the feature (0..1) times the direction's strength moves along it;
- "psi": loud moments pull the face toward the average face (truncation from 1 down to 0.5);
- "keyframes" (onsets only): each onset starts a glide to the next keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.animation.audio import FEATURES, SoundFeatures
from gan_explorer.core.errors import ConfigError, quote
from gan_explorer.core.latent.state import LatentState

GLIDE_SECONDS = 0.5      # how long a keyframe step takes after an onset
PSI_PULL = 0.5           # "psi" at full level: truncation 0.5


@dataclass(frozen=True)
class SoundMapping:
    pairs: tuple = ()    # ((feature, target), ...)

    def targets(self, feature: str) -> list[str]:
        return [t for f, t in self.pairs if f == feature]

    def as_text(self) -> str:
        return ",".join(f"{f}={t}" for f, t in self.pairs)


def parse_mapping(text: str) -> SoundMapping:
    pairs = []
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        feature, sep, target = item.partition("=")
        feature, target = feature.strip(), target.strip()
        if not sep or not target:
            raise ConfigError(f"--map {quote(item)}: write FEATURE=TARGET, e.g. bass=smile")
        if feature not in FEATURES:
            raise ConfigError(f"--map {quote(item)}: the feature must be one of {', '.join(FEATURES)}")
        if target == "keyframes" and feature != "onsets":
            raise ConfigError(f"--map {quote(item)}: only onsets step through keyframes")
        pairs.append((feature, target))
    return SoundMapping(tuple(pairs))


def resolve_directions(mapping: SoundMapping, library) -> dict:
    """target name -> NamedDirection for every target that is not psi / keyframes; ConfigError naming
    the first one the library does not have (and what it has)."""
    out = {}
    for _, target in mapping.pairs:
        if target in ("psi", "keyframes") or target in out:
            continue
        direction = library.get(target) if library is not None else None
        if direction is None:
            names = library.names() if library is not None else []
            raise ConfigError(f"--map: no direction named {quote(target)} in this model's library"
                              + (f" (it has: {', '.join(names[:12])})" if names else
                                 " (it has none: save one from the window's Library tab first)"))
        out[target] = direction
    return out


@torch.no_grad()
def sound_path_ws(model, state: LatentState, features: SoundFeatures, mapping: SoundMapping,
                  directions: dict, keyframes=()) -> torch.Tensor:
    """[frames, num_ws, w_dim]: the walk (keyframes stepped on onsets, or the state held) with each
    mapped feature applied frame by frame."""
    from gan_explorer.core.latent.ops import slerp
    from gan_explorer.core.latent.ws import ws_for_state

    frames = len(features)
    if mapping.targets("onsets") == ["keyframes"] or "keyframes" in mapping.targets("onsets"):
        if len(keyframes) < 2:
            raise ConfigError("onsets=keyframes needs at least two keyframes (--keyframes SEED,SEED,...)")
        points = [ws_for_state(model, k) for k in keyframes]
        glide = max(1, int(round(GLIDE_SECONDS * features.fps)))
        index, since, base = 0, glide, []
        for k in range(frames):
            if features.onsets[k] > 0 and since >= glide // 2:
                index, since = index + 1, 0
            current, previous = points[index % len(points)], points[(index - 1) % len(points)]
            t = min(1.0, (since + 1) / glide) if index > 0 else 1.0
            base.append(slerp(previous, current, 0.5 - 0.5 * np.cos(np.pi * t)))
            since += 1
        ws = torch.cat(base)
    else:
        ws = ws_for_state(model, state).expand(frames, -1, -1).clone()
    for feature, target in mapping.pairs:
        level = torch.as_tensor(features.get(feature), dtype=ws.dtype, device=ws.device)
        if target == "keyframes":
            continue
        if target == "psi":
            w_avg = model.w_avg.to(ws)
            keep = (1 - PSI_PULL * level)[:, None, None]
            ws = w_avg + (ws - w_avg) * keep
            continue
        direction = directions[target]
        start, end = direction.layers(model.num_ws)
        vector = torch.as_tensor(direction.as_array(), dtype=ws.dtype, device=ws.device)
        amount = level * float(direction.strength) * float(direction.sigma)
        ws[:, start:end + 1] += amount[:, None, None] * vector
    return ws


def render_frames(model, ws: torch.Tensor, state: LatentState, batch: int = 8, should_stop=lambda: False):
    """Yield HWC uint8 frames of `ws`, rendered `batch` at a time with the state's noise and its
    in-synthesis edits (S channels, bends, tuning, blend)."""
    from gan_explorer.core.io.images import to_uint8
    from gan_explorer.core.synthesis_edits import synthesis_edits

    if state.noise_mode == "random":
        batch = 1   # every frame draws the noise its state shows alone (the window's preview): no flicker
    for start in range(0, len(ws), batch):
        if should_stop():   # (which may serve a slider's render, of another transform)
            return
        if model.capabilities.has_transform:  # StyleGAN3: the state's translate / rotate
            model.set_transform(tuple(state.transform[:2]), state.transform[2])
        generator = None
        if state.noise_mode == "random":
            generator = torch.Generator(device=model._device()).manual_seed(int(state.noise_seed))
        with torch.no_grad(), synthesis_edits(model, state):
            images = to_uint8(model.synthesize(ws[start:start + batch].to(model._device()),
                                               noise_mode=state.noise_mode, noise_generator=generator))
        yield from images
