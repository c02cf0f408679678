"""The run directory: the protocol between a training process and whoever watches it.

  options.json          the resolved TrainingOptions (load_run_options reads them back)
  stats.jsonl           one JSON line per tick (hierarchical keys, timestamp)
  events.jsonl          started, resumed, snapshot, nan, rollback, paused, error, finished, aborted
  samples-KKKKKK.png    a sample grid from fixed seeds at each snapshot
  network-snapshot-KKKKKK.safetensors   the model, openable by `gan-explorer generate`
                        (KKKKKK: whole kimg, as NVIDIA's; KKKKKK.KKK when snapshots come
                        less than 1 kimg apart, so that they do not overwrite each other)
  training-state.pt     everything needed to resume (torch.load(weights_only=True)), with a
                        sha256 of its contents inside: a state whose bytes changed is refused
  training-state-prev.pt  the state before it: a resume falls back to it when the newest is
                        corrupt (and says so)
  control/stop, control/pause   files the loop polls (Stop and Pause in the window make them; so
                        may a user's `touch`): `control` must be a real folder of the run, never
                        a link (a trainer refuses to start, Stop and Pause refuse to write)

Files are replaced atomically; jsonl lines are appended with one write each, so a reader
that skips a last line without a newline never sees half a record, and a line cut short (a
kill or a full disk mid-write) is terminated before the next one is appended. Every write goes
through core/io/atomic.py: a link, a FIFO or a device where a file of the run goes is refused,
never written through, and the only files a trainer deletes are its own temporaries, by the
exact names they are given (never a user's `.notes.tmp`).

One trainer per directory: an exclusive flock on `.lock`. Worker processes forked by the
DataLoader close their copy of that descriptor at once, so a trainer killed with -9 frees the
directory immediately, not when its orphaned workers notice (up to 5 s later).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import re
import stat
import time
import zipfile
from pathlib import Path

import torch

from gan_explorer.core.errors import GanExplorerError, OutputError, escape_text
from gan_explorer.core.io.atomic import (
    append_line, atomic_write_bytes, atomic_write_text, create_marker, link_into_place, open_in_place, output_error,
    remove_stale_temporaries,
)
from gan_explorer.core.training.options import TrainingOptions

LOCK_PATIENCE_S = 1.0  # how long a starting trainer waits out a monitor's momentary probe
STATE_KEYS = ("trainer", "cur_nimg", "tick", "total_sec", "rollbacks", "rng")  # what a resume needs
CHECKSUM_KEY = "checksum"
# The files a trainer replaces atomically: the only names whose leftover temporaries it deletes.
OWN_FILES = re.compile(r"options\.json|stats\.jsonl|training-state(-prev)?\.pt|"
                       r"(network-snapshot-\d{6}(\.\d{3})?\.safetensors)|(samples-\d{6}(\.\d{3})?\.png)")

# Lock descriptors this process holds; a forked child (a DataLoader worker) closes its copies.
_HELD_LOCKS: set[int] = set()


def _close_locks_in_child():
    for fd in list(_HELD_LOCKS):
        try:
            os.close(fd)  # the child's reference only: the parent keeps its lock
        except OSError:
            pass
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_locks_in_child)


class StateError(GanExplorerError):
    """A training state that cannot be used (corrupt, foreign, incomplete)."""


def state_digest(state) -> str:
    """sha256 over a training state's contents (keys, numbers, tensor bytes), independent of how
    torch.save lays them out; stored inside the state and checked when it is loaded."""
    digest = hashlib.sha256()
    stack = [state]
    while stack:
        node = stack.pop()
        if isinstance(node, torch.Tensor):
            tensor = node.detach().cpu().contiguous()
            digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
            if tensor.numel():
                digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
        elif isinstance(node, dict):
            digest.update(f"D{len(node)}".encode())
            for key in sorted(node, key=repr):
                digest.update(f"K{key!r}".encode())
                stack.append(node[key])
        elif isinstance(node, (list, tuple)):
            digest.update(f"{'L' if isinstance(node, list) else 'U'}{len(node)}".encode())
            stack.extend(reversed(node))
        else:
            digest.update(f"V{type(node).__name__}:{node!r}".encode())
    return digest.hexdigest()


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
        self._lock_fd: int | None = None
        self._lock_pid: int | None = None
        self.state_warning: str | None = None  # set when load_state fell back to the previous state

    # Paths.
    options_path = property(lambda self: self.path / "options.json")
    stats_path = property(lambda self: self.path / "stats.jsonl")
    events_path = property(lambda self: self.path / "events.jsonl")
    state_path = property(lambda self: self.path / "training-state.pt")
    prev_state_path = property(lambda self: self.path / "training-state-prev.pt")
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
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.control_path.mkdir(exist_ok=True)
        except OSError as exc:
            if not (exc.errno == errno.EEXIST and os.path.lexists(self.control_path)):
                raise output_error(self.path, exc) from None
        self._control_folder()  # a link to a user's folder: refused before anything is written
        # Append mode: a process that fails to get the lock must not erase the holder's PID. Never
        # through a link, never a FIFO or a file with other names (it is truncated below).
        fd = open_in_place(self.path / ".lock")
        # A monitor's run_is_active() holds a shared lock for an instant: retry briefly before
        # concluding that another trainer owns the run.
        deadline = time.monotonic() + LOCK_PATIENCE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise RunDirectoryBusy(f"{self.path}: another process is training in this run directory "
                                           f"(pid {self._read_owner()})") from None
                raise
        self._lock_fd, self._lock_pid = fd, os.getpid()
        _HELD_LOCKS.add(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        # A process killed mid-write leaves its hidden temp file (never the real one): tidy up
        # those of the run's own files, by their exact names, and nothing else.
        remove_stale_temporaries(self.path, OWN_FILES.fullmatch)

    def _read_owner(self) -> str:
        try:
            return (self.path / ".lock").read_text().strip()[:20] or "unknown"
        except OSError:
            return "unknown"

    def release(self):
        if self._lock_fd is not None and self._lock_pid == os.getpid():
            _HELD_LOCKS.discard(self._lock_fd)
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._lock_fd)
        self._lock_fd = self._lock_pid = None

    def has_state(self) -> bool:
        return self.state_path.is_file() or self.prev_state_path.is_file()

    def has_history(self) -> bool:
        """Whether a run trained here: a `started` event, stats or snapshots (options.json alone is
        not, nor the events of a start that was killed or failed before its first state: the same
        command must be able to start it again)."""
        try:
            if self.stats_path.stat().st_size > 0:
                return True
        except OSError:
            pass
        try:
            if any(e.get("event") in ("started", "resumed") for e in read_jsonl(self.events_path)):
                return True
        except (OSError, ValueError):
            pass
        return bool(self.snapshots())

    def move_aside(self) -> Path:
        """Rename the whole directory to RUN.old-N (kept, never deleted) and start an empty one."""
        holding = self._lock_fd is not None
        for n in range(1, 10000):
            target = self.path.with_name(f"{self.path.name}.old-{n}")
            if not target.exists():
                break
        try:
            os.rename(self.path, target)
        except OSError as exc:
            raise GanExplorerError(f"{self.path}: cannot move the old run aside ({exc.strerror})") from None
        if holding:
            self.release()
            self.acquire()
        return target

    # Writes (no-ops on ranks other than 0).
    def write_options(self, text: str):
        if self.writer:
            atomic_write_text(self.options_path, text)

    def _append(self, path: Path, record: dict):
        if not self.writer:
            return
        append_line(path, (json.dumps(record, sort_keys=True, allow_nan=True) + "\n").encode())

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
        """Write the state with its checksum; the one it replaces becomes training-state-prev.pt."""
        if not self.writer:
            return
        buffer = io.BytesIO()
        torch.save({**state, CHECKSUM_KEY: state_digest(state)}, buffer)
        data = buffer.getvalue()
        if self.state_path.is_file():
            self._keep_previous()
        # Bytes serialised in memory, written by us: a full disk is one line with the size needed.
        atomic_write_bytes(self.state_path, data)

    def _keep_previous(self):
        """training-state.pt -> training-state-prev.pt, atomically, while the current one stays
        in place (a hard link, or a copy where links are not supported)."""
        try:
            link_into_place(self.state_path, self.prev_state_path)
        except OSError:
            atomic_write_bytes(self.prev_state_path, self.state_path.read_bytes())

    def load_state(self) -> dict:
        """The newest good state. A corrupt newest state is moved aside (training-state.pt.corrupt)
        and the previous one is used, with `state_warning` saying so; both bad is StateError."""
        self.state_warning = None
        reasons = []
        for path in (self.state_path, self.prev_state_path):
            if not path.is_file():
                continue
            try:
                state = read_state(path)
            except StateError as exc:
                reasons.append(str(exc))
                continue
            if reasons:
                self.state_warning = f"{reasons[0]}; resumed from the previous state {path.name} instead"
                if self.writer:
                    os.replace(self.state_path, self.state_path.with_name(self.state_path.name + ".corrupt"))
                    os.replace(path, self.state_path)  # the good one is the newest again
            return state
        if not reasons:
            raise StateError(f"{self.state_path}: no training state to resume from")
        raise StateError("; ".join(reasons) + "; no good state is left: start over with --restart "
                         "(moves this run aside) or use a new --run-dir")

    # Control files: only in the run's own `control` folder. A link there (to a user's folder,
    # where a file named `stop` may be the user's) is refused, not followed: honouring only the
    # markers Stop/Pause made would break the documented `touch RUN/control/stop`.
    def _control_folder(self, create: bool = False) -> Path | None:
        """The control folder; None where there is none yet (made with `create`). A link, or
        anything but a folder, is one OutputError line."""
        if create:
            try:
                self.control_path.mkdir(parents=True, exist_ok=True)
            except FileExistsError:
                pass
            except OSError as exc:
                raise output_error(self.control_path, exc) from None
        try:
            info = os.lstat(self.control_path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise output_error(self.control_path, exc) from None
        if not stat.S_ISDIR(info.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
            raise OutputError(f"{escape_text(str(self.control_path), 300)}: is {what}; the run's control folder "
                              f"must be its own (remove it: the run makes a new one)")
        return self.control_path

    def _marker(self, name: str) -> bool:
        try:
            folder = self._control_folder()
        except OutputError:
            return False  # never read a user's folder as requests (the trainer refused it at start)
        return folder is not None and os.path.lexists(folder / name)

    def stop_requested(self) -> bool:
        return self._marker("stop")

    def pause_requested(self) -> bool:
        return self._marker("pause")

    def clear_stop(self):
        if self.writer and self._marker("stop"):
            try:
                os.unlink(self.control_path / "stop")  # the name in our own folder; a link is not followed
            except FileNotFoundError:
                pass

    def request_stop(self):
        create_marker(self._control_folder(create=True) / "stop")

    def set_paused(self, paused: bool):
        folder = self._control_folder(create=True)
        if paused:
            create_marker(folder / "pause")
        else:
            try:
                os.unlink(folder / "pause")
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise output_error(folder / "pause", exc) from None


def load_run_options(run_dir) -> TrainingOptions | None:
    """The TrainingOptions a run directory's options.json holds; None where it has none yet."""
    run = RunDirectory(run_dir, writer=False)
    if not run.options_path.is_file():
        return None
    from gan_explorer.core.io.reading import read_user_text

    text = read_user_text(run.options_path, 1024**2, "run's options.json")  # bounded; one line otherwise
    try:
        return TrainingOptions.from_json(text)
    except (ValueError, TypeError) as exc:
        raise GanExplorerError(f"{escape_text(str(run.options_path), 300)}: unreadable options "
                               f"({escape_text(str(exc), 200)})") from None


def read_state(path: str | os.PathLike) -> dict:
    """A training state, verified: one StateError line for an empty, foreign, corrupt or incomplete file."""
    path = Path(path)
    shown = escape_text(str(path), 300)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StateError(f"{shown}: cannot read the training state ({exc.strerror})") from None
    if size == 0:
        raise StateError(f"{shown}: empty file (0 bytes), not a training state")
    if not zipfile.is_zipfile(path):
        raise StateError(f"{shown}: not a training state (not a torch.save archive; random or foreign bytes?)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        detail = text[0] if text else type(exc).__name__
        if "weights only" in detail.lower() or "weights_only" in detail:
            detail = "it holds objects a weights-only load refuses"
        raise StateError(f"{shown}: corrupt training state ({escape_text(detail, 160)})") from None
    if not isinstance(state, dict):
        raise StateError(f"{shown}: not a training state (a {type(state).__name__}, not a dict)")
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise StateError(f"{shown}: not a complete training state (missing {', '.join(missing)})")
    stored = state.pop(CHECKSUM_KEY, None)
    if stored is not None:  # states written before checksums existed have none
        try:
            actual = state_digest(state)
        except Exception:
            actual = None
        if stored != actual:
            raise StateError(f"{shown}: corrupt training state (its contents do not match their sha256 checksum)")
    return state


JSONL_READ_BYTES = 4 * 1024**2  # read per poll at most (a monitor on the UI thread); the rest comes next poll
JSONL_LINE_BYTES = 1024**2  # a longer line is not parsed (a record, even an error's, is a few KB)
LINE_HEAD_BYTES = 400  # what is kept of a line too long to read: its start, for a note


class LineTail:
    """Follows a file a process appends lines to (stats.jsonl, events.jsonl, log.txt) from a byte
    offset, one bounded read at a time, so that a watcher can call it on the UI thread:

    - only a regular file is opened (links followed; checked before and after a non-blocking open):
      a FIFO or a device there is noted once and never read;
    - each `lines()` reads at most `read_bytes`; what is left comes with the next call;
    - a line longer than `line_bytes` comes only as its first LINE_HEAD_BYTES, once, and the rest
      of it is passed over however long it grows (a file of zeros, a 10 MB message); a last line
      without its end waits for the next call;
    - a file found shorter than what was read of it (rewritten: a resume drops ticks it will redo)
      is read again from its start, and `rewound` says so.

    What was refused or skipped is in `notes` (one line each): the caller takes them."""

    def __init__(self, path: str | os.PathLike, offset: int = 0, read_bytes: int = JSONL_READ_BYTES,
                 line_bytes: int = JSONL_LINE_BYTES, carriage_returns: bool = False):
        self.path = Path(path)
        self.offset = offset
        self.read_bytes, self.line_bytes = read_bytes, min(line_bytes, read_bytes - 1)
        self.carriage_returns = carriage_returns  # a lone \r ends a line too (a progress bar's redraws)
        self.rewound = False
        self.notes: list[str] = []
        self._skipping = False  # inside a line too long to read: passed over up to its end
        self._refused = ""  # why the file is not read (noted once, not at every call)

    def _read(self) -> bytes:
        """At most `read_bytes` from `offset` of the regular file; b'' (with a note) otherwise."""
        from gan_explorer.core.io.reading import UserFileError, open_regular

        try:
            os.stat(self.path)
            with open_regular(self.path, self.path.name) as f:
                if os.fstat(f.fileno()).st_size < self.offset:
                    self.offset, self._skipping, self.rewound = 0, False, True
                f.seek(self.offset)
                data = f.read(self.read_bytes)
        except FileNotFoundError:  # not written yet (or gone: what comes next is new)
            if self.offset:
                self.offset, self._skipping, self.rewound = 0, False, True
            return b""
        except UserFileError as exc:
            return self._refuse(exc.reason)
        except (OSError, ValueError) as exc:
            return self._refuse(f"cannot be read ({escape_text(getattr(exc, 'strerror', None) or exc, 200)})")
        self._refused = ""
        return data.replace(b"\r", b"\n") if self.carriage_returns else data

    def _refuse(self, reason: str) -> bytes:
        if reason != self._refused:
            self.notes.append(f"{self.path.name}: {reason}; not read")
        self._refused = reason
        return b""

    def lines(self) -> list[tuple[int, bytes, bool]]:
        """(offset, line, whole) for each line ended since the last call, from one bounded read. A
        line longer than `line_bytes` comes once, as its first LINE_HEAD_BYTES with `whole` False."""
        self.rewound = False
        data = self._read()
        start = 0
        if self._skipping:
            start = data.find(b"\n") + 1
            if not start:
                self.offset += len(data)
                return []
            self._skipping = False
        end = max(data.rfind(b"\n") + 1, start)
        lines = []
        while start < end:
            stop = data.index(b"\n", start)
            if stop - start > self.line_bytes:
                lines.append((self.offset + start, data[start:start + LINE_HEAD_BYTES], False))
            elif data[start:stop].strip():
                lines.append((self.offset + start, data[start:stop], True))
            start = stop + 1
        if len(data) - end > self.line_bytes:  # an unfinished line already too long to read
            lines.append((self.offset + end, data[end:end + LINE_HEAD_BYTES], False))
            self._skipping, end = True, len(data)
        self.offset += end
        return lines

    def note_skipped(self, skipped: list[str], why: str):
        """One note for the lines skipped by one call: how many, why, and the first few."""
        if skipped:
            more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
            self.notes.append(f"{self.path.name}: {len(skipped)} line{'s' if len(skipped) > 1 else ''} skipped "
                              f"({why}): {'; '.join(skipped[:3])}{more}")

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes


EVENT_HEAD = b'{"event": "'  # how every events.jsonl line starts (json.dumps, keys sorted)


def _event_kind(head: bytes) -> str | None:
    """The kind of event a line starts as ('error' for b'{"event": "error", "message": ...'), or None."""
    if not head.startswith(EVENT_HEAD):
        return None
    kind = head[len(EVENT_HEAD):].split(b'"', 1)[0]
    return kind.decode() if 0 < len(kind) <= 40 and kind.replace(b"_", b"").isalpha() else None


class JsonlTail(LineTail):
    """A LineTail of JSON records. A line that is not a JSON object (damaged, a list, nested too
    deeply, a number too long to read) is skipped with a note; so is a line too long to read, but
    one that starts as an event does (`{"event": "error", ...`, as run directories write them,
    keys sorted) still counts as that event, without its details: a run that ended on a 10 MB
    error message still says 'error'."""

    def records(self) -> list[dict]:
        from gan_explorer.core.io.reading import parse_json_text

        records, damaged, too_long = [], [], []
        for at, line, whole in self.lines():
            if not whole:
                too_long.append(f"at byte {at:,}")
                kind = _event_kind(line)
                if kind:
                    records.append({"event": kind, "message": f"(not read: a line longer than {self.line_bytes:,} bytes)"})
                continue
            try:
                record = parse_json_text(line.decode("utf-8"))
            except ValueError as exc:  # UnicodeDecodeError included
                damaged.append(f"at byte {at:,}: {escape_text(str(exc).splitlines()[0] if str(exc) else exc, 120)}")
                continue
            if not isinstance(record, dict):
                damaged.append(f"at byte {at:,}: a JSON {_json_kind(record)}, not a record")
                continue
            records.append(record)
        self.note_skipped(too_long, f"longer than {self.line_bytes:,} bytes")
        self.note_skipped(damaged, "not records")
        return records


def _json_kind(value) -> str:
    return {list: "list", str: "string", bool: "true/false", type(None): "null"}.get(type(value), "number")


def read_jsonl(path: str | os.PathLike, offset: int = 0, notes: list | None = None) -> list[dict]:
    """Every complete record from byte `offset` (bounded reads until the end; a last line without
    its newline is left for later); what was skipped goes to `notes` when given."""
    tail, records = JsonlTail(path, offset), []
    while True:
        start = tail.offset
        records.extend(tail.records())
        if tail.offset == start and not tail.rewound:
            break
    if notes is not None:
        notes.extend(tail.take_notes())
    return records


def tail_jsonl(path: str | os.PathLike, offset: int = 0) -> tuple[list[dict], int]:
    """(records, new_offset): complete lines after `offset` from one bounded read (JsonlTail)."""
    tail = JsonlTail(path, offset)
    records = tail.records()
    return records, tail.offset
