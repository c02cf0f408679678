"""Drives a GanLab on a thread of its own, so a window never waits on torch (Qt-free).

Commands (play, pause, one D step, one G step, reset, speed) go into a queue the worker drains
between iterations; after each command or each batch of `speed` iterations while playing, the
worker builds a LabFrame and hands it to `on_frame` (called on the worker thread: a GUI forwards
it through a queued signal). The next batch waits until the consumer calls `frame_shown()` (or a
second has passed), so frames never pile up faster than they are drawn. With `sync=True` there is
no thread: every command runs at once in the caller and `advance()` runs one playing batch, for
deterministic tests.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

import torch

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.lab2d.config import LabConfig
from gan_explorer.core.lab2d.distributions import VIEW_EXTENT
from gan_explorer.core.lab2d.lab import GanLab, LabFrame

log = logging.getLogger(__name__)

ACK_TIMEOUT_S = 1.0  # a frame the consumer never acknowledges stalls playing for at most this long
COVERAGE_EVERY_S = 0.5  # while playing, mode coverage (2000 points through G) is measured this often


class LabRunner:
    def __init__(self, on_frame, config: LabConfig = LabConfig(), drawn_points=None, sync: bool = False,
                 on_error=None, speed: int = 5):
        self.on_frame = on_frame      # on_frame(LabFrame), called on the worker thread
        self.on_error = on_error      # on_error(one-line str); playing stops after an error
        self.sync = sync
        self.speed = max(1, int(speed))
        self.extent = VIEW_EXTENT     # the part of the plane the view shows (D's heat map covers it)
        self.lab = GanLab(config, drawn_points)
        self._playing = False
        self._commands: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._acked = True
        self._sent_at = 0.0
        self._closed = False
        self._coverage_time = 0.0
        self.frames_sent = 0
        self._thread = None
        if not sync:
            self._thread = threading.Thread(target=self._run, name="gan-lab", daemon=True)
            self._thread.start()

    @property
    def playing(self) -> bool:
        return self._playing

    # Commands (any thread).
    def play(self):
        self._submit(("play",))

    def pause(self):
        self._submit(("pause",))

    def step_d(self):
        self._submit(("d",))

    def step_g(self):
        self._submit(("g",))

    def reset(self, config: LabConfig | None = None, drawn_points=None):
        """New networks (with a new config and drawing if given); playing stays as it was."""
        self._submit(("reset", config, drawn_points))

    def set_speed(self, iterations_per_frame: int):
        self.speed = max(1, int(iterations_per_frame))

    def set_extent(self, extent):
        """The view now shows (xmin, xmax, ymin, ymax): later frames compute D's field there."""
        self.extent = tuple(float(v) for v in extent)

    def request_frame(self):
        self._submit(("frame",))

    def frame_shown(self):
        """The consumer drew the last frame: the next playing batch may start."""
        with self._cv:
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
        if self._playing:
            self._tick()

    # The worker.
    def _submit(self, command):
        if self.sync:
            self._apply(command)
            self._emit()
            return
        with self._cv:
            if self._closed:
                return
            self._commands.append(command)
            self._cv.notify_all()

    def _run(self):
        # The lab's MLPs are tiny: one intra-op thread is faster than two that spin against each other
        # (12x slower on a busy 2-core machine), and OpenMP keeps this setting per thread.
        torch.set_num_threads(1)
        while True:
            with self._cv:
                while not self._closed and not self._commands and not self._playing:
                    self._cv.wait(0.1)
                if self._closed:
                    return
                commands = list(self._commands)
                self._commands.clear()
            try:
                if commands:
                    for command in commands:
                        self._apply(command)
                    self._emit()
                elif self._playing:
                    self._tick()
            except Exception as exc:  # never let the thread die silently
                self._fail(exc)

    def _apply(self, command):
        kind = command[0]
        try:
            if kind == "play":
                self._playing = True
            elif kind == "pause":
                self._playing = False
            elif kind == "d":
                self._playing = False
                self.lab.d_step()
            elif kind == "g":
                self._playing = False
                self.lab.g_step()
            elif kind == "reset":
                config = command[1] or self.lab.config
                drawn = command[2] if command[2] is not None else self.lab.drawn_points
                self.lab = GanLab(config, drawn)
        except GanExplorerError as exc:
            self._fail(exc)

    def _tick(self):
        # Trains the next batch while the consumer still draws the last frame (two cores overlap),
        # but never sends a frame before the last one was shown.
        try:
            for _ in range(self.speed):
                self.lab.step()
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
        now = time.monotonic()
        measure = not self._playing or self.sync or now - self._coverage_time >= COVERAGE_EVERY_S
        if measure:
            self._coverage_time = now
        frame: LabFrame = self.lab.frame(self.extent, measure_coverage=measure)
        self._wait_until_shown()
        with self._cv:
            if self._closed:
                return
            self._acked = self.sync
            self._sent_at = time.monotonic()
        self.frames_sent += 1
        self.on_frame(frame)

    def _fail(self, exc: Exception):
        self._playing = False
        if not isinstance(exc, GanExplorerError):
            log.exception("GAN lab worker failed")
        message = str(exc) if isinstance(exc, GanExplorerError) else f"{type(exc).__name__}: {exc}"
        if self.on_error is not None:
            self.on_error(message)
