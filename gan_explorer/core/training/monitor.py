"""Watching a run directory from outside (the GUI, a terminal): no Qt.

`RunReader` reads stats.jsonl and events.jsonl from byte offsets (a half-written last line waits
for the next poll), finds the newest sample grid and snapshot, and tells whether a process is
still training in the directory (it holds the lock). `RunState` is one run of the Train tab: its
reader, the process launched for it, its log and its curves, and what its status line says; the
widget is handed RunStates and only shows what `RunState.poll()` returns.

How a run ended, as the user reads it (events.jsonl keeps the loop's own words):
  finished   the run reached its length
  stopped    the user asked it to stop (Stop, or control/stop): an `aborted` event whose reason
             is "stop requested", written after a final snapshot
  aborted    interrupted (Ctrl-C) or terminated (SIGTERM): an `aborted` event with that reason
  error      an `error` event (its message is shown)
  interrupted  the process is gone without an ending event (killed, crashed, power cut)
  not started  nothing was ever written
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gan_explorer.core.errors import GanExplorerError, OutputError, escape_text
from gan_explorer.core.io.atomic import open_append, open_in_place
from gan_explorer.core.io.reading import is_regular_file
from gan_explorer.core.metrics.report import metrics_text
from gan_explorer.core.training.run_dir import JsonlTail, LineTail, RunDirectory

ENDING_EVENTS = ("finished", "aborted", "error")
STARTING_EVENTS = ("started", "resumed", "restarted")  # a (re)started process writes one of these first
STOP_REASON = "stop requested"  # the reason of the `aborted` event a stop request ends with (loop.py)
ENDINGS = ("finished", "stopped", "aborted", "error")  # what sigRunEnded / RunUpdate.ended can say
STARTING_GRACE_S = 60.0  # a launched run not yet holding its lock is "starting" for this long (imports)
GROUP_ORDER = ("Loss", "Metrics", "Augment", "Timing", "Guard")  # the curves' plots, top to bottom
HIDDEN_SERIES = {
    "Timing/total_sec",  # grows without bound: it would flatten the other timing curves
    "Metrics/kid_std",   # KID's spread over subsets: part of the KID value's text, not a curve of its own
}
# What a watched run's files may hold, as the monitor keeps them (the files are anyone's: a damaged
# or hostile run must not freeze or fill the window). A tick has about 50 keys, an event a few.
MAX_RECORD_KEYS = 1000   # a record with more is skipped (with a note)
MAX_KEY_CHARS = 200      # a longer key is dropped from its record
MAX_TEXT_CHARS = 2000    # a longer string value (an error's message, a traceback) is cut
MAX_ITEMS = 100          # a list or object inside a record with more items is replaced by a summary
OPTIONS_BYTES = 1024**2  # options.json is read up to this size
LOG_LINE_BYTES = 64 * 1024  # a longer line of log.txt is skipped (with a note)
LOG_READ_BYTES = 1024**2    # log.txt read per poll at most
KEPT_LOG_LINES = 5000       # the log panel's lines kept in memory (the panel keeps as many)


def number(value, default=0.0) -> float:
    """A finite float from a value read from a run's files; `default` for anything else (text, a
    list, NaN, infinity, an integer too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    try:
        value = float(value)
    except OverflowError:
        return default
    return value if math.isfinite(value) else default


def kept_value(value, nested: bool = False):
    """A record's value as the monitor keeps it: strings cut to MAX_TEXT_CHARS, integers too large
    for a float dropped (None), a list or object one level deep with at most MAX_ITEMS items, and
    anything bigger or deeper replaced by a short summary."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT_CHARS else value[:MAX_TEXT_CHARS] + "…"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 64:
        try:
            return float(value)
        except OverflowError:
            return None
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if nested or len(value) > MAX_ITEMS:
        return f"({'a list' if isinstance(value, list) else 'an object'} of {len(value):,} items)"
    if isinstance(value, list):
        return [kept_value(v, True) for v in value]
    return {k[:MAX_KEY_CHARS]: kept_value(v, True) for k, v in value.items()}


def kept_record(record: dict) -> dict | None:
    """A stats / events / metrics record as the monitor keeps it (see kept_value); None for one
    with more than MAX_RECORD_KEYS keys."""
    if len(record) > MAX_RECORD_KEYS:
        return None
    return {k: kept_value(v) for k, v in record.items() if len(k) <= MAX_KEY_CHARS}


def ending_of(event: dict) -> str | None:
    """How an events.jsonl line ends a run, in the user's words: 'finished', 'stopped' (the
    user's Stop), 'aborted' (interrupted, terminated), 'error'; None for an event that does not end it."""
    kind = event.get("event")
    if kind not in ENDING_EVENTS:
        return None
    if kind == "aborted" and event.get("reason") == STOP_REASON:
        return "stopped"
    return kind


def event_text(event: dict, limit: int = 300) -> str:
    """One line of the events list: time, what happened (as `ending_of` names it), the details."""
    kind = ending_of(event) or event.get("event", "?")
    stamp, seconds = "--:--:--", number(event.get("timestamp"), None)  # none, or not a time: dashes
    if seconds is not None:
        try:
            stamp = time.strftime("%H:%M:%S", time.localtime(seconds))
        except (OverflowError, OSError, ValueError):  # a time far outside what the clock can show
            pass
    detail = {k: v for k, v in event.items() if k not in ("event", "timestamp", "traceback")}
    if kind == "stopped":
        detail.pop("reason", None)  # "stopped" says it
    if kind == "metric" and isinstance(detail.get("values"), dict):
        values = metrics_text(detail.pop("values"))
        kept = {k: detail[k] for k in ("kimg", "snapshot", "failed") if detail.get(k) is not None}
        text = f"{stamp}  metric  {values}" + "".join(f", {k}={v}" for k, v in kept.items())
        return escape_text(text, limit)
    return escape_text(f"{stamp}  {kind}  " + ", ".join(f"{k}={v}" for k, v in detail.items()), limit)


def train_command(arguments: list[str]) -> list[str]:
    """How to call our own `train`: through the interpreter, or the frozen executable itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "train", *arguments]
    return [sys.executable, "-m", "gan_explorer", "train", *arguments]


def run_is_active(path) -> bool:
    """True while a training process holds the run directory's lock."""
    lock = Path(path) / ".lock"
    if not is_regular_file(lock):  # none; or a FIFO, a device, a folder: no trainer's (opening a FIFO blocks)
        return False
    try:  # the trainer's own lock file: never through a link, never a FIFO (which would block)
        fd = open_in_place(lock, create=False)
    except OutputError:
        return False  # not a lock any trainer of ours holds (it refuses to start on such a .lock)
    with os.fdopen(fd, "a") as f:
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
    """Reads a run directory as it grows. Each poll is a few bounded reads (JsonlTail: regular files
    only, at most a few MB a file, overlong and malformed lines skipped), cheap enough for the UI
    thread whatever the files hold; what was skipped or refused is in `notes` (RunState puts them
    in the run's log)."""

    def __init__(self, path: str | os.PathLike):
        self.run = RunDirectory(path, writer=False)
        self.path = self.run.path
        self.stats: list[dict] = []
        self.events: list[dict] = []
        self.metrics: list[dict] = []  # metrics.jsonl lines (quality measured at snapshots)
        self.rewound = False  # the last poll found stats.jsonl rewritten: `stats` were read again
        self.notes: list[str] = []
        self._tails = {"stats": JsonlTail(self.run.stats_path), "events": JsonlTail(self.run.events_path),
                       "metrics": JsonlTail(self.path / "metrics.jsonl")}
        self._options_seen = None  # (inode, size, mtime) of the options.json read
        self._options: dict = {}

    def _read(self, name: str) -> list[dict]:
        tail, kept = self._tails[name], getattr(self, name)
        records, too_big = [], 0
        for record in tail.records():
            record = kept_record(record)
            if record is None:
                too_big += 1
            else:
                records.append(record)
        self.notes.extend(tail.take_notes())
        if too_big:
            self.notes.append(f"{tail.path.name}: {too_big} record{'s' if too_big > 1 else ''} skipped "
                              f"(more than {MAX_RECORD_KEYS} keys)")
        if tail.rewound:
            kept.clear()
        kept.extend(records)
        return list(kept) if tail.rewound else records

    def poll(self) -> tuple[list[dict], list[dict]]:
        """New (stats, events) since the last poll. A stats file rewritten shorter (a resumed
        run drops ticks it will redo) is read again from the start (`rewound`)."""
        stats = self._read("stats")
        self.rewound = self._tails["stats"].rewound
        return stats, self._read("events")

    def poll_metrics(self) -> list[dict]:
        """New lines of metrics.jsonl (written when snapshots are evaluated: `train --metrics`,
        `gan-explorer metrics --run-dir`), each with `Progress/kimg` and `Metrics/*` values."""
        lines = self._read("metrics")
        self.rewound = self.rewound or self._tails["metrics"].rewound
        return lines

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    def growth(self) -> dict | None:
        """Where a progressive (pggan) run stands at its last tick: {'resolution': px, 'alpha':
        fade-in 0..1, 'phase': 'fade-in' or 'stable'}; None for a run that does not grow."""
        for record in reversed(self.stats):
            if "Progress/resolution" in record:
                return {"resolution": int(number(record["Progress/resolution"])),
                        "alpha": number(record.get("Progress/alpha", 1.0), 1.0),
                        "phase": str(record.get("Progress/phase", ""))[:20]}
        return None

    def latest_samples(self) -> Path | None:
        samples = self.run.samples()
        return samples[-1] if samples else None

    def latest_snapshot(self) -> Path | None:
        return self.run.latest_snapshot()

    def status(self) -> str:
        """running, paused, finished, stopped (by the user), aborted, error, interrupted (the
        process is gone without an ending event: killed) or not started (see the module's doc)."""
        if run_is_active(self.path):
            return "paused" if self.run.pause_requested() else "running"
        for event in reversed(self.events):
            ending = ending_of(event)
            if ending is not None:
                return ending
            if event.get("event") in STARTING_EVENTS:
                return "interrupted"  # (re)started after its last ending, and gone without a word
        return "interrupted" if self.events or self.stats else "not started"

    def last_error(self) -> str | None:
        for event in reversed(self.events):
            if event.get("event") == "error":
                message = event.get("message")
                return None if message is None else escape_text(message, MAX_TEXT_CHARS)
        return None

    def options(self) -> dict:
        """The run's options.json, read again only when the file changed; {} where there is none
        or it cannot be used (a note says why, once). A `kimg` that is not a number is dropped."""
        from gan_explorer.core.io.reading import UserFileError, read_user_json

        path = self.run.options_path
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            self._options_seen, self._options = None, {}
            return self._options
        seen = (info.st_ino, info.st_size, info.st_mtime_ns)
        if seen != self._options_seen:
            self._options_seen, self._options = seen, {}
            try:
                options = read_user_json(path, OPTIONS_BYTES, "run's options.json")
            except UserFileError as exc:
                self.notes.append(f"options.json: {exc.reason}; the run's options are not known")
                return self._options
            if not isinstance(options, dict):
                self.notes.append(f"options.json: not the run's options (a JSON {type(options).__name__}); ignored")
                return self._options
            if "kimg" in options and number(options["kimg"], -1.0) < 0:
                self.notes.append(f"options.json: kimg {escape_text(repr(options['kimg']), 60)} is not a length; "
                                  f"the run's length is not known")
                options.pop("kimg")
            self._options = {k: kept_value(v) for k, v in options.items()}
        return self._options


@dataclass
class RunUpdate:
    """What one poll of a run found (the widget shows it; empty lists when nothing changed)."""

    stats: list = field(default_factory=list)      # new stats.jsonl records
    events: list = field(default_factory=list)     # new events.jsonl records
    log_lines: list = field(default_factory=list)  # new lines of log.txt
    metrics: list = field(default_factory=list)    # new metrics.jsonl lines
    reset: bool = False                            # stats.jsonl was rewritten (a resume): curves rebuilt
    ended: str | None = None                       # 'finished', 'stopped', 'aborted' or 'error' if it ended now

    @property
    def curves_changed(self) -> bool:
        return bool(self.stats or self.metrics or self.reset)

    @property
    def changed(self) -> bool:
        return bool(self.stats or self.events or self.log_lines or self.metrics or self.reset)


class RunState:
    """One run of the Train tab: its reader, the process launched for it here (if any), its log
    (RUN/log.txt, the output of a launched run) and its curves (`series`: key -> (kimg, values))."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(Path(path).resolve())
        self.reader = RunReader(self.path)
        self.process: subprocess.Popen | None = None  # a `train` launched from here (detached)
        self.launched_at: float | None = None
        self.seen_active = False
        self.log: list[str] = []  # the last KEPT_LOG_LINES lines
        self._log = LineTail(Path(self.path) / "log.txt", read_bytes=LOG_READ_BYTES, line_bytes=LOG_LINE_BYTES,
                             carriage_returns=True)
        self.series: dict[str, tuple[list, list]] = {}
        self.metrics_label = ""  # e.g. "FD/KID (gan_explorer features)": what the metrics were measured on

    @property
    def name(self) -> str:
        return Path(self.path).name

    # Reading the run directory.
    def poll(self) -> RunUpdate:
        """Read what the run wrote since the last poll; the curves follow."""
        if self.process is not None and self.process.poll() is not None:
            self.process = None  # reaped: the run directory says how it ended
        stats, events = self.reader.poll()
        update = RunUpdate(stats=stats, events=events, log_lines=self.read_log())
        update.metrics = self.reader.poll_metrics()
        update.reset = self.reader.rewound  # a file was rewritten (a resume): the curves are rebuilt
        self.add_stats(self.reader.stats if update.reset else stats, reset=update.reset)
        if not update.reset:  # (a reset added them all)
            self.add_metrics(update.metrics)
        notes = [f"[monitor] {escape_text(note, 500)}" for note in self.reader.take_notes()]
        if notes:  # what was skipped in the run's files: one line each in the log
            update.log_lines.extend(notes)
            self._keep_log(notes)
        for event in events:
            update.ended = ending_of(event) or update.ended
        return update

    def read_log(self) -> list[str]:
        """New lines of RUN/log.txt (the output of a run launched from the window), a bounded read
        at a time (LineTail); what was skipped there is said in a line of its own."""
        lines = [line.decode(errors="replace") if whole else
                 f"{escape_text(line[:200].decode(errors='replace'), None)}… [monitor: a line longer than "
                 f"{LOG_LINE_BYTES:,} bytes, cut]" for _, line, whole in self._log.lines()]
        lines += [f"[monitor] {escape_text(note, 500)}" for note in self._log.take_notes()]
        self._keep_log(lines)
        return lines

    def _keep_log(self, lines):
        self.log.extend(lines)
        del self.log[:-KEPT_LOG_LINES]

    def add_metrics(self, lines):
        """Quality measured at snapshots: the `Metrics/*` values of metrics.jsonl lines, by kimg."""
        for line in lines:
            x = number(line.get("Progress/kimg"), math.nan)
            for key, value in line.items():
                if key.startswith("Metrics/") and key not in HIDDEN_SERIES and isinstance(value, (int, float)):
                    xs, ys = self.series.setdefault(key, ([], []))
                    xs.append(x)
                    ys.append(float(value))
            if line.get("label"):
                self.metrics_label = escape_text(line["label"], 200)

    def add_stats(self, records, reset=False):
        if reset:
            self.series.clear()
            self.add_metrics(self.reader.metrics)  # kept: they are not in stats.jsonl
        for record in records:
            x = number(record.get("Progress/kimg"), math.nan)
            for key, value in record.items():
                if "/" not in key or key.startswith("Progress/") or key in HIDDEN_SERIES \
                        or not isinstance(value, (int, float)):
                    continue
                xs, ys = self.series.setdefault(key, ([], []))
                xs.append(x)
                ys.append(float(value))

    def groups(self) -> list[str]:
        """The plots the curves need, in GROUP_ORDER (Loss first), then by name."""
        return sorted({k.split("/")[0] for k in self.series},
                      key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 99, g))

    # What the status line says.
    def status(self, now: float | None = None) -> str:
        """The reader's status; 'starting' between a launch here and the process taking its lock
        (imports take seconds), unless the run already ended since the launch."""
        status = self.reader.status()
        if status in ("running", "paused"):
            self.seen_active = True
        now = time.time() if now is None else now
        if status in ("interrupted", "not started") and self.launched_at and not self.seen_active \
                and now - self.launched_at < STARTING_GRACE_S:
            ended = any(ending_of(e) and number(e.get("timestamp")) >= self.launched_at for e in self.reader.events)
            if not ended:
                return "starting"
        return status

    def kimg(self) -> tuple[float, float]:
        """(trained, total) kimg: the last tick's and the options' (0 when not known yet)."""
        last = self.reader.stats[-1] if self.reader.stats else {}
        return number(last.get("Progress/kimg")), number(self.reader.options().get("kimg"))

    def latest_metrics(self) -> str:
        """The last measured quality, e.g. 'FD 41.0, KID 0.0123 ± 0.0008 at 0.24 kimg' ('' if none)."""
        if not self.reader.metrics:
            return ""
        line = self.reader.metrics[-1]
        text = metrics_text({k: v for k, v in line.items() if k.startswith("Metrics/")})
        return f"{text} at {number(line.get('Progress/kimg')):g} kimg" if text else ""

    def status_text(self, status: str | None = None) -> str:
        """'run: running, 0.128 / 50 kimg, ETA 0h12m03s' plus the last quality measured and, for a
        failed run, its error and the log's last lines."""
        status = status or self.status()
        kimg, total = self.kimg()
        text = f"{self.name}: {status}, {kimg:.3f} / {total:g} kimg"
        last = self.reader.stats[-1] if self.reader.stats else {}
        sec_per_kimg = number(last.get("Timing/sec_per_kimg"))
        if sec_per_kimg > 0 and total and status == "running":
            eta = min(max(total - kimg, 0.0) * sec_per_kimg, 1e9)  # 1e9 s: 31 years, as far as an ETA means anything
            text += f", ETA {int(eta // 3600)}h{int(eta % 3600 // 60):02d}m{int(eta % 60):02d}s"
        metrics = self.latest_metrics()
        if metrics:
            text += f"; {metrics}"
        error = self.reader.last_error()
        if status == "error" and error:
            text += f"\nError: {error}"
            if self.log:
                text += "\n" + "\n".join(self.log[-5:])
        return text

    def progress(self) -> float:
        """0..1 of the run's length trained."""
        kimg, total = self.kimg()
        return min(kimg / total, 1.0) if total else 0.0

    # What can be done with it.
    def can(self, status: str | None = None) -> dict:
        """Which controls would do something: stop, pause, resume, explore."""
        status = status or self.status()
        active = status in ("running", "paused", "starting")
        return {"stop": active, "pause": status in ("running", "paused"),
                "resume": not active and status != "finished",
                "explore": self.reader.latest_snapshot() is not None}

    def launch(self, arguments: list[str]) -> str:
        """Start `gan-explorer train ARGUMENTS` (which name this run's --run-dir) as its own process,
        detached: it keeps training when the window closes. Its output goes to RUN/log.txt, headed
        by the command line. Returns '' or why nothing was started."""
        if self.reader.status() in ("running", "paused"):
            return f"{self.path} is already training"
        Path(self.path).mkdir(parents=True, exist_ok=True)
        command = train_command(arguments)
        log = Path(self.path) / "log.txt"
        try:
            f = open_append(log)  # a link, a FIFO or a hard link is refused, never written through
        except GanExplorerError as exc:
            return str(exc)
        with f:
            f.write(("$ " + " ".join(command) + "\n").encode())
            f.flush()
            detach = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS} \
                if sys.platform == "win32" else {"start_new_session": True}
            try:
                self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                                close_fds=True, **detach)
            except OSError as exc:
                return f"Could not start {command[0]}: {exc}"
        self.launched_at = time.time()
        self.seen_active = False
        return ""

    def request_stop(self) -> str:
        """Ask the run to stop: it writes a final snapshot and ends with 'stopped'. Returns '' or
        the one line saying why it could not be asked (its control folder is a link, read-only)."""
        return _control(lambda: RunDirectory(self.path).request_stop())

    def pause_requested(self) -> bool:
        return self.reader.run.pause_requested()

    def set_paused(self, paused: bool) -> str:
        """Pause or continue the run; returns '' or why it could not be asked (as request_stop)."""
        return _control(lambda: RunDirectory(self.path).set_paused(paused))


def _control(request) -> str:
    try:
        request()
    except GanExplorerError as exc:
        return str(exc)
    return ""


class RunList:
    """The runs the Train tab watches, by resolved path, in the order they were attached."""

    def __init__(self):
        self.runs: dict[str, RunState] = {}

    def attach(self, path) -> RunState:
        path = str(Path(path).resolve())
        run = self.runs.get(path)
        if run is None:
            run = self.runs[path] = RunState(path)
        return run

    def get(self, path) -> RunState | None:
        return self.runs.get(str(path)) if path else None

    def __iter__(self):
        return iter(list(self.runs.values()))

    def __len__(self):
        return len(self.runs)

    def paths(self) -> list[str]:
        return list(self.runs)


def run_dir_of(arguments: list[str]) -> str:
    """The resolved --run-dir that `train` arguments name."""
    if "--run-dir" not in arguments or arguments.index("--run-dir") + 1 >= len(arguments):
        raise ValueError("no --run-dir in the train arguments")
    return str(Path(arguments[arguments.index("--run-dir") + 1]).resolve())


@dataclass(frozen=True)
class DatasetPreview:
    """What 'Preview data' shows: a grid of the first images, how many are readable, what was skipped."""

    spec: str
    grid: object = None                 # HxWx3 uint8 numpy array, or None with an error
    used: int | None = None             # readable images; None for an endless procedural set
    skipped: tuple = ()                 # "name: reason" for the images that could not be read
    error: str = ""

    def text(self) -> str:
        if self.error:
            return f"Cannot use this dataset: {self.error}"
        text = "procedural faces (endless)" if self.used is None else \
            f"{self.used} readable images, {len(self.skipped)} skipped"
        if self.skipped:
            text += ": " + "; ".join(self.skipped[:3])
        return text


def preview_dataset(spec: str, resolution: int = 0, count: int = 16) -> DatasetPreview:
    """Open a dataset as `train` would and grid its first images (slow on a big folder: call it off
    the UI thread). Errors become the preview's one line."""
    from gan_explorer.core.data import open_dataset, preview_images
    from gan_explorer.core.io.images import make_grid

    try:
        named_resolution = spec.startswith("faces:")  # faces:N carries its own resolution
        dataset = open_dataset(spec, None if named_resolution and not resolution else (resolution or 64))
        report = getattr(dataset, "report", None)
        grid = make_grid(preview_images(dataset, count))
        return DatasetPreview(spec, grid, report.used if report else None,
                              tuple(f"{n}: {r}" for n, r in report.skipped) if report else ())
    except Exception as exc:  # any unreadable dataset is the preview's one line, never a crash
        return DatasetPreview(spec, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
