"""Rendering without Qt: a frozen request in, a uint8 image out (with timings and any error).

The explorer session's worker thread (core/explorer/session.py) calls Renderer.render(); tests
call it directly. Renderer owns the model for that one thread.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.errors import one_line
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.latent.state import LatentState  # noqa: F401  (callers name it from here too)
from gan_explorer.core.synthesis_edits import has_synthesis_edits, synthesis_edits
from gan_explorer.core.latent.ws import (  # noqa: F401  (callers name them from here too)
    condition_for_state, map_state, ws_for_state, z_for_state,
)

log = logging.getLogger("gan_explorer.render")


@dataclass(frozen=True)
class RenderRequest:
    request_id: int
    state: LatentState
    model_token: int = 0  # the model the request was made for; dropped after a switch
    preview: bool = False  # a cheap frame while a slider moves (where the family has one)
    exact: bool = False    # an export: fp32 PyTorch (the cache is bit-exact), never an engine or bf16, so
                           # `generate --latent picture.png` gives the same pixels


@dataclass
class RenderResult:
    request_id: int
    image: np.ndarray | None = None        # HWC uint8
    ws: np.ndarray | None = None           # [num_ws, w_dim] of the rendered image
    render_ms: float = 0.0
    error: str | None = None               # one line for the user; the traceback is in the log
    model_token: int = 0
    preview: bool = False
    out_of_memory: bool = False
    fell_back_to_cpu: bool = False
    traceback: str = ""


PREVIEW_BUDGET_MS = 100  # a preview frame while a slider moves should take about this long


class Renderer:
    """Owns a model for one thread; render(request) never raises.

    Full frames of a StyleGAN2 model take the way measured fastest for this frame: the
    SynthesisCache (an edit of late layers reuses the early layers' activations; the image is
    the same bit for bit), an exported graph on an inference engine when `use_engine` chose one,
    or the plain eager forward; the cache is used only where its measured cost, scaled by the
    share of the network the edit reaches, is below the other's, so it is never the slower one.
    A preview request (a slider is moving) stops at the block a PreviewPlanner picks from
    measured preview times, in bf16 where the CPU has it natively and it measured faster.
    """

    def __init__(self, model=None, model_token: int = 0):
        self.set_model(model, model_token)

    def set_model(self, model, model_token: int):
        self.model, self.model_token = model, model_token
        self.cache = None
        self.planner = None
        self._engine = None        # a backends renderer for full frames, when one was chosen
        self.full_precision = "fp32"  # full frames: fp32 unless the user chose bf16 (use_engine("bf16"))
        self.last_full_ms = 0.0    # the latest full frame's time: what a preview is sized against
        self.full_ms: dict[str, float] = {}  # 'engine' / 'eager': a full frame; 'cache': per whole network
        self.last_path = ""        # how the latest frame rendered: 'cache', 'engine', 'eager' or 'preview'
        if model is not None and getattr(model, "family", "") == "stylegan":
            from gan_explorer.core.backends import SynthesisCache
            from gan_explorer.core.backends.precision import resolve_precision
            from gan_explorer.core.backends.preview import PreviewPlanner

            self.cache = SynthesisCache(model)
            # bf16 previews only where bf16 is native: elsewhere it is emulated and slower.
            device = next((p.device for p in model.parameters()), "cpu")
            precisions = ("fp32", "bf16") if resolve_precision("bf16", device)[0] == "bf16" else ("fp32",)
            self.planner = PreviewPlanner(model, PREVIEW_BUDGET_MS, precisions)

    @property
    def engine(self):
        return self._engine

    @engine.setter
    def engine(self, renderer):
        """The session sets None for eager full frames: that also ends a bf16 choice."""
        self._engine = renderer
        if renderer is None:
            self.full_precision = "fp32"
        self.full_ms.pop("engine", None)

    def use_engine(self, prefer: str = "auto") -> str:
        """Choose how full frames render ('auto', 'eager', an engine name, or 'bf16': eager in
        bf16 where the CPU has it natively); returns the one line the Device menu shows (the
        engine's name, and why it fell back if it did)."""
        from gan_explorer.core.backends import open_renderer
        from gan_explorer.core.backends.precision import resolve_precision

        if self.model is None:
            return "eager"
        if prefer == "bf16":
            self.engine = None
            device = next((p.device for p in self.model.parameters()), "cpu")
            self.full_precision, note = resolve_precision("bf16", device)
            self.full_ms.clear()
            return f"eager {self.full_precision}" + (f" ({note})" if note else "")
        renderer = open_renderer(self.model, prefer)
        self.engine = None if renderer.name == "eager" else renderer
        self.full_precision = "fp32"
        return renderer.name + (f" ({renderer.reason})" if renderer.reason else "")

    @property
    def engine_name(self) -> str:
        return self.engine.name if self.engine is not None else "eager"

    def model_device(self) -> str:
        if self.model is None:
            return "cpu"
        return str(next((p.device for p in self.model.parameters()), "cpu"))

    def _full_path(self, ws, state: LatentState) -> str:
        """'cache', 'engine' or 'eager' for a full frame: the one whose measured cost is lowest.
        Unmeasured: the cache where it has layers to reuse (or no engine), else the engine."""
        other = "engine" if self.engine is not None else "eager"
        share = self.cache.work_share(ws, state.noise_mode, int(state.noise_seed), precision=self.full_precision)
        if "cache" not in self.full_ms or other not in self.full_ms:
            return "cache" if share < 1 or other == "eager" and "cache" not in self.full_ms else other
        return "cache" if share * self.full_ms["cache"] <= self.full_ms[other] else other

    def _synthesize(self, ws, state: LatentState, preview: bool, exact: bool = False):
        """The image tensor and the resolution it stopped at (None: the full image)."""
        from gan_explorer.core.backends.precision import precision_context

        model = self.model
        generator = None
        if state.noise_mode == "random":
            generator = torch.Generator(device=ws.device).manual_seed(int(state.noise_seed))
        if self.cache is None or has_synthesis_edits(state):
            self.last_path = "eager"
            with synthesis_edits(model, state):
                return model.synthesize(ws, noise_mode=state.noise_mode, noise_generator=generator), None
        if exact:
            self.last_path = "cache"
            return self.cache.synthesize(ws, noise_mode=state.noise_mode, noise_seed=int(state.noise_seed),
                                         precision="fp32"), None
        if preview:
            resolution, precision = self.planner.choose(self.last_full_ms)
            if resolution is not None:
                t0 = time.perf_counter()
                image = self.cache.synthesize(ws, noise_mode=state.noise_mode, noise_seed=int(state.noise_seed),
                                              max_resolution=resolution, precision=precision)
                self.planner.record(resolution, precision, (time.perf_counter() - t0) * 1000)
                self.last_path = "preview"
                return image, resolution
        path = self._full_path(ws, state)
        t0 = time.perf_counter()
        if path == "engine":
            image = self.engine.synthesize(ws, noise_mode=state.noise_mode, noise_generator=generator)
        elif path == "eager":
            with precision_context(self.full_precision, ws.device.type):
                image = model.synthesize(ws, noise_mode=state.noise_mode, noise_generator=generator)
        else:
            share = self.cache.work_share(ws, state.noise_mode, int(state.noise_seed), precision=self.full_precision)
            image = self.cache.synthesize(ws, noise_mode=state.noise_mode, noise_seed=int(state.noise_seed),
                                          precision=self.full_precision)
        ms = (time.perf_counter() - t0) * 1000
        if path != "cache":
            self._remember(path, ms)
        elif share >= 0.5:  # a resume from a late block is too small a sample of the whole network
            self._remember("cache", ms / share)
        self.last_path = path
        return image, None

    def _remember(self, path: str, ms: float):
        old = self.full_ms.get(path)
        self.full_ms[path] = ms if old is None else 0.5 * ms + 0.5 * old

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
            image, resolution = self._synthesize(ws, state, request.preview, request.exact)
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
