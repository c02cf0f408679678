"""A handle on one submitted job: its progress, its outcome, and a way to cancel it.

`session.submit(job, token)` returns a JobHandle at once; the caller attaches what happens next
(napari's `slice_layers_async` returns a future the same way):

    handle = session.submit(FindDirections(method="pca"), token)
    handle.on_progress(bar.update)
    handle.on_done(lambda h: show(h.result) if h.ok else say(h.error))

Callbacks run where the session delivers its events (the GUI thread behind the Qt bridge, the
caller's thread in a synchronous session). A done callback attached after the job ended runs at
once. A synchronous session has run the job before `submit` returns, so its handles keep every
progress report and replay them to a progress callback attached later: the same callbacks see
the same reports in both modes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobProgress:
    done: int
    total: int
    message: str = ""
    preview: np.ndarray | None = None  # an image to show while the job runs (e.g. the latest frame)


class JobHandle:
    """What the submitter holds while a job runs and after; see the module docstring."""

    def __init__(self, job_id: int, job, model_token: int, keep_progress: bool = False):
        self.id = job_id
        self.job = job
        self.model_token = model_token
        self.result: Any = None        # the job's typed result once it succeeded
        self.error: str | None = None  # one line for the user when it failed
        self.traceback: str = ""
        self.cancelled = False
        self.finished = False
        self.last_progress: JobProgress | None = None
        self._kept: list[JobProgress] | None = [] if keep_progress else None
        self._cancel_requested = threading.Event()
        self._lock = threading.Lock()
        self._on_progress: list[Callable[[JobProgress], None]] = []
        self._on_done: list[Callable[["JobHandle"], None]] = []

    # --- the caller's side --------------------------------------------------------------------
    def on_progress(self, callback: Callable[[JobProgress], None]) -> "JobHandle":
        with self._lock:
            self._on_progress.append(callback)
            kept = list(self._kept or ())
        for progress in kept:
            _call(callback, progress)
        return self

    def on_done(self, callback: Callable[["JobHandle"], None]) -> "JobHandle":
        """`callback(handle)` once the job succeeded, failed or was cancelled."""
        with self._lock:
            if not self.finished:
                self._on_done.append(callback)
                return self
        _call(callback, self)
        return self

    def cancel(self):
        """Ask the job to stop at its next check; its done callbacks still run (cancelled=True)."""
        self._cancel_requested.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    @property
    def ok(self) -> bool:
        return self.finished and not self.cancelled and self.error is None

    @property
    def running(self) -> bool:
        return not self.finished

    # --- the session's side (called where events are delivered) ------------------------------
    def report_progress(self, progress: JobProgress):
        if self.finished:
            return
        self.last_progress = progress
        if self._kept is not None:
            self._kept.append(progress)
        for callback in list(self._on_progress):
            _call(callback, progress)

    def finish(self, result=None, error: str | None = None, traceback: str = "", cancelled: bool = False):
        with self._lock:
            if self.finished:
                return
            self.result, self.error, self.traceback, self.cancelled = result, error, traceback, cancelled
            self.finished = True
            callbacks, self._on_done = self._on_done, []
        for callback in callbacks:
            _call(callback, self)

    def __repr__(self):
        state = "running" if not self.finished else "cancelled" if self.cancelled else "failed" if self.error else "done"
        return f"JobHandle({self.id}, {type(self.job).__name__}, {state})"


def _call(callback, value):
    try:
        callback(value)
    except Exception:  # one broken listener must not stop the others or the session
        log.exception("job callback %r failed", callback)
