"""The run directory: the protocol between a training process and whoever watches it.

  options.json          the resolved TrainingOptions
  stats.jsonl           one JSON line per tick (hierarchical keys, timestamp)
  events.jsonl          started, resumed, snapshot, nan, rollback, paused, error, finished, aborted
  samples-KKKKKK.png    a sample grid from fixed seeds at each snapshot
  network-snapshot-KKKKKK.safetensors   the model, openable by `gan-explorer generate`
                        (KKKKKK: whole kimg, as NVIDIA's; KKKKKK.KKK when snapshots come
                        less than 1 kimg apart, so that they do not overwrite each other)
  training-state.pt     everything needed to resume (torch.load(weights_only=True))
  control/stop, control/pause   files the loop polls

Files are replaced atomically; jsonl lines are appended with one write each, so a reader
that skips a last line without a newline never sees half a record.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from pathlib import Path

import torch

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.io.atomic import atomic_path, atomic_write_text

LOCK_PATIENCE_S = 1.0  # how long a starting trainer waits out a monitor's momentary probe


def kimg_tag(kimg: float, fine: bool = False) -> str:
    """'000005' for 5.04 kimg (NVIDIA's naming); '000000.512' with `fine` (sub-kimg snapshots)."""
    nimg = int(round(kimg * 1000))
    return f"{nimg // 1000:06d}.{nimg % 1000:03d}" if fine else f"{nimg // 1000:06d}"


def kimg_of(path: Path) -> float:
    """The kimg in a snapshot or sample file name (names sort wrongly as text once both kinds exist)."""
    tag = path.name.rsplit("-", 1)[-1].split(".")
    try:
        return float(f"{tag[0]}.{tag[1]}" if len(tag) > 2 else tag[0])
    except ValueError:
        return -1.0


class RunDirectoryBusy(GanExplorerError):
    pass


class RunDirectory:
    def __init__(self, path: str | os.PathLike, writer: bool = True):
        self.path = Path(path)
        self.writer = writer  # only rank 0 writes
        self._lock_file = None

    # Paths.
    options_path = property(lambda self: self.path / "options.json")
    stats_path = property(lambda self: self.path / "stats.jsonl")
    events_path = property(lambda self: self.path / "events.jsonl")
    state_path = property(lambda self: self.path / "training-state.pt")
    control_path = property(lambda self: self.path / "control")
    log_path = property(lambda self: self.path / "log.txt")

    def snapshot_path(self, kimg: float, fine: bool = False) -> Path:
        return self.path / f"network-snapshot-{kimg_tag(kimg, fine)}.safetensors"

    def samples_path(self, kimg: float, fine: bool = False) -> Path:
        return self.path / f"samples-{kimg_tag(kimg, fine)}.png"

    def snapshots(self) -> list[Path]:
        return sorted(self.path.glob("network-snapshot-*.safetensors"), key=kimg_of)

    def samples(self) -> list[Path]:
        return sorted(self.path.glob("samples-*.png"), key=kimg_of)

    def latest_snapshot(self) -> Path | None:
        snapshots = self.snapshots()
        return snapshots[-1] if snapshots else None

    # Lifecycle.
    def acquire(self):
        """Create the directory and take an exclusive lock: one training process per run."""
        if not self.writer:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self.control_path.mkdir(exist_ok=True)
        # Append mode: a process that fails to get the lock must not erase the holder's PID.
        self._lock_file = open(self.path / ".lock", "a+")
        # A monitor's run_is_active() holds a shared lock for an instant: retry briefly before
        # concluding that another trainer owns the run.
        deadline = time.monotonic() + LOCK_PATIENCE_S
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                self._lock_file.close()
                self._lock_file = None
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise RunDirectoryBusy(f"{self.path}: another process is training in this run directory") from None
                raise
        self._lock_file.truncate(0)
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()
        # A process killed mid-write leaves its hidden temp file (never the real one): tidy up.
        for stale in self.path.glob(".*.tmp*"):
            try:
                stale.unlink()
            except OSError:
                pass

    def release(self):
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def has_state(self) -> bool:
        return self.state_path.is_file()

    # Writes (no-ops on ranks other than 0).
    def write_options(self, text: str):
        if self.writer:
            atomic_write_text(self.options_path, text)

    def _append(self, path: Path, record: dict):
        if not self.writer:
            return
        line = (json.dumps(record, sort_keys=True, allow_nan=True) + "\n").encode()
        with open(path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def append_stats(self, record: dict):
        self._append(self.stats_path, {**record, "timestamp": time.time()})

    def event(self, kind: str, **data):
        self._append(self.events_path, {"event": kind, "timestamp": time.time(), **data})

    def truncate_stats(self, last_tick: int):
        """Keep stats lines up to `last_tick`: ticks written after the saved state are redone."""
        if not self.writer or not self.stats_path.exists():
            return
        kept = [r for r in read_jsonl(self.stats_path) if r.get("Progress/tick", 0) <= last_tick]
        atomic_write_text(self.stats_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))

    def save_state(self, state: dict):
        if self.writer:
            with atomic_path(self.state_path) as tmp:
                torch.save(state, tmp)

    def load_state(self) -> dict:
        try:
            return torch.load(self.state_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise GanExplorerError(f"{self.state_path}: cannot read the training state ({exc})") from None

    # Control files.
    def stop_requested(self) -> bool:
        return (self.control_path / "stop").exists()

    def pause_requested(self) -> bool:
        return (self.control_path / "pause").exists()

    def clear_stop(self):
        if self.writer:
            try:
                (self.control_path / "stop").unlink()
            except FileNotFoundError:
                pass

    def request_stop(self):
        self.control_path.mkdir(parents=True, exist_ok=True)
        (self.control_path / "stop").touch()

    def set_paused(self, paused: bool):
        self.control_path.mkdir(parents=True, exist_ok=True)
        pause = self.control_path / "pause"
        if paused:
            pause.touch()
        elif pause.exists():
            pause.unlink()


def read_jsonl(path: str | os.PathLike, offset: int = 0) -> list[dict]:
    """Complete records from byte `offset`; a last line without its newline is left for later."""
    records, _ = tail_jsonl(path, offset)
    return records


def tail_jsonl(path: str | os.PathLike, offset: int = 0) -> tuple[list[dict], int]:
    """(records, new_offset): the complete lines after `offset`, and where the next read starts."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = []
    for line in data[:end].splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a damaged line (e.g. a disk that filled up mid-write) is skipped
    return records, offset + end
