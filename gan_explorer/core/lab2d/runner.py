"""Drives a GanLab on a thread of its own, so a window never waits on torch (Qt-free).

The same machinery as the explorer's session, on a runner of its own:
  - Commands are typed (frozen dataclasses: Play, Pause, StepD, StepG, ShowFrame, SetSpeed,
    SetExtent, Reset) and go into a queue the worker drains between iterations.
  - Every lab configuration has a token: `reset()` takes the next one at once, in the caller,
    and every LabFrame and LabError carries the token of the lab it was made from. A frame of a
    lab that was reset since is never sent; one already on its way (in a GUI's event queue) is
    recognised by `is_current()` and dropped by the consumer, so a frame from before a Reset is
    never drawn.
  - A playing batch is cancelled (core.errors.Cancelled, through GanLab.train's should_stop) as
    soon as a Reset, Pause or step is queued or the runner closes: a reset at 50 iterations per
    frame does not wait for the batch.
After each command or each batch of `speed` iterations while playing, the worker builds a LabFrame
and hands it to `on_frame` (called on the worker thread: a GUI forwards it through a queued
signal). The next batch waits until the consumer calls `frame_shown()` (or a second has passed),
so frames never pile up faster than they are drawn. With `sync=True` there is no thread: every
command runs at once in the caller and `advance()` runs one playing batch, for deterministic tests.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.errors import Cancelled, ConfigError, GanExplorerError
from gan_explorer.core.lab2d.config import LabConfig
from gan_explorer.core.lab2d.distributions import VIEW_EXTENT, make_distribution
from gan_explorer.core.lab2d.lab import GanLab, LabFrame

log = logging.getLogger(__name__)

ACK_TIMEOUT_S = 1.0  # a frame the consumer never acknowledges stalls playing for at most this long
COVERAGE_EVERY_S = 0.5  # while playing, mode coverage (2000 points through G) is measured this often


# Commands ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Play:
    """Train `speed` iterations per frame until paused."""


@dataclass(frozen=True)
class Pause:
    """Stop playing after the current batch (which is cancelled)."""


@dataclass(frozen=True)
class StepD:
    """One discriminator (critic) update, then pause."""


@dataclass(frozen=True)
class StepG:
    """One generator update, then pause."""


@dataclass(frozen=True)
class ShowFrame:
    """A frame of the lab as it is (at start, after the view moved)."""


@dataclass(frozen=True)
class SetSpeed:
    iterations: int  # iterations per frame while playing (>= 1)


@dataclass(frozen=True)
class SetExtent:
    extent: tuple  # (xmin, xmax, ymin, ymax): the part of the plane the view shows (D's field covers it)


@dataclass(frozen=True, eq=False)
class Reset:
    """New networks for `config` and `drawn_points`, under `token`; config None: no lab (its
    settings were refused), so nothing is drawn until the next good Reset."""

    token: int
    config: LabConfig | None
    drawn_points: np.ndarray | None = None


LabCommand = Play | Pause | StepD | StepG | ShowFrame | SetSpeed | SetExtent | Reset
DRAWING_COMMANDS = (Play, Pause, StepD, StepG, ShowFrame, Reset)  # each is answered by a frame
INTERRUPTING = (Pause, StepD, StepG, Reset)  # each cancels a playing batch


@dataclass(frozen=True)
class LabError:
    """A one-line error of the lab made under `token` (playing stops)."""

    token: int
    message: str


def check_lab(config: LabConfig, drawn_points=None) -> LabConfig:
    """The resolved config, or the one-line ConfigError a GanLab would raise: cheap (no torch), so
    a caller learns at once that settings are refused."""
    config = config.resolved()
    make_distribution(config.dataset, drawn_points if config.dataset == "drawn" else None)
    return config


class LabRunner:
    def __init__(self, on_frame, config: LabConfig | None = LabConfig(), drawn_points=None, sync: bool = False,
                 on_error=None, speed: int = 5):
        self.on_frame = on_frame      # on_frame(LabFrame), called on the worker thread
        self.on_error = on_error      # on_error(LabError); playing stops after an error
        self.sync = sync
        self.speed = max(1, int(speed))
        self.extent = VIEW_EXTENT     # the part of the plane the view shows
        self.token = 0                # the token of the newest Reset asked for (caller side)
        self.config: LabConfig | None = None  # the newest accepted settings (caller side)
        self.drawn_points = None
        self.lab: GanLab | None = None  # worker side: the lab of `lab_token`
        self.lab_token = 0
        self._playing = False
        self._commands: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._acked = True
        self._sent_at = 0.0
        self._sent_token = 0
        self._closed = False
        self._coverage_time = 0.0
        self.frames_sent = 0
        self.frames_dropped = 0       # frames of a lab reset since, never sent
        if config is not None:
            check_lab(config, drawn_points)  # refused settings raise here, before a thread exists
        self._thread = None
        if not sync:
            self._thread = threading.Thread(target=self._run, name="gan-lab", daemon=True)
            self._thread.start()
        if config is not None:
            self.reset(config, drawn_points)

    @property
    def playing(self) -> bool:
        return self._playing

    def is_current(self, item: LabFrame | LabError) -> bool:
        """True for a frame or error of the newest lab asked for: anything else is from before a reset."""
        return item.token == self.token

    # Commands (any thread).
    def submit(self, command: LabCommand):
        if not isinstance(command, DRAWING_COMMANDS + (SetSpeed, SetExtent)):
            raise TypeError(f"not a lab command: {command!r}")
        if self.sync:
            self._apply(command)
            if isinstance(command, DRAWING_COMMANDS):
                self._emit()
            return
        with self._cv:
            if self._closed:
                return
            self._commands.append(command)
            self._cv.notify_all()

    def play(self):
        self.submit(Play())

    def pause(self):
        self.submit(Pause())

    def step_d(self):
        self.submit(StepD())

    def step_g(self):
        self.submit(StepG())

    def request_frame(self):
        self.submit(ShowFrame())

    def set_speed(self, iterations_per_frame: int):
        self.speed = max(1, int(iterations_per_frame))
        self.submit(SetSpeed(self.speed))

    def set_extent(self, extent):
        """The view now shows (xmin, xmax, ymin, ymax): later frames compute D's field there."""
        self.extent = tuple(float(v) for v in extent)
        self.submit(SetExtent(self.extent))

    def reset(self, config: LabConfig | None = None, drawn_points=None) -> int:
        """New networks (with a new config and drawing if given); playing stays as it was. Returns
        the new lab's token: from now on only its frames are current. Settings that are refused
        (a drawing of fewer than 3 points, ...) raise their one-line ConfigError after clearing
        the lab: the old lab's frames are stale all the same."""
        config = config if config is not None else self.config
        drawn = drawn_points if drawn_points is not None else self.drawn_points
        with self._cv:
            self.token += 1
            token = self.token
        if config is None:
            self.submit(Reset(token, None))
            raise ConfigError("the lab has no settings yet")
        try:
            check_lab(config, drawn)
        except GanExplorerError:
            self.submit(Reset(token, None))
            raise
        self.config = config
        self.drawn_points = None if drawn is None else np.array(drawn, np.float32)
        self.submit(Reset(token, config, self.drawn_points))
        return token

    def frame_shown(self, token: int | None = None):
        """The consumer drew (or dropped) the last frame it got: the next playing batch may start.
        With a token, only a frame of that token is acknowledged (a stale frame's late answer does
        not acknowledge a newer frame)."""
        with self._cv:
            if token is None or token == self._sent_token:
                self._acked = True
                self._cv.notify_all()

    def close(self, timeout: float = 5.0):
        with self._cv:
            self._closed = True
            self._playing = False
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def advance(self):
        """Sync mode: one playing batch and its frame (what the thread does by itself)."""
        if self._playing and self.lab is not None:
            self._tick()

    # The worker.
    def _run(self):
        # The lab's MLPs are tiny: one intra-op thread is faster than two that spin against each other
        # (12x slower on a busy 2-core machine), and OpenMP keeps this setting per thread.
        torch.set_num_threads(1)
        while True:
            with self._cv:
                while not self._closed and not self._commands and not (self._playing and self.lab is not None):
                    self._cv.wait(0.1)
                if self._closed:
                    return
                commands = list(self._commands)
                self._commands.clear()
            try:
                if commands:
                    for command in commands:
                        self._apply(command)
                    if any(isinstance(c, DRAWING_COMMANDS) for c in commands):
                        self._emit()
                elif self._playing:
                    self._tick()
            except Exception as exc:  # never let the thread die silently
                self._fail(exc)

    def _interrupted(self) -> bool:
        """A playing batch stops here: the runner closes, or a reset, pause or step is waiting."""
        with self._cv:
            return self._closed or any(isinstance(c, INTERRUPTING) for c in self._commands)

    def _apply(self, command: LabCommand):
        try:
            if isinstance(command, Reset):
                self.lab, self.lab_token = None, command.token  # an error building it carries its token
                if command.config is not None:
                    self.lab = GanLab(command.config, command.drawn_points)
            elif isinstance(command, Play):
                self._playing = True
            elif isinstance(command, Pause):
                self._playing = False
            elif isinstance(command, SetSpeed):
                self.speed = command.iterations
            elif isinstance(command, SetExtent):
                self.extent = command.extent
            elif isinstance(command, (StepD, StepG)):
                self._playing = False
                if self.lab is not None:
                    self.lab.d_step() if isinstance(command, StepD) else self.lab.g_step()
        except GanExplorerError as exc:
            self._fail(exc)

    def _tick(self):
        # Trains the next batch while the consumer still draws the last frame (two cores overlap),
        # but never sends a frame before the last one was shown.
        try:
            self.lab.train(self.speed, should_stop=None if self.sync else self._interrupted)
        except Cancelled:
            return  # the waiting command comes first; its frame follows
        except GanExplorerError as exc:
            self._fail(exc)
        self._emit()

    def _wait_until_shown(self):
        with self._cv:
            while not self._acked and not self._closed:
                if time.monotonic() - self._sent_at > ACK_TIMEOUT_S:
                    break
                self._cv.wait(0.05)

    def _emit(self):
        if self.lab is None:
            return
        now = time.monotonic()
        measure = not self._playing or self.sync or now - self._coverage_time >= COVERAGE_EVERY_S
        if measure:
            self._coverage_time = now
        frame = dataclasses.replace(self.lab.frame(self.extent, measure_coverage=measure), token=self.lab_token)
        self._wait_until_shown()
        with self._cv:
            if self._closed:
                return
            if frame.token != self.token:  # reset since it was made: never sent
                self.frames_dropped += 1
                return
            self._acked = self.sync
            self._sent_at = time.monotonic()
            self._sent_token = frame.token
        self.frames_sent += 1
        self.on_frame(frame)

    def _fail(self, exc: Exception):
        self._playing = False
        if not isinstance(exc, GanExplorerError):
            log.exception("GAN lab worker failed")
        message = str(exc) if isinstance(exc, GanExplorerError) else f"{type(exc).__name__}: {exc}"
        if self.on_error is not None:
            self.on_error(LabError(self.lab_token, message))
