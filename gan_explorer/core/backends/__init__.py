"""How a render runs: eager PyTorch, preview and cached layers, or an exported graph.

    from gan_explorer.core import backends

    renderer = backends.open_renderer(model, prefer="auto")   # or "eager" / "openvino" / "onnxruntime"
    renderer.name          # 'openvino', 'onnxruntime' or 'eager': what the Device menu shows
    renderer.reason        # '' or one line saying why it fell back to eager
    img = renderer.synthesize(ws, noise_mode="const", noise_generator=None)  # [n, C, H, W], like model.synthesize
    ws = renderer.map(z, truncation_psi, truncation_cutoff, c=None)  # c [n, c_dim]: a conditional model's class

`prefer="auto"` exports a StyleGAN2 model's mapping and synthesis networks to ONNX the first
time (cached per model content hash under $GAN_EXPLORER_CACHE, else ~/.cache/gan_explorer),
times one batch-1 frame of eager and of every installed engine, remembers the winner beside
the graphs, and renders with it; every other family, a model on a GPU, a machine without an
engine (`pip install 'gan-explorer[fast]'`) and a failed export render eagerly with `.reason`
saying why. Graph outputs equal eager within 1e-4.

Preview while a slider moves (StyleGAN2 skip architecture; stop at block R, the network's own
R px image; `preview_resolution` picks R for a time budget from a measured full frame):

    res = backends.preview_resolution(model, budget_ms=150, full_ms=last_full_frame_ms)  # None: render full
    img = model.synthesize(ws, noise_mode, generator, max_resolution=res)

Cached layers (StyleGAN2): an edit that changes only ws[:, k:] reuses the activations entering
the first layer that takes w[k]; the image equals a full render bit for bit:

    cache = backends.SynthesisCache(model)          # one per open model, on the render thread
    img = cache.synthesize(ws, noise_mode="const", noise_seed=0, max_resolution=None)
    cache.last_start                                # plan step it resumed from (0: rendered all)

bf16 where the CPU has it natively (AVX512-BF16 / AMX; elsewhere it is emulated, slower, and a
request falls back to fp32 with a note saying so): see backends/precision.py.

    renderer = backends.EagerRenderer(model, precision="bf16")   # autocast to bf16 around synthesis
    chosen, note = backends.resolve_precision("bf16", "cpu")
"""

from __future__ import annotations

import json
import logging
import time

import torch

from gan_explorer.core.backends.cache import SynthesisCache
from gan_explorer.core.backends.graph import (
    ENGINES, ExportError, GraphRenderer, cache_dir, cached_graphs, engine_available, model_content_hash,
    read_small_json,
)
from gan_explorer.core.backends.precision import PRECISIONS, native_bf16, precision_context, resolve_precision
from gan_explorer.core.backends.preview import PreviewPlanner, preview_resolution, preview_resolutions
from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.io.atomic import atomic_write_text

__all__ = ["ENGINES", "PRECISIONS", "EagerRenderer", "ExportError", "GraphRenderer", "PreviewPlanner",
           "SynthesisCache", "cache_dir", "engine_available", "model_content_hash", "native_bf16", "open_renderer",
           "precision_context", "preview_resolution", "preview_resolutions", "resolve_precision"]

log = logging.getLogger("gan_explorer.backends")


class EagerRenderer:
    """The model's own PyTorch forward, without autograd; ``precision`` 'bf16' autocasts the
    synthesis (use resolve_precision first: it says where bf16 is not native)."""

    name = "eager"

    def __init__(self, model, reason: str = "", precision: str = "fp32"):
        self.model = model
        self.reason = reason
        self.precision = precision

    @torch.no_grad()
    def map(self, z, truncation_psi=1.0, truncation_cutoff=None, c=None):
        if c is None:
            return self.model.map(z, truncation_psi, truncation_cutoff)
        return self.model.map(z, truncation_psi, truncation_cutoff, c=c)

    @torch.no_grad()
    def synthesize(self, ws, noise_mode="const", noise_generator=None, max_resolution=None):
        with precision_context(self.precision, ws.device.type):
            if max_resolution is not None:
                return self.model.synthesize(ws, noise_mode, noise_generator, max_resolution=max_resolution)
            return self.model.synthesize(ws, noise_mode=noise_mode, noise_generator=noise_generator)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _frame_ms(renderers: dict, ws, rounds: int = 3) -> dict:
    """Best batch-1 frame time (ms) of each renderer, timed in turn round by round (a change in
    the machine's load then hits every candidate alike), after one warm-up frame each."""
    for renderer in renderers.values():
        renderer.synthesize(ws)  # first-call allocations, oneDNN kernel selection, graph compilation
    best = dict.fromkeys(renderers, float("inf"))
    for _ in range(rounds):
        for name, renderer in renderers.items():
            t0 = time.perf_counter()
            renderer.synthesize(ws)
            best[name] = min(best[name], (time.perf_counter() - t0) * 1000)
    return best


def open_renderer(model, prefer: str = "auto", cache_root=None):
    """The fastest way this machine renders `model` (see the module docstring); never raises
    for an engine problem: it returns an EagerRenderer whose `.reason` says what went wrong."""
    if prefer == "eager":
        return EagerRenderer(model)
    if prefer not in ("auto", *ENGINES):
        raise ValueError(f"prefer={prefer!r}: must be 'auto', 'eager' or one of {', '.join(ENGINES)}")
    engines = [prefer] if prefer in ENGINES else [e for e in ENGINES if engine_available(e)]
    if not engines:
        return EagerRenderer(model, "no inference engine installed (pip install 'gan-explorer[fast]')")
    renderers = {}
    for engine in engines:
        try:
            renderers[engine] = GraphRenderer(model, engine, root=cache_root)
        except ExportError as exc:  # expected (a family without a graph): the reason is enough
            log.info("backend %s for %s: %s", engine, getattr(model, "family", "?"), _one_line(exc))
            reason = f"{engine}: {_one_line(exc)}"
        except Exception as exc:  # an engine failure is a fallback, never a crash
            log.warning("backend %s for %s failed", engine, getattr(model, "family", "?"), exc_info=True)
            reason = f"{engine}: {_one_line(exc)}"
    if not renderers:
        return EagerRenderer(model, reason)
    if prefer in ENGINES:
        return renderers[prefer]
    folder = next(iter(renderers.values())).folder
    choice_file = folder / f"choice-{torch.get_num_threads()}threads.json"
    try:
        choice = read_small_json(choice_file)  # a regular file only: a planted FIFO never blocks
    except (OSError, ValueError, RecursionError):
        choice = None
    if not isinstance(choice, dict) or not isinstance(choice.get("ms"), dict):
        choice = None
    if not choice or choice.get("engine") not in (*renderers, "eager"):
        with torch.no_grad():
            ws = model.map(model.sample_z(1, 0))
            times = _frame_ms({"eager": EagerRenderer(model), **renderers}, ws)
        choice = {"engine": min(times, key=times.get), "ms": times}
        try:
            atomic_write_text(choice_file, json.dumps(choice))  # never through a link planted there
        except (OSError, GanExplorerError) as exc:
            log.info("could not remember the fastest renderer in %s: %s", choice_file, exc)
    if choice["engine"] == "eager":
        return EagerRenderer(model, f"eager measured fastest ({choice['ms']})")
    return renderers[choice["engine"]]
