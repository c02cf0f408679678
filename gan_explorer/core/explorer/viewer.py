"""The open model and what the view shows (no Qt): opening, rendering the latent, jobs, status.

The Viewer follows the session's events (delivered on its own thread by whoever made the
session: the Qt bridge, or a synchronous session in tests) and keeps what belongs to the open
model: its description (`info`) and token, the image shown and the frames-per-second count. A
render is requested whenever the latent model changes; results made for an earlier model, or
older than the image shown, are dropped. Jobs go through `submit`, which stamps them with the
open model's token and returns their handle.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.latent import LatentModel
from gan_explorer.core.explorer.requests import DeviceChange, ModelFailure, ModelInfo, RenderResult
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState

log = logging.getLogger("gan_explorer.viewer")

FPS_WINDOW_S = 1.0       # frames per second is counted over this window, and shown only while frames flow
DEFAULT_PSI_WITH_W_AVG = 0.7  # what artists want first on a StyleGAN (a learned w_avg): cleaner faces


class Viewer:
    """The open model, the image shown, and the jobs run on it; see the module docstring."""

    def __init__(self, session: ExplorerSession, latent: LatentModel):
        self.session = session
        self.latent = latent
        self.events = EventGroup("model_opening", "model_opened", "model_failed", "image_shown", "frame_shown",
                                 "render_failed", "device_changed", "message", "job_started")
        self.info: ModelInfo | None = None
        self.last_result: RenderResult | None = None
        self.device = "cpu"
        self.engine = "eager"
        self._requested_token = 0
        self._next_request = 0
        self._shown_request = -1
        self._frame_times: list[float] = []
        self._handles: dict[int, JobHandle] = {}
        events = session.events
        events.model_loaded.connect(self._model_loaded)
        events.model_failed.connect(self._model_failed)
        events.rendered.connect(self._rendered)
        events.device_changed.connect(self._device_changed)
        latent.events.changed.connect(lambda _state: self.request_render(preview=latent.history.in_gesture))
        latent.events.gesture_ended.connect(lambda _state: self.request_render())
        latent.events.message.connect(self.events.message.emit)

    # --- the model ---------------------------------------------------------------------------------
    @property
    def token(self) -> int:
        return self.info.token if self.info is not None else 0

    @property
    def model_name(self) -> str:
        return Path(self.info.path).name if self.info is not None else ""

    @property
    def explorable(self) -> bool:
        """A model with a latent to explore (not a translation model, and not none)."""
        return self.info is not None and not self.info.is_translation

    def open_model(self, path) -> int:
        self.events.message.emit(f"Opening {Path(str(path)).name}…")
        token = self.session.open_model(str(path))
        self._requested_token = max(self._requested_token, token)
        return token

    def use_model(self, model, path: str = "<memory>") -> int:
        token = self.session.set_model(model, path)
        self._requested_token = max(self._requested_token, token)
        return token

    def _model_loaded(self, info: ModelInfo):
        if info.token < self._requested_token:
            return  # an older load that finished late
        self._requested_token = info.token  # (a sync session reports before open_model returns)
        first = self.info is None
        previous = self.latent.state
        self.events.model_opening.emit(info)  # the other models let go of the previous model's data
        self.info = info
        self._handles.clear()
        self._shown_request = -1
        self.last_result = None
        psi = previous.truncation_psi
        if first and previous == LatentState() and info.w_avg is not None and info.can("style_mixing"):
            psi = DEFAULT_PSI_WITH_W_AVG
        state = LatentState(seed=previous.seed, truncation_psi=psi,
                            noise_mode=previous.noise_mode if info.can("has_noise") else "const",
                            noise_seed=previous.noise_seed)
        self.events.model_opened.emit(info)
        if info.is_translation:
            self.latent.start(state)
        else:
            self.latent.start(state, info.w_std, info.z_dim)  # renders the first frame

    def _model_failed(self, failure: ModelFailure):
        if failure.token < self._requested_token:
            return
        self._requested_token = self.token  # the previous model stays in use
        self.events.model_failed.emit(failure.error)

    def set_device(self, name: str):
        self.session.set_device(name)

    def set_engine(self, prefer: str):
        self.events.message.emit("Preparing the fast renderer (the first time, the model is exported: this "
                                 "can take a minute)…" if prefer != "eager" else "Rendering with PyTorch")
        self.session.set_engine(prefer)

    def _device_changed(self, change: DeviceChange):
        self.device = change.device
        self.engine = change.engine
        self.events.device_changed.emit(change)
        if change.error:
            self.events.message.emit(change.error)
        else:
            self.request_render()

    # --- rendering -----------------------------------------------------------------------------------
    def request_render(self, preview: bool = False):
        if not self.explorable:
            return
        self._next_request += 1
        self.session.render(self.latent.state, self.token, self._next_request, preview=preview)

    def _rendered(self, result: RenderResult):
        if result.model_token != self.token or result.request_id <= self._shown_request:
            return  # stale: of a previous model, or older than what is shown
        if result.error:
            self.events.render_failed.emit(result.error)
            return
        self._shown_request = result.request_id
        self.last_result = result
        now = time.monotonic()
        self._frame_times = [t for t in self._frame_times if now - t < FPS_WINDOW_S] + [now]
        self.events.image_shown.emit(result)

    def show_frame(self, image: np.ndarray):
        """Show an image that is not the current state's (playback, a preview, a translation)."""
        self.events.frame_shown.emit(image)

    @property
    def current_ws(self) -> np.ndarray | None:
        return None if self.last_result is None else self.last_result.ws

    def fps(self) -> int:
        """Frames shown in the last second; 0 when frames stopped flowing."""
        now = time.monotonic()
        self._frame_times = [t for t in self._frame_times if now - t < FPS_WINDOW_S]
        return len(self._frame_times) if len(self._frame_times) > 1 else 0

    def status_text(self) -> str:
        if self.info is None:
            return "no model"
        text = f"{self.model_name} · {self.info.family} {self.info.img_resolution} px · {self.device}"
        if self.info.c_dim:
            from gan_explorer.core.explorer.conditions import describe_condition

            text += f" · {describe_condition(self.info, self.latent.state.condition)}"
        if self.engine != "eager":
            text += f" · {self.engine.split(' (')[0]}"
        if self.last_result is not None:
            preview = " (preview)" if self.last_result.preview else ""
            text += f" · render {self.last_result.render_ms:.0f} ms{preview}"
        fps = self.fps()
        if fps:
            text += f" · {fps} fps"
        return text

    # --- jobs ------------------------------------------------------------------------------------------
    def submit(self, job) -> JobHandle:
        """Run `job` on the open model; its handle reports progress and the outcome. A failure is also
        said in one line (the status bar), a cancel too."""
        handle = self.session.submit(job, self.token, before_run=self._track)
        return handle

    def _track(self, handle: JobHandle):
        self._handles[handle.id] = handle
        self.events.job_started.emit(handle)
        handle.on_done(self._job_done)

    def _job_done(self, handle: JobHandle):
        if self._handles.pop(handle.id, None) is None or handle.model_token != self._requested_token:
            return  # a job of a previous model, or one ended because another model was asked for
        if handle.error:
            self.events.message.emit(handle.error)
        elif handle.cancelled:
            self.events.message.emit("Cancelled")

    def running_jobs(self) -> list[JobHandle]:
        return [h for h in self._handles.values() if not h.finished]

    def cancel_all_jobs(self):
        for handle in list(self._handles.values()):
            handle.cancel()
