"""Sound-driven animation and loops in the window (no Qt): open a sound, plan the walk it drives,
preview any moment of it, export the MP4 with the sound inside; or export a seamless loop.

The plan (the ws of every frame) is computed once on the worker; previewing a moment renders that
frame's ws with the current state's in-synthesis edits and shows it without changing the state
(latest-wins: a newer preview cancels one not yet rendered). Exports run as jobs with progress and
Cancel, and carry the same provenance as `gan-explorer animate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import Cancelled, GanExplorerError
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.jobs import Exported, Job
from gan_explorer.core.explorer.state import LatentState


@dataclass(frozen=True)
class SoundSummary:
    path: str
    seconds: float
    rate: int
    fps: float
    loudness: np.ndarray     # per frame, [0, 1]: what the panel draws under the time slider
    onsets: np.ndarray


@dataclass(frozen=True)
class AnimationPlan:
    ws: np.ndarray           # [frames, num_ws, w_dim]
    fps: float
    mapping: str
    seconds: float


@dataclass(frozen=True)
class OpenSound(Job):
    path: str = ""
    fps: float = 24.0

    def run(self, context) -> SoundSummary:
        from gan_explorer.core.animation.audio import read_sound, sound_features

        sound = read_sound(self.path)
        context.check()
        features = sound_features(sound, self.fps)
        return SoundSummary(self.path, sound.seconds, sound.rate, self.fps, features.loudness, features.onsets)


def _directions(context, mapping, content_hash):
    from gan_explorer.core.animation.animate import resolve_directions
    from gan_explorer.core.latent.library import DirectionLibrary

    if not any(t not in ("psi", "keyframes") for _, t in mapping.pairs):
        return {}
    return resolve_directions(mapping, DirectionLibrary(content_hash, context.model.w_dim))


@dataclass(frozen=True)
class PlanSoundAnimation(Job):
    """The ws of every frame of a sound-driven walk -> AnimationPlan."""

    path: str = ""
    mapping: str = ""
    fps: float = 24.0
    smoothing: float = 0.6
    state: LatentState = field(default_factory=LatentState)
    keyframes: tuple = ()
    content_hash: str = ""

    def run(self, context) -> AnimationPlan:
        from gan_explorer.core.animation.animate import parse_mapping, sound_path_ws
        from gan_explorer.core.animation.audio import read_sound, sound_features

        mapping = parse_mapping(self.mapping)
        sound = read_sound(self.path)
        context.check()
        features = sound_features(sound, self.fps, self.smoothing)
        ws = sound_path_ws(context.model, self.state, features, mapping, _directions(context, mapping, self.content_hash),
                           list(self.keyframes))
        return AnimationPlan(ws.cpu().numpy(), self.fps, mapping.as_text(), sound.seconds)


@dataclass(frozen=True)
class PlanLoop(Job):
    space: str = "w"
    seconds: float = 8.0
    fps: float = 24.0
    state: LatentState = field(default_factory=LatentState)
    keyframes: tuple = ()

    def run(self, context) -> AnimationPlan:
        from gan_explorer.core.animation.audio import frame_count
        from gan_explorer.core.animation.loops import loop_ws

        ws = loop_ws(context.model, self.state, self.space, frame_count(self.seconds, self.fps), list(self.keyframes))
        return AnimationPlan(ws.cpu().numpy(), self.fps, f"loop {self.space}", self.seconds)


def frame_state(state: LatentState, ws: np.ndarray) -> LatentState:
    """`state` showing explicit `ws`: its noise and in-synthesis edits stay, its W edits are in ws."""
    from gan_explorer.core.explorer.latent import ws_tuple

    return replace(state, ws=ws_tuple(ws), w_offsets=(), z_edits=(), mix_seed=-1, mix_layers=())


@dataclass(frozen=True)
class RenderPlanFrame(Job):
    state: LatentState = field(default_factory=LatentState)

    def run(self, context) -> np.ndarray:
        from gan_explorer.core.explorer.jobs import render_states

        (image,), _ = render_states(context, [self.state])
        return image


@dataclass(frozen=True)
class ExportAnimation(Job):
    """Every frame of `plan` rendered and encoded; a sound-driven plan carries its sound -> Exported."""

    path: str = ""
    plan: AnimationPlan | None = None
    state: LatentState = field(default_factory=LatentState)
    sound_path: str = ""
    metadata: dict | None = None
    size: int | None = None

    def run(self, context) -> Exported:
        import tempfile

        import torch

        from gan_explorer.core.animation.animate import render_frames
        from gan_explorer.core.animation.audio import read_sound, write_wav
        from gan_explorer.core.io.video import export_frames

        ws = torch.from_numpy(self.plan.ws)
        count = len(ws)
        stopped = []

        def should_stop():
            try:
                context.check()
            except Cancelled:
                stopped.append(True)
                return True
            return False

        def frames():
            for i, image in enumerate(render_frames(context.model, ws, self.state, batch=4, should_stop=should_stop)):
                context.progress(i + 1, count, preview=image)
                yield image
            if stopped:  # the encoder must not finish a file of the frames so far
                raise KeyboardInterrupt

        with tempfile.TemporaryDirectory(prefix="gan-explorer-sound-") as folder:
            audio = None
            if self.sound_path and Path(self.path).suffix.lower() == ".mp4":
                audio = Path(folder) / "sound.wav"
                write_wav(read_sound(self.sound_path), audio)
            try:
                export_frames(frames(), self.path, fps=self.plan.fps, count=count, size=self.size,
                              should_stop=lambda: bool(stopped), metadata=self.metadata, audio=audio)
            except (KeyboardInterrupt, GanExplorerError):
                if stopped:
                    raise Cancelled() from None
                raise
        if stopped:
            raise Cancelled()
        return Exported(str(self.path), count)


class AnimationModel:
    """The Animate tab's model: a sound (or a loop), its plan, previews and the export."""

    def __init__(self, viewer, latent, keyframes):
        self.viewer, self.latent, self.keyframes = viewer, latent, keyframes
        self.events = EventGroup("sound_opened", "planned", "message")
        self.sound: SoundSummary | None = None
        self.plan: AnimationPlan | None = None
        self._preview = None
        self.exporting = None       # the running export's handle
        viewer.events.model_opened.connect(lambda _info: self._forget_plan())

    def _forget_plan(self):
        self.plan = None

    def _keyframe_states(self) -> tuple:
        return tuple(self.keyframes.states())

    def open_sound(self, path, fps: float = 24.0):
        handle = self.viewer.submit(OpenSound(str(path), float(fps)))

        def done(h):
            if h.ok:
                self.sound, self.plan = h.result, None
                self.events.sound_opened.emit(h.result)
        return handle.on_done(done)

    def plan_sound(self, mapping: str, fps: float = 24.0, smoothing: float = 0.6):
        if self.sound is None:
            self.events.message.emit("Open a sound first")
            return None
        info = self.viewer.info
        job = PlanSoundAnimation(self.sound.path, mapping, float(fps), float(smoothing), self.latent.state,
                                 self._keyframe_states(), info.content_hash if info else "")
        return self.viewer.submit(job).on_done(self._planned)

    def plan_loop(self, space: str, seconds: float, fps: float = 24.0):
        job = PlanLoop(space, float(seconds), float(fps), self.latent.state, self._keyframe_states())
        return self.viewer.submit(job).on_done(self._planned)

    def _planned(self, handle):
        if handle.ok:
            self.plan = handle.result
            self.events.planned.emit(handle.result)

    def frame_count(self) -> int:
        return 0 if self.plan is None else len(self.plan.ws)

    def preview_at(self, seconds: float):
        """Show the planned frame at `seconds` (the latest asked wins)."""
        if self.plan is None or not len(self.plan.ws):
            return None
        index = int(np.clip(int(seconds * self.plan.fps), 0, len(self.plan.ws) - 1))
        if self._preview is not None and not self._preview.finished:
            self._preview.cancel()
        handle = self.viewer.submit(RenderPlanFrame(frame_state(self.latent.state, self.plan.ws[index])))
        self._preview = handle
        return handle.on_done(lambda h: self.viewer.show_frame(h.result) if h.ok else None)

    def export(self, path, size: int | None = None):
        """Render and encode the plan to `path` (.mp4 with the sound, .gif, or a folder of PNGs)."""
        if self.plan is None:
            self.events.message.emit("Plan the animation first (Preview)")
            return None
        from gan_explorer.core.explorer.provenance import export_metadata

        info = self.viewer.info
        sound = self.sound.path if self.sound is not None and not self.plan.mapping.startswith("loop") else ""
        animation = {"map": self.plan.mapping, "fps": self.plan.fps, "frames": len(self.plan.ws),
                     "seconds": self.plan.seconds}
        if sound:
            animation["audio"] = Path(sound).name
        metadata = export_metadata(Path(info.path).name if info else "", info.content_hash if info else "",
                                   self.latent.state, None, command="window: animate", animation=animation)
        job = ExportAnimation(str(path), self.plan, self.latent.state, sound, metadata, size)

        def track(handle):  # known from the moment it starts (a synchronous session runs it in submit)
            if handle.job is job:
                self.exporting = handle
        self.viewer.events.job_started.connect(track)
        try:
            return self.viewer.submit(job)
        finally:
            self.viewer.events.job_started.disconnect(track)

    def cancel_export(self):
        if self.exporting is not None and not self.exporting.finished:
            self.exporting.cancel()
