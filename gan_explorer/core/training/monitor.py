"""Watching a run directory from outside (the GUI, a terminal): no Qt, no torch.

Reads stats.jsonl and events.jsonl from byte offsets (a half-written last line waits for
the next poll), finds the newest sample grid and snapshot, and tells whether a process is
still training in the directory (it holds the lock).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from gan_explorer.core.training.run_dir import RunDirectory, tail_jsonl

ENDING_EVENTS = ("finished", "aborted", "error")


def run_is_active(path) -> bool:
    """True while a training process holds the run directory's lock."""
    lock = Path(path) / ".lock"
    if not lock.exists():
        return False
    with open(lock, "a") as f:
        try:
            # Shared: monitors never block each other; a trainer starting meanwhile retries.
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


class RunReader:
    def __init__(self, path: str | os.PathLike):
        self.run = RunDirectory(path, writer=False)
        self.path = self.run.path
        self.stats: list[dict] = []
        self.events: list[dict] = []
        self._stats_offset = 0
        self._events_offset = 0
        self.metrics: list[dict] = []  # metrics.jsonl lines (quality measured at snapshots)
        self._metrics_offset = 0

    def poll(self) -> tuple[list[dict], list[dict]]:
        """New (stats, events) since the last poll. A stats file rewritten shorter (a resumed
        run drops ticks it will redo) is read again from the start."""
        try:
            size = self.run.stats_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._stats_offset:
            self.stats, self._stats_offset = [], 0
            stats, self._stats_offset = tail_jsonl(self.run.stats_path, 0)
            self.stats.extend(stats)
            stats = list(self.stats)
        else:
            stats, self._stats_offset = tail_jsonl(self.run.stats_path, self._stats_offset)
            self.stats.extend(stats)
        events, self._events_offset = tail_jsonl(self.run.events_path, self._events_offset)
        self.events.extend(events)
        return stats, events

    def poll_metrics(self) -> list[dict]:
        """New lines of metrics.jsonl (written when snapshots are evaluated: `train --metrics`,
        `gan-explorer metrics --run-dir`), each with `Progress/kimg` and `Metrics/*` values."""
        lines, self._metrics_offset = tail_jsonl(self.path / "metrics.jsonl", self._metrics_offset)
        self.metrics.extend(lines)
        return lines

    def growth(self) -> dict | None:
        """Where a progressive (pggan) run stands at its last tick: {'resolution': px, 'alpha':
        fade-in 0..1, 'phase': 'fade-in' or 'stable'}; None for a run that does not grow."""
        for record in reversed(self.stats):
            if "Progress/resolution" in record:
                return {"resolution": int(record["Progress/resolution"]),
                        "alpha": float(record.get("Progress/alpha", 1.0)),
                        "phase": str(record.get("Progress/phase", ""))}
        return None

    def latest_samples(self) -> Path | None:
        samples = self.run.samples()
        return samples[-1] if samples else None

    def latest_snapshot(self) -> Path | None:
        return self.run.latest_snapshot()

    def status(self) -> str:
        """running, paused, finished, aborted, error, or stopped (killed / not started)."""
        if run_is_active(self.path):
            return "paused" if self.run.pause_requested() else "running"
        for event in reversed(self.events):
            if event.get("event") in ENDING_EVENTS:
                return event["event"]
        return "stopped"

    def last_error(self) -> str | None:
        for event in reversed(self.events):
            if event.get("event") == "error":
                return event.get("message")
        return None

    def options(self) -> dict:
        import json

        try:
            return json.loads(self.run.options_path.read_text())
        except (OSError, ValueError):
            return {}
