"""The explorer's application logic, without Qt: what the window shows and what happens when.

`Explorer` lives on the GUI thread (or a test's thread). It holds the current latent state and its
history, the open model's description, bookmarks, directions and the bookkeeping of renders and
jobs; it asks the session (core/explorer/session.py) for work and turns the session's results
into events that widgets subscribe to. The window only forwards intent (`explorer.set_seed(3)`)
and shows what the events say.

The session reports on its worker thread; whoever wires them (the Qt bridge, or `connect_direct`
for tests in sync mode) must call `on_*` on the explorer's thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gan_explorer.core.explorer.bookmarks import Bookmarks
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.history import History
from gan_explorer.core.explorer.requests import (
    DeviceChange, EncodePicture, FindDirections, Job, JobProgress, JobResult, ModelFailure, ModelInfo, RenderBatch,
    RenderResult,
)
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState, state_to_dict

log = logging.getLogger("gan_explorer.explorer")

FPS_WINDOW_S = 1.0  # frames per second is counted over this window, and shown only while frames flow


@dataclass
class Keyframe:
    state: LatentState
    label: str
    thumbnail: np.ndarray | None = None  # HWC uint8, the image when it was added
    shape: tuple = ()                    # (num_ws, w_dim) of the model it was made on


@dataclass
class DirectionSet:
    method: str                 # pca, sefa, or the library's name
    directions: np.ndarray      # [k, w_dim] unit vectors
    sigma: np.ndarray           # [k] spread of sampled w along each
    names: list[str] = field(default_factory=list)


class Explorer:
    """Application state and logic of the explorer window; see the module docstring."""

    def __init__(self, session: ExplorerSession, data_dir=None):
        self.session = session
        self.data_dir = data_dir
        self.events = EventGroup("model_opened", "model_failed", "state_changed", "image_shown", "render_failed",
                                 "directions_changed", "bookmarks_changed", "job_started", "job_progress",
                                 "job_finished", "message", "device_changed", "keyframes_changed",
                                 "frame_shown", "library_changed")
        self.history = History(LatentState())
        self.info: ModelInfo | None = None
        self.bookmarks: Bookmarks | None = None
        self.directions: DirectionSet | None = None
        self.last_result: RenderResult | None = None
        self.device = "cpu"
        self.engine = "eager"
        self._requested_token = 0   # the newest model asked for
        self._next_request = 0
        self._shown_request = -1
        self._jobs: dict[int, str] = {}  # job id -> purpose, while running
        self._frame_times: list[float] = []
        self.keyframes: list[Keyframe] = []
        self.library = None  # the open model's DirectionLibrary (needs its content hash)

    # --- wiring ---------------------------------------------------------------------------
    def connect_direct(self):
        """Deliver the session's events straight to this explorer (sync sessions, tests without Qt)."""
        s = self.session.events
        s.model_loaded.connect(self.on_model_loaded)
        s.model_failed.connect(self.on_model_failed)
        s.rendered.connect(self.on_rendered)
        s.job_progress.connect(self.on_job_progress)
        s.job_done.connect(self.on_job_done)
        s.device_changed.connect(self.on_device_changed)
        return self

    # --- model ------------------------------------------------------------------------------
    @property
    def token(self) -> int:
        return self.info.token if self.info is not None else 0

    @property
    def state(self) -> LatentState:
        return self.history.current

    @property
    def model_name(self) -> str:
        return Path(self.info.path).name if self.info is not None else ""

    def open_model(self, path) -> int:
        self.events.message.emit(f"Opening {Path(str(path)).name}…")
        token = self.session.open_model(str(path))
        self._requested_token = max(self._requested_token, token)
        return token

    def use_model(self, model, path: str = "<memory>") -> int:
        token = self.session.set_model(model, path)
        self._requested_token = max(self._requested_token, token)
        return token

    def on_model_loaded(self, info: ModelInfo):
        if info.token < self._requested_token:
            return  # an older load that finished late
        self._requested_token = info.token  # (a sync session reports before open_model returns)
        keep = self.state if self.info is None else None
        self.info = info
        self.directions = None
        self._jobs.clear()
        self._shown_request = -1
        self.last_result = None
        self.bookmarks = None
        self.library = None
        if not info.is_translation:
            self.bookmarks = Bookmarks(info.path, self.data_dir, info.content_hash)
            if info.content_hash:
                from gan_explorer.core.latent.library import DirectionLibrary

                self.library = DirectionLibrary(info.content_hash, info.w_dim, self.data_dir)
        base = keep or self.state
        state = LatentState(seed=base.seed, truncation_psi=base.truncation_psi,
                            noise_mode=base.noise_mode if info.can("has_noise") else "const",
                            noise_seed=base.noise_seed)
        self.history.reset(state)
        self.events.model_opened.emit(info)
        self._check_keyframes(info)
        self.events.directions_changed.emit(None)
        self.events.bookmarks_changed.emit(None)
        self.events.library_changed.emit(self.library)
        if self.library is not None and self.library.warning:
            self.events.message.emit(self.library.warning)
        if self.bookmarks is not None and self.bookmarks.warning:
            self.events.message.emit(self.bookmarks.warning)
        self.events.state_changed.emit(state)
        self.request_render()

    def on_model_failed(self, failure: ModelFailure):
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

    def on_device_changed(self, change: DeviceChange):
        self.device = change.device
        self.engine = change.engine
        self.events.device_changed.emit(change)
        if change.error:
            self.events.message.emit(change.error)
        else:
            self.request_render()

    # --- the latent state -------------------------------------------------------------------
    def change(self, gesture: str | None = None, **changes) -> bool:
        """Apply `changes` to the state as one undo step (a drag with one `gesture` key is one step)."""
        if "seed" in changes or "ws" in changes or "z" in changes:
            changes.setdefault("z_edits", ())
        return self.set_state(self.state.with_changes(**changes), gesture)

    def set_state(self, state: LatentState, gesture: str | None = None) -> bool:
        if not self.history.push(state, gesture):
            return False
        self.events.state_changed.emit(state)
        self.request_render(preview=gesture is not None)
        return True

    def end_gesture(self):
        """A drag ended: the next change is a new undo step, and the frame is rendered in full."""
        self.history.end_gesture()
        self.request_render()

    def set_seed(self, seed: int):
        self.change(seed=int(seed), z=(), ws=())

    def set_z(self, dim: int, delta: float):
        self.set_state(self.state.with_z_edit(dim, delta), f"z{dim}")

    def set_condition(self, condition: tuple, gesture: str | None = None):
        """Condition a conditional model (c: a one-hot class or factor values); one undo step."""
        if self.info is None or len(condition) != self.info.c_dim:
            return
        self.change(gesture, condition=tuple(float(v) for v in condition))

    def w_sigma(self, dim: int) -> float:
        if self.info is None or self.info.w_std is None:
            return 1.0
        return float(self.info.w_std[dim])

    def set_w(self, dim: int, value_sigma: float, layers: tuple[int, int]):
        """Move raw w dimension `dim` by `value_sigma` standard deviations of sampled w."""
        start, end = layers
        self.set_state(self.state.with_w_offset(f"w:{dim}", start, end, dim=dim,
                                                amount=value_sigma * self.w_sigma(dim)), f"w{dim}")

    def set_direction(self, index: int, value_sigma: float, layers: tuple[int, int]):
        if self.directions is None or not 0 <= index < len(self.directions.directions):
            return
        start, end = layers
        d = self.directions
        self.set_state(self.state.with_w_offset(f"d:{index}", start, end, direction=d.directions[index],
                                                amount=value_sigma * float(d.sigma[index])), f"d{index}")

    def w_values(self) -> dict[int, float]:
        """Raw w slider values in sigma, from the current state."""
        return {o.dim: o.amount / self.w_sigma(o.dim) for o in self.state.w_offsets if o.key.startswith("w:")}

    def direction_values(self) -> dict[int, float]:
        if self.directions is None:
            return {}
        return {int(o.key[2:]): o.amount / float(self.directions.sigma[int(o.key[2:])])
                for o in self.state.w_offsets if o.key.startswith("d:")}

    def clear_offsets(self, prefix: str):
        self.set_state(self.state.without_offsets(prefix))

    def undo(self):
        self._restore(self.history.undo())

    def redo(self):
        self._restore(self.history.redo())

    def _restore(self, state: LatentState):
        self.events.state_changed.emit(state)
        self.request_render()

    # --- rendering ----------------------------------------------------------------------------
    def request_render(self, preview: bool = False):
        if self.info is None or self.info.is_translation:
            return
        self._next_request += 1
        self.session.render(self.state, self.token, self._next_request, preview=preview)

    def on_rendered(self, result: RenderResult):
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

            text += f" · {describe_condition(self.info, self.state.condition)}"
        if self.engine != "eager":
            text += f" · {self.engine.split(' (')[0]}"
        if self.last_result is not None:
            preview = " (preview)" if self.last_result.preview else ""
            text += f" · render {self.last_result.render_ms:.0f} ms{preview}"
        fps = self.fps()
        if fps:
            text += f" · {fps} fps"
        return text

    # --- jobs -----------------------------------------------------------------------------------
    def run_job(self, job: Job) -> int:
        job_id = self.session.new_job_id()
        self._jobs[job_id] = job.purpose  # filed first: a sync session finishes the job inside submit()
        self.events.job_started.emit((job_id, job.purpose))
        self.session.submit(job, self.token, job_id)
        return job_id

    def cancel_jobs(self, purpose: str | None = None):
        for job_id, job_purpose in list(self._jobs.items()):
            if purpose is None or job_purpose == purpose:
                self.session.cancel(job_id)

    def busy(self, purpose: str) -> bool:
        return purpose in self._jobs.values()

    def on_job_progress(self, progress: JobProgress):
        if progress.job_id in self._jobs:
            self.events.job_progress.emit(progress)

    def on_job_done(self, result: JobResult):
        if self._jobs.pop(result.job_id, None) is None:
            return  # a job of a previous model
        if result.error:
            self.events.message.emit(result.error)
        elif result.cancelled:
            self.events.message.emit("Cancelled")
        elif result.purpose == "directions":
            self._set_directions(result)
        elif result.purpose == "encode" and result.ws is not None:
            self.change(ws=tuple(map(tuple, result.ws.tolist())))
        elif result.purpose == "peek" and result.images:
            self.show_frame(result.images[0])
        elif result.purpose == "translate" and len(result.images) == 2:
            self.show_frame(np.concatenate(result.images, axis=1))
        self.events.job_finished.emit(result)

    # --- directions -----------------------------------------------------------------------------
    def find_directions(self, method: str, count: int = 20) -> int:
        return self.run_job(FindDirections(purpose="directions", method=method, count=count))

    def _set_directions(self, result: JobResult):
        label = {"pca": "PC", "sefa": "SeFa"}.get(result.value or "", "dir")
        self.directions = DirectionSet(result.value or "", result.directions, result.sigma,
                                       [f"{label} {i}" for i in range(len(result.directions))])
        self.set_state(self.state.without_offsets("d:"))
        self.events.directions_changed.emit(self.directions)

    # --- pictures ---------------------------------------------------------------------------------
    def encode_picture(self, picture) -> int:
        return self.run_job(EncodePicture(purpose="encode", picture=picture))

    # --- bookmarks ----------------------------------------------------------------------------------
    def add_bookmark(self, name: str = "", thumbnail_png: bytes = b""):
        if self.bookmarks is None:
            return
        self.bookmarks.add(self.state, name, thumbnail_png)
        self.events.bookmarks_changed.emit(None)

    def export_bookmark_sheet(self, path) -> int | None:
        """All bookmarks of this model as one PNG grid with captions (rendered on the worker)."""
        from gan_explorer.core.explorer.requests import Call

        if self.bookmarks is None or not self.bookmarks.items:
            return None
        n = len(self.bookmarks.items)
        states = tuple(self.bookmarks.state(i) for i in range(n))
        captions = tuple(self.bookmarks.name(i) for i in range(n))
        metadata = self.export_metadata(state=states[0], bookmarks=[
            {"name": c, "state": state_to_dict(st)} for c, st in zip(captions, states)])
        return self.run_job(Call(purpose="bookmark_sheet", function=write_bookmark_sheet,
                                 kwargs=(("path", str(path)), ("states", states), ("captions", captions),
                                         ("metadata", metadata))))

    def go_to_bookmark(self, index: int):
        if self.bookmarks is not None:
            self.set_state(self.bookmarks.state(index))

    # --- frames that are not the current state (playback, translation) ----------------------------
    def show_frame(self, image: np.ndarray):
        self.events.frame_shown.emit(image)

    def peek(self, state: LatentState) -> int:
        """Show `state`'s image without making it current (a bookmark clicked once)."""
        return self.run_job(RenderBatch(purpose="peek", states=(state,)))

    # --- interpolation keyframes --------------------------------------------------------------------
    def add_keyframe(self, label: str = ""):
        if self.info is None or self.info.is_translation:
            return
        image = self.last_result.image if self.last_result is not None else None
        if not label and self.bookmarks is not None:
            names = [self.bookmarks.name(i) for i in range(len(self.bookmarks.items))
                     if self.bookmarks.state(i) == self.state]
            label = f"bookmark: {names[0]}" if names else ""
        self.keyframes.append(Keyframe(self.state, label or self.state.label(), image,
                                       (self.info.num_ws, self.info.w_dim)))
        self.events.keyframes_changed.emit(self.keyframes)

    def remove_keyframe(self, index: int):
        if 0 <= index < len(self.keyframes):
            del self.keyframes[index]
            self.events.keyframes_changed.emit(self.keyframes)

    def move_keyframe(self, index: int, step: int) -> int:
        target = index + step
        if not (0 <= index < len(self.keyframes) and 0 <= target < len(self.keyframes)):
            return index
        self.keyframes[index], self.keyframes[target] = self.keyframes[target], self.keyframes[index]
        self.events.keyframes_changed.emit(self.keyframes)
        return target

    def _check_keyframes(self, info: ModelInfo):
        """Keyframes made on a model of another shape cannot be interpolated on this one."""
        shape = () if info.is_translation else (info.num_ws, info.w_dim)
        misfits = [k for k in self.keyframes if k.shape != shape]
        if misfits:
            self.keyframes = [k for k in self.keyframes if k.shape == shape]
            self.events.message.emit(f"{len(misfits)} keyframe(s) did not fit {self.model_name} and were cleared")
            self.events.keyframes_changed.emit(self.keyframes)

    # --- exports and provenance ---------------------------------------------------------------------
    def export_metadata(self, state: LatentState | None = None, ws: np.ndarray | None = None, **extra) -> dict:
        from gan_explorer.core.explorer.provenance import export_metadata

        if ws is None and state is None and self.last_result is not None:
            ws = self.last_result.ws
        return export_metadata(self.model_name, self.info.content_hash if self.info else "", state or self.state,
                               ws, **extra)

    def save_image(self, path, scale: int = 1) -> int | None:
        """Write the current image as a PNG carrying its provenance, upscaled `scale` times (Lanczos,
        said in the metadata); on the worker, so a large upscale never blocks the window."""
        if self.info is None or self.info.is_translation:
            return None
        from gan_explorer.core.explorer.requests import Call

        extra = {"upscale": {"factor": int(scale), "method": "lanczos"}} if scale > 1 else {}
        return self.run_job(Call(purpose="save_image", function=write_png,
                                 kwargs=(("path", str(path)), ("state", self.state), ("scale", int(scale)),
                                         ("extra", extra), ("model_name", self.model_name),
                                         ("content_hash", self.info.content_hash))))

    def restore_picture(self, path) -> bool:
        """A PNG this app exported: restore the state it was made from (True), or say which model it
        needs. False when the picture carries no provenance (it is then an ordinary picture)."""
        from gan_explorer.core.errors import GanExplorerError
        from gan_explorer.core.explorer.provenance import read_picture_provenance

        try:
            provenance = read_picture_provenance(path)
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
            return True
        if provenance is None:
            return False
        if self.info is None or not provenance.made_with(self.info.content_hash):
            self.events.message.emit(f"{Path(str(path)).name} was made with {provenance.model_name or 'another model'}"
                                     f" (sha256 {provenance.model_hash[:12]}…): open that model, then drop it again")
            return True
        self.set_state(provenance.state)
        self.events.message.emit(f"Restored the latent of {Path(str(path)).name}")
        return True

    # --- the direction library ---------------------------------------------------------------------
    def save_direction(self, name: str, vector, sigma: float, layers: tuple[int, int], strength: float = 2.0,
                       source: str = ""):
        """Name a direction and keep it in the model's library (it appears as a named slider)."""
        from gan_explorer.core.errors import GanExplorerError
        from gan_explorer.core.latent.library import make_direction

        if self.library is None:
            self.events.message.emit("This model has no file to key a direction library by")
            return None
        try:
            direction = self.library.add(make_direction(name, vector, sigma, layers, strength, source))
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
            return None
        self.events.library_changed.emit(self.library)
        return direction

    def save_found_direction(self, index: int, name: str, layers: tuple[int, int], strength: float = 2.0):
        d = self.directions
        if d is None or not 0 <= index < len(d.directions):
            return None
        return self.save_direction(name, d.directions[index], float(d.sigma[index]), layers, strength,
                                   f"{d.method} {index}")

    def remove_direction(self, name: str):
        if self.library is not None:
            self.library.remove(name)
            self.set_state(self.state.without_offsets(f"lib:{name}"))
            self.events.library_changed.emit(self.library)

    def set_library_direction(self, name: str, value_sigma: float):
        direction = self.library.get(name) if self.library is not None else None
        if direction is None or self.info is None:
            return
        start, end = direction.layers(self.info.num_ws)
        self.set_state(self.state.with_w_offset(f"lib:{name}", start, end, direction=direction.vector,
                                                amount=value_sigma * direction.sigma), f"lib:{name}")

    def library_values(self) -> dict[str, float]:
        if self.library is None:
            return {}
        values = {}
        for o in self.state.w_offsets:
            if o.key.startswith("lib:") and (d := self.library.get(o.key[4:])) is not None:
                values[d.name] = o.amount / d.sigma
        return values

    # --- breeding -------------------------------------------------------------------------------------
    def current_z(self) -> np.ndarray | None:
        """z of the current state ([1, z_dim]), or None when it is given by explicit ws."""
        from gan_explorer.core.models.base import z_from_seed

        state = self.state
        if self.info is None or self.info.is_translation or state.ws:
            return None
        z = np.asarray([state.z], np.float64) if state.z else z_from_seed(state.seed, self.info.z_dim)
        for dim, delta in state.z_edits:
            z[0, int(dim)] += float(delta)
        return z.astype(np.float32)

    def current_ws(self) -> np.ndarray | None:
        return None if self.last_result is None else self.last_result.ws

    def variation_states(self, count: int, strength: float, layers: tuple[int, int], space: str = "w",
                         seed: int = 0, parent_ws: np.ndarray | None = None) -> list[LatentState]:
        """Children of the current latent (or `parent_ws`) as states with explicit ws."""
        from gan_explorer.core.latent.breeding import children

        parent = self.current_ws() if parent_ws is None else parent_ws
        if parent is None or self.info is None:
            return []
        kids = children(parent, count, strength, self.info.w_std, layers, space, seed)
        base = self.state.base()
        return [base.with_changes(ws=tuple(map(tuple, k.tolist()))) for k in kids]

    def crossbreed(self, parents: list[np.ndarray], weights: list[float] | None = None,
                   owners: list[int] | None = None) -> LatentState:
        """Make a child of `parents` (a blend by weight, or layers by owner) the current latent."""
        from gan_explorer.core.latent.breeding import blend, genes

        child = genes(parents, owners) if owners is not None else blend(parents, weights)
        state = self.state.base().with_changes(ws=tuple(map(tuple, child.tolist())))
        self.set_state(state)
        return state


def write_png(model, context, path: str, state: LatentState, scale: int = 1, extra: dict | None = None,
              model_name: str = "", content_hash: str = ""):
    """A job: `state` rendered in full (never a preview), upscaled `scale` times (Lanczos), written
    atomically as a PNG that carries its provenance."""
    from gan_explorer.core.errors import GanExplorerError
    from gan_explorer.core.explorer.provenance import export_metadata
    from gan_explorer.core.explorer.requests import RenderRequest
    from gan_explorer.core.io.images import png_info, save_image
    from gan_explorer.core.io.video import resize_frame

    rendered = context.renderer.render(RenderRequest(-1, state, context.renderer.model_token))
    if rendered.error:
        raise GanExplorerError(rendered.error)
    image = rendered.image
    metadata = export_metadata(model_name, content_hash, state, rendered.ws, **(extra or {}))

    if scale > 1:
        image = resize_frame(image, image.shape[0] * scale)
    context.check()
    save_image(path, image, pnginfo=png_info(metadata))
    return path


def write_bookmark_sheet(model, context, path: str, states: tuple, captions: tuple, metadata: dict | None = None):
    """A job: every bookmark rendered and laid out as one PNG with its caption under it."""
    from gan_explorer.core.explorer.jobs import render_states
    from gan_explorer.core.io.images import contact_sheet, png_info, save_image

    images = render_states(context, list(states))
    save_image(path, contact_sheet(images, list(captions)), pnginfo=png_info(metadata))
    return path
