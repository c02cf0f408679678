"""Rendering without Qt: a frozen request in, a uint8 image out (with timings and any error).

The GUI's worker thread calls Renderer.render(); tests call it directly (the synchronous
path). A LatestSlot holds at most one pending request: a newer one replaces it, so a storm
of slider events never builds a queue.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.latent.ops import mix_styles, truncate


@dataclass(frozen=True)
class LatentState:
    """Everything that decides the current image; immutable, so history can hold it as is."""

    seed: int = 0
    z: tuple = ()                          # the z vector; empty = z for `seed`
    z_edits: tuple = ()                    # ((dim, delta), ...) added to z
    truncation_psi: float = 1.0
    truncation_cutoff: int | None = None
    noise_mode: str = "const"
    noise_seed: int = 0
    w_offsets: tuple = ()                  # ((key, layer_start, layer_end, dim or -1, direction tuple, amount), ...)
    ws: tuple = ()                         # explicit ws (interpolation frame, mixing cell, loaded latent)
    transform: tuple = (0.0, 0.0, 0.0)     # StyleGAN3: translate x, translate y, rotate (degrees)
    mix_seed: int = -1                     # style mixing: take `mix_layers` from this seed's ws
    mix_layers: tuple = ()

    def with_changes(self, **changes) -> "LatentState":
        return replace(self, **changes)

    def with_w_offset(self, key: str, start: int, end: int, dim: int = -1, direction=(), amount: float = 0.0):
        """Set (or with amount 0, remove) the offset named `key`: one slider's edit in W."""
        kept = tuple(o for o in self.w_offsets if o[0] != key)
        if amount:
            kept += ((key, int(start), int(end), int(dim), tuple(float(v) for v in direction), float(amount)),)
        return replace(self, w_offsets=kept)

    def with_z_edit(self, dim: int, delta: float):
        kept = tuple(e for e in self.z_edits if e[0] != dim)
        if delta:
            kept += ((int(dim), float(delta)),)
        return replace(self, z_edits=kept)


@dataclass(frozen=True)
class RenderRequest:
    request_id: int
    state: LatentState
    model_token: int = 0  # which model the request was made for (stale after a model switch)


@dataclass
class RenderResult:
    request_id: int
    image: np.ndarray | None = None        # HWC uint8
    ws: np.ndarray | None = None           # [num_ws, w_dim] of the rendered image
    render_ms: float = 0.0
    error: str | None = None
    model_token: int = 0
    extra: dict = field(default_factory=dict)


def z_for_state(model, state: LatentState) -> torch.Tensor:
    if state.z:
        z = torch.tensor([state.z], dtype=torch.float32, device=model._device())
    else:
        z = model.sample_z(1, state.seed)
    for dim, delta in state.z_edits:
        z[0, int(dim)] += float(delta)
    return z


@torch.no_grad()
def ws_for_state(model, state: LatentState) -> torch.Tensor:
    """[1, num_ws, w_dim]: explicit ws, or map(z) with truncation, plus slider offsets."""
    device = model._device()
    if state.ws:
        ws = torch.tensor(np.asarray(state.ws, dtype=np.float32)[None], device=device)
    else:
        ws = model.map(z_for_state(model, state), 1.0)
        ws = truncate(ws, model.w_avg, state.truncation_psi, state.truncation_cutoff)
        if state.mix_seed >= 0 and state.mix_layers:
            other = model.map(model.sample_z(1, state.mix_seed), 1.0)
            other = truncate(other, model.w_avg, state.truncation_psi, state.truncation_cutoff)
            ws = mix_styles(ws, other, [int(i) for i in state.mix_layers])
    if state.w_offsets:
        ws = ws.clone()
        for _key, start, end, dim, direction, amount in state.w_offsets:
            layers = slice(int(start), int(end) + 1)
            if dim >= 0:
                ws[:, layers, int(dim)] += float(amount)
            else:
                ws[:, layers] += float(amount) * torch.tensor(direction, dtype=ws.dtype, device=device)
    return ws


class Renderer:
    """Owns a model for one thread; render(request) never raises."""

    def __init__(self, model=None, model_token: int = 0):
        self.model = model
        self.model_token = model_token

    def set_model(self, model, model_token: int):
        self.model, self.model_token = model, model_token

    @torch.no_grad()
    def render(self, request: RenderRequest) -> RenderResult:
        t0 = time.perf_counter()
        result = RenderResult(request.request_id, model_token=self.model_token)
        try:
            if self.model is None:
                raise RuntimeError("no model is open")
            model = self.model
            state = request.state
            if model.capabilities.has_transform:
                tx, ty, rot = state.transform
                model.set_transform((tx, ty), rot)
            ws = ws_for_state(model, state)
            generator = None
            if state.noise_mode == "random":
                generator = torch.Generator(device=model._device()).manual_seed(int(state.noise_seed))
            image = model.synthesize(ws, noise_mode=state.noise_mode, noise_generator=generator)
            result.image = to_uint8(image)[0]
            result.ws = ws[0].cpu().numpy()
        except Exception as exc:  # shown to the user; the app keeps working
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower():
                message = "out of memory on the GPU: switch the device to CPU or close other programs"
                result.extra["out_of_memory"] = True
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            result.error = message
            result.extra["traceback"] = traceback.format_exc()
        result.render_ms = (time.perf_counter() - t0) * 1000
        return result


class LatestSlot:
    """A one-item mailbox: put() replaces what was not taken yet; take() waits for an item."""

    def __init__(self):
        self._item = None
        self._cond = threading.Condition()
        self._closed = False
        self.replaced = 0  # how many requests were dropped unseen (for tests and the status bar)

    def put(self, item):
        with self._cond:
            if self._item is not None:
                self.replaced += 1
            self._item = item
            self._cond.notify()

    def take(self, timeout: float | None = None):
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def pending(self) -> bool:
        with self._cond:
            return self._item is not None

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
