"""The explorer's session: one worker thread owns the model; renders and jobs go through it.

What the window asks for arrives here as typed requests (core/explorer/requests.py) and typed jobs
(core/explorer/jobs.py). Renders and model changes leave as events (`session.events.rendered`);
each job's progress and outcome reach the JobHandle that `submit` returned. Both are delivered
through `deliver(function, value)`: by default on the worker thread; the Qt bridge passes a
function that queues them to the GUI thread, so nothing there ever runs on the worker. The rules:

- Render requests are latest-wins: a newer one replaces one not yet taken (napari's slicer, the
  StyleGAN3 visualizer's AsyncRenderer), so a storm of slider events renders only the newest.
- Every request and job carries the token of the model it was made for. Opening a model cancels
  the jobs of the previous one, and a request made for an earlier model is dropped, never
  rendered against the new one.
- Jobs (batch renders, interpolation and export, encode/translate, directions, analyses) run one
  at a time, report progress and stop at the next `check()` after `cancel()` by raising
  `Cancelled`. Inside `check()` a pending slider render is served first, so a long export never
  starves the sliders: renders interleave with the export's frames.
- Errors never kill the worker: the user gets one line, the log file the whole traceback.
- `sync=True` runs everything at once on the caller's thread (deterministic tests).
- `shutdown()` cancels the running job and joins the thread.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import traceback
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import Cancelled, GanExplorerError, one_line
from gan_explorer.core.explorer.handles import JobHandle, JobProgress
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.jobs import Job
from gan_explorer.core.io.identity import model_identity
from gan_explorer.core.explorer.requests import DeviceChange, ModelFailure, ModelInfo, RenderRequest
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.render import Renderer

log = logging.getLogger("gan_explorer.session")

W_STD_SAMPLES = 2000  # sampled w per model for the W sliders' sigma


@torch.no_grad()
def estimate_w_std(model, samples: int = W_STD_SAMPLES, seed: int = 0) -> np.ndarray:
    """Per-dimension standard deviation of w = map(z) over sampled z (first layer's w)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, model.z_dim, generator=g).to(model._device())
    conditioning = getattr(model, "conditioning", None)
    if conditioning is None:
        w = model.map(z)[:, 0].double()
    else:  # the sliders' sigma covers every class / factor setting, not only the default one
        w = model.map(z, c=random_conditions(conditioning, samples, g).to(z.device))[:, 0].double()
    return w.std(dim=0).cpu().numpy().astype(np.float32)


def random_conditions(conditioning, n: int, generator: torch.Generator) -> torch.Tensor:
    """[n, c_dim]: uniformly drawn classes (one-hot), or factor values uniform over their ranges."""
    from gan_explorer.core.explorer.conditions import factor_range

    if conditioning.kind == "class":
        labels = torch.randint(conditioning.c_dim, (n,), generator=generator)
        return torch.nn.functional.one_hot(labels, conditioning.c_dim).float()
    low, high = (torch.tensor(v, dtype=torch.float32) for v in zip(*map(factor_range, conditioning.names)))
    return low + (high - low) * torch.rand(n, conditioning.c_dim, generator=generator)


def describe_model(model, token: int, path: str, content_hash: str = "") -> ModelInfo:
    caps = model.capabilities
    info = ModelInfo(token=token, path=str(path), family=model.family, img_resolution=model.img_resolution,
                     img_channels=model.img_channels, parameters=int(model.num_parameters()),
                     capabilities={f.name: getattr(caps, f.name) for f in fields(caps)},
                     provenance=dict(getattr(model, "provenance", {}) or {}), config=model.config.to_dict(),
                     content_hash=content_hash)
    if not caps.is_translation:
        info.z_dim, info.w_dim, info.num_ws = model.z_dim, model.w_dim, model.num_ws
        info.w_avg = np.asarray(model.w_avg.detach().cpu(), dtype=np.float32)
        info.w_std = estimate_w_std(model)
        conditioning = getattr(model, "conditioning", None)
        if conditioning is not None:
            info.c_dim, info.c_kind = int(conditioning.c_dim), conditioning.kind
            info.c_names = tuple(conditioning.names) or tuple(f"class {i}" for i in range(info.c_dim))
            info.c_default = tuple(float(v) for v in conditioning.default_vector().tolist())
    return info


class JobContext:
    """What a running job sees: the model, progress reporting and the cancel check."""

    def __init__(self, session: "ExplorerSession", handle: JobHandle):
        self.session = session
        self.handle = handle

    @property
    def model(self):
        return self.session.renderer.model

    @property
    def renderer(self) -> Renderer:
        return self.session.renderer

    @property
    def device(self) -> torch.device:
        return self.session.device

    def check(self):
        """Raise Cancelled if the job was cancelled or its model replaced; serve a waiting render."""
        if self.handle.cancel_requested or self.handle.model_token != self.session.renderer.model_token:
            raise Cancelled()
        self.session._serve_pending_render()
        if self.handle.cancel_requested:
            raise Cancelled()

    def progress(self, done: int, total: int, message: str = "", preview: np.ndarray | None = None):
        self.session.deliver(self.handle.report_progress, JobProgress(done, total, message, preview))


class ExplorerSession:
    """The Qt-free heart of the explorer window. Thread-safe; see the module docstring."""

    def __init__(self, sync: bool = False, deliver=None):
        self.sync = sync
        self.deliver = deliver or _call_here  # how events and job callbacks reach their listeners
        self.events = EventGroup("model_loaded", "model_failed", "rendered", "device_changed")
        self.renderer = Renderer()
        self.device = torch.device("cpu")
        self.model_path: str | None = None
        self.rendered_count = 0
        self.dropped_renders = 0  # requests replaced before the worker took them
        self._cond = threading.Condition()
        self._pending_render: RenderRequest | None = None
        self._commands: collections.deque = collections.deque()
        self._jobs: dict[int, JobHandle] = {}
        self._next_job = 0
        self._requested_token = 0
        self._thread: threading.Thread | None = None
        self._running = False
        self._busy = False
        self.engine_preference = "eager"  # how full frames render: eager, or "auto" (the fastest engine)
        self.engine_line = "eager"

    # --- lifecycle ------------------------------------------------------------------------
    def start(self):
        if self.sync or self._thread is not None:
            return
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="gan_explorer-session", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel every job, stop the worker and join it; True when the thread has ended."""
        self.cancel_all()
        with self._cond:
            self._running = False
            self._pending_render = None
            queued = [command[1] for command in self._commands if command[0] == "job"]
            self._commands.clear()
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        for handle in queued:  # never run: they end cancelled, so their done callbacks still run
            self._jobs.pop(handle.id, None)
            self.deliver(lambda kwargs, handle=handle: handle.finish(**kwargs), {"cancelled": True})
        return thread is None or not thread.is_alive()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued or running (tests); True if it got there in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._commands or self._pending_render is not None or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    # --- requests (any thread) --------------------------------------------------------------
    def open_model(self, path: str | Path) -> int:
        """Load `path` on the worker; returns its token. The current model works until it succeeds;
        its jobs are cancelled now (their results would belong to a model that is going away)."""
        self.cancel_all()
        with self._cond:
            self._requested_token += 1
            token = self._requested_token
        self._post(("load", str(path), token))
        return token

    def set_model(self, model, path: str = "<memory>") -> int:
        """Use an already built model (tests, a model made by code); returns its token."""
        self.cancel_all()
        with self._cond:
            self._requested_token += 1
            token = self._requested_token
        self._post(("use", model, str(path), token))
        return token

    def set_device(self, name: str):
        self._post(("device", name))

    def set_engine(self, prefer: str):
        """'eager' or 'auto' (export the model and render full frames on the fastest installed
        inference engine; the first export of a large model takes a while, once per model)."""
        self._post(("engine", prefer))

    def render(self, state: LatentState, model_token: int, request_id: int, preview: bool = False):
        request = RenderRequest(request_id, state, model_token, preview)
        if self.sync:
            self._render(request)
            return
        with self._cond:
            if self._pending_render is not None:
                self.dropped_renders += 1
            self._pending_render = request
            self._cond.notify_all()

    def submit(self, job: Job, model_token: int, before_run=None) -> JobHandle:
        """Queue a job for the model `model_token`; returns its handle at once. `before_run(handle)`
        is called before the job can run (a synchronous session runs it inside this call)."""
        with self._cond:
            self._next_job += 1
            handle = JobHandle(self._next_job, job, model_token, keep_progress=self.sync)
            self._jobs[handle.id] = handle
        if before_run is not None:
            before_run(handle)
        self._post(("job", handle))
        return handle

    def cancel_all(self):
        for handle in list(self._jobs.values()):
            handle.cancel()

    def active_jobs(self) -> list[int]:
        return sorted(self._jobs)

    # --- worker side ------------------------------------------------------------------------
    def _post(self, command):
        if self.sync:
            self._run_command(command)
            return
        with self._cond:
            self._commands.append(command)
            self._cond.notify_all()

    def _loop(self):
        torch.set_grad_enabled(False)  # per thread: the worker never needs autograd for renders
        while True:
            with self._cond:
                while self._running and not self._commands and self._pending_render is None:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if not self._running:
                    self._busy = False
                    self._cond.notify_all()
                    break
                self._busy = True
                command = self._commands.popleft() if self._commands else None
            if command is not None:
                self._run_command(command)
            else:
                self._serve_pending_render()

    def _serve_pending_render(self):
        if self.sync:
            return
        with self._cond:
            request, self._pending_render = self._pending_render, None
        if request is not None:
            self._render(request)

    def _render(self, request: RenderRequest):
        if request.model_token != self.renderer.model_token or self.renderer.model is None:
            log.debug("dropped request %s made for model %s", request.request_id, request.model_token)
            return
        result = self.renderer.render(request)
        if result.error and result.out_of_memory and self.device.type != "cpu":
            # Out of memory on an accelerator: move to the CPU and try once more, so the user sees the image.
            previous = str(self.device)
            self._move_to(torch.device("cpu"))
            result = self.renderer.render(request)
            result.fell_back_to_cpu = True
            self.deliver(self.events.device_changed.emit,
                         DeviceChange("cpu", f"out of memory on {previous}: rendering on the CPU"))
        self.rendered_count += 1
        self.deliver(self.events.rendered.emit, result)

    def _run_command(self, command):
        kind = command[0]
        try:
            if kind == "load":
                self._load(*command[1:])
            elif kind == "use":
                self._use(*command[1:])
            elif kind == "device":
                self._set_device(command[1])
            elif kind == "engine":
                self.engine_preference = command[1]
                self._apply_engine()
                self.deliver(self.events.device_changed.emit, DeviceChange(str(self.device), engine=self.engine_line))
            elif kind == "job":
                self._run_job(command[1])
        except Exception:  # the worker never dies
            log.exception("session command %s failed", kind)

    def _load(self, path: str, token: int):
        from gan_explorer.core.io.models import open_model

        if token != self._requested_token:
            return  # a newer model was asked for meanwhile: loading this one would be wasted
        try:
            model = open_model(path, device=self.device)
            info = describe_model(model, token, path, model_identity(model, path))
        except Exception as exc:
            message = str(exc) if isinstance(exc, GanExplorerError) else f"{path}: {one_line(exc)}"
            log.error("cannot open %s: %s\n%s", path, message, traceback.format_exc())
            self.deliver(self.events.model_failed.emit, ModelFailure(token, str(path), message))
            return
        self._install(model, info, path)

    def _use(self, model, path: str, token: int):
        model = model.to(self.device).eval()
        self._install(model, describe_model(model, token, path, model_identity(model, path)), path)

    def _apply_engine(self):
        try:
            if self.device.type != "cpu" or self.engine_preference == "eager":
                self.renderer.engine = None
                self.engine_line = "eager"
            else:
                self.engine_line = self.renderer.use_engine(self.engine_preference)
        except Exception as exc:  # an engine is an optimisation: never a reason to fail
            log.error("engine %s failed: %s\n%s", self.engine_preference, exc, traceback.format_exc())
            self.renderer.engine = None
            self.engine_line = f"eager ({one_line(exc)})"

    def _install(self, model, info: ModelInfo, path: str):
        self.renderer.set_model(model, info.token)
        if self.engine_preference != "eager":
            self._apply_engine()
        self.model_path = str(path)
        for handle in list(self._jobs.values()):  # jobs of the previous model end now
            if handle.model_token != info.token:
                handle.cancel()
        self.deliver(self.events.model_loaded.emit, info)

    def _set_device(self, name: str):
        from gan_explorer.core.devices import resolve_device

        previous = self.device
        try:
            device = resolve_device(name)
            self._move_to(device)
        except Exception as exc:
            log.error("cannot use device %s: %s\n%s", name, exc, traceback.format_exc())
            try:
                self._move_to(previous)
            except Exception:
                log.exception("cannot move back to %s", previous)
            self.deliver(self.events.device_changed.emit,
                         DeviceChange(str(self.device), f"device {name}: {one_line(exc)}", self.engine_line))
            return
        self._apply_engine()
        self.deliver(self.events.device_changed.emit, DeviceChange(str(self.device), engine=self.engine_line))

    def _move_to(self, device: torch.device):
        if self.renderer.model is not None:
            self.renderer.model.to(device)
            if self.renderer.cache is not None:
                self.renderer.cache.clear()
        self.device = device

    def _run_job(self, handle: JobHandle):
        context = JobContext(self, handle)
        outcome = {}
        try:
            context.check()
            if self.renderer.model is None:
                raise GanExplorerError("no model is open")
            with torch.no_grad():
                outcome["result"] = handle.job.run(context)
        except Cancelled:
            outcome = {"cancelled": True}
        except Exception as exc:
            outcome["error"] = str(exc).strip() if isinstance(exc, GanExplorerError) else one_line(exc)
            outcome["traceback"] = traceback.format_exc()
            log.error("job %s (%s) failed: %s\n%s", handle.id, type(handle.job).__name__, outcome["error"],
                      outcome["traceback"])
        finally:
            self._jobs.pop(handle.id, None)
        self.deliver(lambda kwargs: handle.finish(**kwargs), outcome)


def _call_here(function, value):
    function(value)
