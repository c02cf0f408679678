"""Interpolation between keyframes in Z, W or W+ (lerp or slerp), as ws frames."""

from __future__ import annotations

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.ops import lerp, slerp

SPACES = ("z", "w", "w+")
METHODS = {"lerp": lerp, "slerp": slerp}


@torch.no_grad()
def interpolation_ws(model, keyframes, frames_per_segment: int = 30, method: str = "slerp", space: str = "w",
                     loop: bool = False) -> torch.Tensor:
    """[frames, num_ws, w_dim]. Keyframes are LatentStates; the last keyframe is the last frame
    (or, looping, the path returns to the first without repeating it)."""
    from gan_explorer.core.latent.ws import condition_for_state, ws_for_state, z_for_state

    if len(keyframes) < 2:
        raise ConfigError("interpolation needs at least two keyframes")
    if space not in SPACES:
        raise ConfigError(f"space {space!r}: must be one of {', '.join(SPACES)}")
    if method not in METHODS:
        raise ConfigError(f"method {method!r}: must be lerp or slerp")
    if frames_per_segment < 1:
        raise ConfigError("frames per segment must be at least 1")
    fn = METHODS[method]
    keys = list(keyframes) + ([keyframes[0]] if loop else [])
    conditions = None
    if space == "z":
        points = [z_for_state(model, k) for k in keys]
        # A conditional model's keyframes may differ in class or factors: c travels with z.
        cs = [condition_for_state(model, k) for k in keys]
        if any(c is not None for c in cs):
            default = model.conditioning.default_vector().to(points[0])[None]
            cs = [default if c is None else c for c in cs]
            conditions = []
            for a, b in zip(cs[:-1], cs[1:]):
                conditions += [lerp(a, b, i / frames_per_segment) for i in range(frames_per_segment)]
            if not loop:
                conditions.append(cs[-1])
    else:
        points = [ws_for_state(model, k) for k in keys]
        if space == "w":  # one w per keyframe (its first layer), broadcast back to every layer
            points = [p[:, :1] for p in points]
    frames = []
    for a, b in zip(points[:-1], points[1:]):
        for i in range(frames_per_segment):
            frames.append(fn(a, b, i / frames_per_segment))
    if not loop:
        frames.append(points[-1])
    out = []
    for i, f in enumerate(frames):
        if space == "z":
            k0 = keyframes[0]
            if conditions is None:
                f = model.map(f, k0.truncation_psi, k0.truncation_cutoff)
            else:
                f = model.map(f, k0.truncation_psi, k0.truncation_cutoff, c=conditions[i])
        elif space == "w":
            f = f.expand(-1, model.num_ws, -1)
        out.append(f)
    return torch.cat(out)


def frame_count(num_keyframes: int, frames_per_segment: int, loop: bool) -> int:
    segments = num_keyframes if loop else num_keyframes - 1
    return segments * frames_per_segment + (0 if loop else 1)


def as_numpy_frames(images) -> np.ndarray:
    return np.stack(images)
