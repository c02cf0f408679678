"""The Drag mode's model (no Qt): handle/target pairs on the image, a mask, Start / Stop.

A click on the image adds a handle, the next click its target; pairs can be moved and deleted, a
mask painted with a brush. Start submits a `DragJob` through the session: every step's image is
shown through the viewer (`show_frame`) and the handles move where tracking found them
(`events.step`). When the drag ends (targets reached, budget spent, or Stop: it finishes at the
next step), its latent becomes the current one as one undo step; a cancelled job (Cancel, another
model) leaves the latent as it was. A drag can record its steps as a GIF/MP4 with provenance.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.jobs import Job
from gan_explorer.core.latent.state import LatentState

DEFAULT_BRUSH = 4.0  # px of the model's image


def edited_state(state: LatentState, ws) -> LatentState:
    """`state` with the drag's ws as its latent: seed-side edits go (the ws hold them), the noise and
    the in-synthesis edits (S channels, bends, tuning, blend) it was dragged under stay."""
    from gan_explorer.core.explorer.latent import ws_tuple

    return replace(state, ws=ws_tuple(ws), z=(), z_edits=(), w_offsets=(), mix_seed=-1, mix_layers=(),
                   mix_condition=())


@dataclass(frozen=True)
class DragStepInfo:
    index: int               # optimisation steps taken before this render
    handles: tuple           # ((x, y), ...) where tracking found the handles
    distance: float          # px from the farthest handle to its target
    image: np.ndarray        # HWC uint8 render of this step


@dataclass(frozen=True)
class DragOutcome:
    ws: np.ndarray           # [num_ws, w_dim] the edited latent
    handles: tuple           # tracked handle positions at the end
    steps: int
    stopped: bool            # ended by Stop rather than reaching the targets or the budget
    recorded: str = ""       # the recording's path, if one was asked for


@dataclass(frozen=True)
class DragJob(Job):
    ws: np.ndarray                       # [num_ws, w_dim] starting latent
    state: LatentState                   # the state it came from (noise, in-synthesis edits)
    handles: tuple
    targets: tuple
    mask: np.ndarray | None
    layers: int
    steps: int
    on_step: object = None               # callback(DragStepInfo), called where the session delivers
    stop: threading.Event = field(default_factory=threading.Event)  # set: finish at the next step
    abandon: threading.Event = field(default_factory=threading.Event)  # set: cancel at the next step
    record_path: str = ""                # write the steps as GIF/MP4 here ("" = none)
    model_name: str = ""
    content_hash: str = ""

    def run(self, context) -> DragOutcome:
        import torch

        from gan_explorer.core.drag import DragConfig, Dragger
        from gan_explorer.core.errors import Cancelled
        from gan_explorer.core.io.images import to_uint8
        from gan_explorer.core.synthesis_edits import synthesis_edits

        model = context.model
        ws = torch.as_tensor(np.asarray(self.ws, np.float32))[None].to(context.device)
        frames = []
        state = self.state

        def edits():
            """The state's transform and in-synthesis edits, only while the drag computes: a slider's
            render served by check() between steps must see the model as it is."""
            if model.capabilities.has_transform:
                model.set_transform(tuple(state.transform[:2]), state.transform[2])
            return synthesis_edits(model, state)

        with edits():
            dragger = Dragger(model, ws, self.handles, self.targets, self.mask,
                              DragConfig(layers=self.layers, steps=self.steps), state.noise_mode, state.noise_seed)
        while True:
            if self.abandon.is_set():
                raise Cancelled("drag cancelled")
            context.check()
            with edits():
                step = dragger.step()
            image = to_uint8(step.image)[0]
            if self.record_path:
                frames.append(image)
            info = DragStepInfo(step.index, tuple(map(tuple, step.handles.tolist())),
                                float(step.distances.max()), image)
            if self.on_step is not None:
                context.session.deliver(self.on_step, info)
            context.progress(step.index, self.steps, f"drag step {step.index}", preview=image)
            if step.finished or self.stop.is_set():
                break
        edited = step.ws[0].cpu().numpy().astype(np.float32)
        recorded = ""
        if self.record_path:
            from gan_explorer.core.io.video import export_frames
            from gan_explorer.core.latent.provenance import export_metadata
            state = edited_state(self.state, edited)
            metadata = export_metadata(self.model_name, self.content_hash, state, edited, command="drag")
            recorded = str(export_frames(frames, self.record_path, fps=15, metadata=metadata,
                                         should_stop=lambda: context.handle.cancel_requested))
        return DragOutcome(edited, tuple(map(tuple, step.handles.tolist())), step.index,
                           not step.finished, recorded)


class DragModel:
    """Points, mask and the running drag; see the module docstring."""

    def __init__(self, viewer, latent):
        self.viewer, self.latent = viewer, latent
        self.events = EventGroup("points", "mask", "running", "step", "message")
        self.handles: list[tuple[float, float]] = []
        self.targets: list[tuple[float, float] | None] = []
        self.mask: np.ndarray | None = None   # [res, res] float32, 1 = may change
        from gan_explorer.core.drag import DragConfig

        self.layers = DragConfig().layers   # the W+ rows a drag optimises (the Drag tab's box)
        self.steps = 200
        self.record_path = ""
        self.steps_per_second = 0.0
        self._job = None
        self._stop: threading.Event | None = None
        self._abandon: threading.Event | None = None
        self._times: list[float] = []

    # --- points --------------------------------------------------------------------------------
    @property
    def resolution(self) -> int:
        info = self.viewer.info
        return int(info.img_resolution) if info is not None else 0

    def click(self, x: float, y: float):
        """A click in Drag mode: a new handle, or the target of the handle waiting for one."""
        if self.running:
            return
        point = (float(np.clip(x, 0, self.resolution - 1)), float(np.clip(y, 0, self.resolution - 1)))
        if self.targets and self.targets[-1] is None:
            self.targets[-1] = point
        else:
            self.handles.append(point)
            self.targets.append(None)
        self.events.points.emit(self.pairs())

    def pairs(self) -> list:
        return list(zip(self.handles, self.targets))

    def nearest(self, x: float, y: float, within: float) -> tuple[int, str] | None:
        """(pair index, 'handle' or 'target') of the point nearest (x, y) within `within` px."""
        best, found = within, None
        for i, (h, t) in enumerate(self.pairs()):
            for kind, p in (("handle", h), ("target", t)):
                if p is not None and np.hypot(p[0] - x, p[1] - y) <= best:
                    best, found = np.hypot(p[0] - x, p[1] - y), (i, kind)
        return found

    def move_point(self, index: int, kind: str, x: float, y: float):
        point = (float(np.clip(x, 0, self.resolution - 1)), float(np.clip(y, 0, self.resolution - 1)))
        (self.handles if kind == "handle" else self.targets)[index] = point
        self.events.points.emit(self.pairs())

    def remove_pair(self, index: int):
        del self.handles[index], self.targets[index]
        self.events.points.emit(self.pairs())

    def clear_points(self):
        self.handles, self.targets = [], []
        self.events.points.emit(self.pairs())

    # --- mask ----------------------------------------------------------------------------------
    def paint_mask(self, x: float, y: float, radius: float = DEFAULT_BRUSH, value: float = 1.0):
        """Paint a disc of the mask (1: may change, 0: held). The first stroke starts from 'all held'."""
        res = self.resolution
        if res <= 0:
            return
        if self.mask is None or self.mask.shape != (res, res):
            self.mask = np.zeros((res, res), np.float32)
        yy, xx = np.mgrid[0:res, 0:res]
        self.mask[(xx - x) ** 2 + (yy - y) ** 2 <= radius * radius] = value
        self.events.mask.emit(self.mask)

    def clear_mask(self):
        self.mask = None
        self.events.mask.emit(None)

    # --- the drag ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def start(self):
        complete = [(h, t) for h, t in self.pairs() if t is not None]
        if self.running:
            return None
        if not complete:
            self.events.message.emit("Drag: click a handle, then its target, first")
            return None
        ws = self.viewer.current_ws
        if ws is None or not self.viewer.explorable:
            self.events.message.emit("Drag: no image to drag yet")
            return None
        info = self.viewer.info
        self._stop, self._abandon = threading.Event(), threading.Event()
        self._times = []
        mask = self.mask if self.mask is not None and self.mask.any() else None
        job = DragJob(np.asarray(ws, np.float32), self.latent.state, tuple(h for h, _ in complete),
                      tuple(t for _, t in complete), mask, int(self.layers), int(self.steps), self._on_step,
                      self._stop, self._abandon, self.record_path, info.path.rsplit("/", 1)[-1], info.content_hash)
        self.events.running.emit(True)  # before submit: a synchronous session has finished when it returns
        self._job = self.viewer.submit(job)
        self._job.on_done(self._done)
        return self._job

    def stop(self):
        """Finish at the next step, keeping what the drag reached."""
        if self._stop is not None:
            self._stop.set()

    def cancel(self):
        """Abandon the drag: the latent stays as it was."""
        if self._abandon is not None:
            self._abandon.set()  # also when the job runs synchronously (its handle not returned yet)
        if self._job is not None:
            self._job.cancel()

    def _on_step(self, info: DragStepInfo):
        now = time.monotonic()
        self._times = (self._times + [now])[-10:]
        if len(self._times) > 1:
            self.steps_per_second = (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-9)
        self.handles = [tuple(h) for h in info.handles] + self.handles[len(info.handles):]
        self.viewer.show_frame(info.image)
        self.events.step.emit(info)
        self.events.points.emit(self.pairs())

    def _done(self, handle):
        self.events.running.emit(False)
        if not handle.ok:
            self.viewer.request_render()  # the image of the unchanged latent again
            return
        outcome: DragOutcome = handle.result
        # One undo step; the noise and in-synthesis edits are the current ones (a change made while
        # the drag ran is kept), the latent is the drag's.
        self.latent.set_state(edited_state(self.latent.state, outcome.ws))
        text = f"Drag: {outcome.steps} steps" + (" (stopped)" if outcome.stopped else "")
        if outcome.recorded:
            text += f"; recorded {outcome.recorded}"
        self.events.message.emit(text)
