"""Rendering without Qt: a frozen request in, a uint8 image out (with timings and any error).

The explorer session's worker thread (core/explorer/session.py) calls Renderer.render(); tests
call it directly. Renderer owns the model for that one thread.
"""

from __future__ import annotations

import logging
import time
import traceback

import numpy as np
import torch

from gan_explorer.core.errors import one_line
from gan_explorer.core.explorer.requests import RenderRequest, RenderResult
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.latent.ops import mix_styles, truncate

log = logging.getLogger("gan_explorer.render")


def z_for_state(model, state: LatentState) -> torch.Tensor:
    if state.z:
        z = torch.tensor([state.z], dtype=torch.float32, device=model._device())
    else:
        z = model.sample_z(1, state.seed)
    for dim, delta in state.z_edits:
        z[0, int(dim)] += float(delta)
    return z


def condition_for_state(model, state: LatentState) -> torch.Tensor | None:
    """c [1, c_dim] for a conditional model's map(); None (the model's default) when the state has
    none or one of another width (a bookmark made on another model)."""
    c_dim = int(getattr(model, "c_dim", 0) or 0)
    if c_dim <= 0 or len(state.condition) != c_dim:
        return None
    return torch.tensor([state.condition], dtype=torch.float32, device=model._device())


def map_state(model, z: torch.Tensor, state: LatentState, truncation_psi: float = 1.0,
              truncation_cutoff: int | None = None) -> torch.Tensor:
    """model.map(z) under the state's condition (only conditional models are given a c)."""
    c = condition_for_state(model, state)
    if c is None:
        return model.map(z, truncation_psi, truncation_cutoff)
    return model.map(z, truncation_psi, truncation_cutoff, c=c.expand(len(z), -1))


@torch.no_grad()
def ws_for_state(model, state: LatentState) -> torch.Tensor:
    """[1, num_ws, w_dim]: explicit ws, or map(z, c) with truncation, plus slider offsets."""
    device = model._device()
    if state.ws:
        ws = torch.tensor(np.asarray(state.ws, dtype=np.float32)[None], device=device)
    else:
        ws = map_state(model, z_for_state(model, state), state)
        ws = truncate(ws, model.w_avg, state.truncation_psi, state.truncation_cutoff)
        if state.mix_seed >= 0 and state.mix_layers:
            under = state.with_changes(condition=state.mix_condition) if state.mix_condition else state
            other = map_state(model, model.sample_z(1, state.mix_seed), under)
            other = truncate(other, model.w_avg, state.truncation_psi, state.truncation_cutoff)
            ws = mix_styles(ws, other, [int(i) for i in state.mix_layers])
    if state.w_offsets:
        ws = ws.clone()
        for offset in state.w_offsets:
            layers = slice(int(offset.layer_start), int(offset.layer_end) + 1)
            if offset.dim >= 0:
                ws[:, layers, int(offset.dim)] += float(offset.amount)
            else:
                direction = torch.tensor(offset.direction, dtype=ws.dtype, device=device)
                ws[:, layers] += float(offset.amount) * direction
    return ws


PREVIEW_BUDGET_MS = 150  # a preview frame while a slider moves should take about this long


class Renderer:
    """Owns a model for one thread; render(request) never raises.

    Full frames of a StyleGAN2 model go through a SynthesisCache (an edit of late layers reuses
    the early layers' activations; the image is the same bit for bit), or through an exported
    graph on an inference engine when `use_engine` chose one. A preview request (a slider is
    moving) stops at a lower block when a full frame would take longer than PREVIEW_BUDGET_MS.
    """

    def __init__(self, model=None, model_token: int = 0):
        self.set_model(model, model_token)

    def set_model(self, model, model_token: int):
        self.model, self.model_token = model, model_token
        self.cache = None
        self.engine = None         # a backends renderer for full frames, when one was chosen
        self.last_full_ms = 0.0    # the latest full frame's time: what a preview is sized against
        if model is not None and getattr(model, "family", "") == "stylegan":
            from gan_explorer.core.backends import SynthesisCache

            self.cache = SynthesisCache(model)

    def use_engine(self, prefer: str = "auto") -> str:
        """Choose how full frames render ('auto', 'eager' or an engine name); returns the one line
        the Device menu shows (the engine's name, and why it fell back to eager if it did)."""
        from gan_explorer.core.backends import open_renderer

        if self.model is None:
            return "eager"
        renderer = open_renderer(self.model, prefer)
        self.engine = None if renderer.name == "eager" else renderer
        return renderer.name + (f" ({renderer.reason})" if renderer.reason else "")

    @property
    def engine_name(self) -> str:
        return self.engine.name if self.engine is not None else "eager"

    def model_device(self) -> str:
        if self.model is None:
            return "cpu"
        return str(next((p.device for p in self.model.parameters()), "cpu"))

    def _synthesize(self, ws, state: LatentState, preview: bool):
        """The image tensor and the resolution it stopped at (None: the full image)."""
        model = self.model
        generator = None
        if state.noise_mode == "random":
            generator = torch.Generator(device=ws.device).manual_seed(int(state.noise_seed))
        if self.cache is None:
            return model.synthesize(ws, noise_mode=state.noise_mode, noise_generator=generator), None
        from gan_explorer.core.backends import preview_resolution

        resolution = preview_resolution(model, PREVIEW_BUDGET_MS, self.last_full_ms) if preview else None
        if resolution is None and self.engine is not None:
            return self.engine.synthesize(ws, noise_mode=state.noise_mode, noise_generator=generator), None
        image = self.cache.synthesize(ws, noise_mode=state.noise_mode, noise_seed=int(state.noise_seed),
                                      max_resolution=resolution)
        return image, resolution

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
            image, resolution = self._synthesize(ws, state, request.preview)
            result.image = to_uint8(image)[0]
            result.ws = ws[0].cpu().numpy()
            result.preview = resolution is not None
        except Exception as exc:  # shown to the user as one line; the traceback goes to the log
            result.traceback = traceback.format_exc()
            result.error = one_line(exc)
            if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
                result.out_of_memory = True
                result.error = f"out of memory on {self.model_device()}: switch the device to CPU or close other programs"
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            log.error("render %s failed: %s\n%s", request.request_id, result.error, result.traceback)
        result.render_ms = (time.perf_counter() - t0) * 1000
        if result.error is None and not result.preview:
            self.last_full_ms = result.render_ms
        return result
