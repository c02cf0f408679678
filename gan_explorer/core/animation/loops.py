"""Seamless loops: walks whose last frame flows into the first.

Frame k of n sits at angle 2*pi*k/n on a closed curve, so the step from the last frame back to the
first is the same size as every other step (`seam_check` measures it on the rendered pictures).

- "z": a great circle through the seed's z and a second seed's z (both scaled to the typical norm
  sqrt(z_dim)), mapped to W as the seed would be (truncation included).
- "w": a circle in W through the state's w and the w of `seed + 1`, centred between them, in the
  plane that the w of `seed + 2` spans with them; the state's own W edits ride along unchanged.
- "keyframes": a closed Catmull-Rom spline through the keyframes' ws (every layer), which passes
  through each keyframe and turns smoothly at each, unlike segments of slerp.
- "noise" (StyleGAN2): the latent holds still while every noise input walks a circle between two
  noise images, cos(a)*A + sin(a)*B, which stays a standard normal image at every angle: hair
  and skin texture flow while the face stays (`noise_loop_frames`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.state import LatentState

LOOP_SPACES = ("z", "w", "keyframes", "noise")
MAX_FRAMES = 100_000


def _angles(frames: int) -> torch.Tensor:
    if not 2 <= frames <= MAX_FRAMES:
        raise ConfigError(f"a loop of {frames} frames: must be from 2 to {MAX_FRAMES:,}")
    return torch.arange(frames, dtype=torch.float64) * (2 * math.pi / frames)


def _orthonormal(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit a, and the unit part of b orthogonal to it (a fixed fallback if b is parallel)."""
    u = a / a.norm().clamp_min(1e-12)
    v = b - (b @ u) * u
    if v.norm() < 1e-6 * b.norm().clamp_min(1e-12):
        v = torch.zeros_like(u)
        v[int(torch.argmin(u.abs()))] = 1.0
        v = v - (v @ u) * u
    return u, v / v.norm()


@torch.no_grad()
def loop_ws(model, state: LatentState, space: str, frames: int, keyframes=()) -> torch.Tensor:
    """[frames, num_ws, w_dim] of a closed walk starting at `state` (or at the first keyframe)."""
    from gan_explorer.core.latent.ops import truncate
    from gan_explorer.core.latent.ws import map_state, ws_for_state

    angles = _angles(frames)
    cos, sin = torch.cos(angles)[:, None], torch.sin(angles)[:, None]
    if space == "z":
        other = state.with_changes(seed=(state.seed + 1) % 2**32, z=(), z_edits=())
        za = _z(model, state).double()[0]
        zb = _z(model, other).double()[0]
        u, v = _orthonormal(za, zb)
        radius = math.sqrt(za.numel())
        z = (radius * (cos * u + sin * v)).to(torch.float32).to(model._device())
        ws = torch.cat([map_state(model, z[i:i + 256], state) for i in range(0, frames, 256)])
        return truncate(ws, model.w_avg, state.truncation_psi, state.truncation_cutoff)
    if space == "w":
        start = ws_for_state(model, state).double()
        w0 = start[0, 0]
        w1 = ws_for_state(model, state.base(seed=(state.seed + 1) % 2**32)).double()[0, 0]
        w2 = ws_for_state(model, state.base(seed=(state.seed + 2) % 2**32)).double()[0, 0]
        centre = (w0 + w1) / 2
        half = w0 - centre
        _, v = _orthonormal(half, w2 - centre)
        circle = centre + cos * half + sin * (v * half.norm())      # [frames, w_dim], circle[0] == w0
        return (start + (circle - w0)[:, None, :]).to(torch.float32)
    if space == "keyframes":
        if len(keyframes) < 2:
            raise ConfigError("a keyframe loop needs at least two keyframes")
        points = torch.cat([ws_for_state(model, k).double() for k in keyframes])  # [K, num_ws, w_dim]
        return closed_spline(points, frames).to(torch.float32)
    if space == "noise":  # the latent holds; noise_loop_frames walks the noise
        return ws_for_state(model, state).expand(frames, -1, -1).clone()
    raise ConfigError(f"loop space {space!r}: must be one of {', '.join(LOOP_SPACES)}")


def _z(model, state: LatentState) -> torch.Tensor:
    from gan_explorer.core.latent.ws import z_for_state

    return z_for_state(model, state).cpu()


def closed_spline(points: torch.Tensor, frames: int) -> torch.Tensor:
    """`frames` samples of the closed uniform Catmull-Rom spline through `points` [K, ...]:
    sample 0 is points[0], and the curve comes back to it after the last sample."""
    _angles(frames)
    count = len(points)
    out = []
    for k in range(frames):
        position = k * count / frames
        i = int(position) % count
        t = position - int(position)
        p0, p1, p2, p3 = (points[(i + j) % count] for j in (-1, 0, 1, 2))
        t2, t3 = t * t, t * t * t
        out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                          + (3 * p1 - p0 - 3 * p2 + p3) * t3))
    return torch.stack(out)


def seam_check(images: np.ndarray) -> dict:
    """How far the last frame is from the first, against the steps between consecutive frames
    (mean absolute difference in 8-bit levels): a seamless loop's seam is within their range."""
    images = np.asarray(images, dtype=np.float32)
    if len(images) < 3:
        raise ConfigError("a loop check needs at least three frames")
    steps = np.abs(np.diff(images, axis=0)).mean(axis=(1, 2, 3))
    seam = float(np.abs(images[-1] - images[0]).mean())
    return {"seam": seam, "step_min": float(steps.min()), "step_median": float(np.median(steps)),
            "step_max": float(steps.max()), "seamless": bool(seam <= steps.max())}


def _noise_layers(model) -> list:
    from gan_explorer.core.models.stylegan import SynthesisLayer

    if getattr(model, "family", "") != "stylegan":
        raise ConfigError(f"a noise loop needs a StyleGAN2 generator; the {getattr(model, 'family', '?')} family "
                          f"has no per-layer noise inputs")
    return [m for m in model.synthesis.modules() if isinstance(m, SynthesisLayer)]


def noise_loop_frames(model, ws: torch.Tensor, state: LatentState, should_stop=lambda: False):
    """Yield HWC uint8 frames of `ws` (one row per frame), frame k's noise at angle 2*pi*k/n between
    two noise images per layer drawn from the state's noise seed (and the next), with the state's
    in-synthesis edits."""
    from gan_explorer.core.io.images import to_uint8
    from gan_explorer.core.synthesis_edits import synthesis_edits

    layers = _noise_layers(model)
    device = model._device()
    images_a, images_b = (torch.Generator().manual_seed(int(state.noise_seed) + k) for k in (0, 1))
    first = [torch.randn(m.noise_const.shape, generator=images_a) for m in layers]
    second = [torch.randn(m.noise_const.shape, generator=images_b) for m in layers]
    angles = _angles(len(ws))
    for k, angle in enumerate(angles.tolist()):
        if should_stop():
            return
        handles = []
        try:
            for layer, a, b in zip(layers, first, second):
                noise = (math.cos(angle) * a + math.sin(angle) * b).to(device)[None, None]
                handles.append(layer.register_forward_pre_hook(_noise_input(noise)))
            with torch.no_grad(), synthesis_edits(model, state):
                image = model.synthesize(ws[k:k + 1].to(device), noise_mode="const")
        finally:
            for handle in handles:
                handle.remove()
        yield to_uint8(image)[0]


def _noise_input(noise: torch.Tensor):
    """A pre-hook giving a SynthesisLayer `noise` as its noise image (forward(x, w, mode, generator, noise))."""
    def hook(_module, args):
        padded = tuple(args) + (None,) * (5 - len(args))
        return padded[:4] + (noise.expand(padded[0].shape[0], -1, -1, -1),)
    return hook
