"""The run monitor's state without Qt: how a run ended in the user's words (a Stop is 'stopped'),
what a poll finds, the status line, KID with the digits it carries, and a launched process."""

import json
import os
import subprocess
import sys
import threading

import pytest

import gan_explorer.core.training.monitor as monitor
from gan_explorer.core.metrics.report import mean_and_spread, metrics_text
from gan_explorer.core.training.loop import training_loop
from gan_explorer.core.training.monitor import RunList, RunState, ending_of, event_text
from gan_explorer.core.training.run_dir import JsonlTail, RunDirectory, read_jsonl


def _write(path, records):
    with open(path, "a") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def _run_dir(tmp_path, events=(), stats=(), kimg=1.0):
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "options.json").write_text(json.dumps({"family": "dcgan", "kimg": kimg}))
    _write(run_dir / "events.jsonl", events)
    _write(run_dir / "stats.jsonl", stats)
    return run_dir


def test_a_user_stop_is_stopped_in_the_run_list_and_the_events(tmp_path, tiny):
    """A real run asked to stop (the Stop button writes control/stop) ends with the loop's `aborted`
    event and reason 'stop requested': the monitor calls that 'stopped'."""
    run_dir = tmp_path / "run"
    RunDirectory(run_dir).request_stop()
    assert training_loop(run_dir, tiny("dcgan")) == "aborted"  # the file format is unchanged
    run = RunState(run_dir)
    update = run.poll()
    assert update.ended == "stopped"
    assert run.status() == "stopped"
    assert run.status_text().startswith("run: stopped, ")
    last = run.reader.events[-1]
    assert last["event"] == "aborted" and last["reason"] == "stop requested"
    assert "  stopped  " in event_text(last) and "aborted" not in event_text(last)
    assert run.can()["resume"] and not run.can()["stop"]


@pytest.mark.parametrize("events, status", [
    ([{"event": "started"}, {"event": "aborted", "reason": "terminated (SIGTERM)"}], "aborted"),
    ([{"event": "started"}, {"event": "aborted", "reason": "interrupted"}], "aborted"),
    ([{"event": "started"}, {"event": "error", "message": "disk full"}], "error"),
    ([{"event": "started"}, {"event": "finished", "kimg": 1.0}, {"event": "metric", "values": {}}], "finished"),
    ([{"event": "started"}, {"event": "snapshot", "kimg": 0.5}], "interrupted"),  # SIGKILL: no last word
    # Stopped, resumed, then killed: the old 'stopped' no longer describes it.
    ([{"event": "started"}, {"event": "aborted", "reason": "stop requested"}, {"event": "resumed"}],
     "interrupted"),
    ([], "not started"),
])
def test_how_a_run_ended_in_the_users_words(tmp_path, events, status):
    run = RunState(_run_dir(tmp_path, events))
    run.poll()
    assert run.status() == status


def test_ending_of_names_only_ending_events():
    assert ending_of({"event": "aborted", "reason": "stop requested"}) == "stopped"
    assert ending_of({"event": "aborted", "reason": "terminated (SIGTERM)"}) == "aborted"
    assert ending_of({"event": "snapshot"}) is None


def test_a_poll_reads_curves_metrics_and_the_log_and_says_when_the_run_ended(tmp_path):
    run_dir = _run_dir(tmp_path, [{"event": "started"}],
                       [{"Progress/kimg": 0.1, "Progress/tick": 1, "Loss/D/loss": 1.0, "Timing/total_sec": 3.0}])
    run = RunList().attach(run_dir)
    update = run.poll()
    assert update.changed and update.curves_changed and update.ended is None
    assert run.series == {"Loss/D/loss": ([0.1], [1.0])}  # total_sec grows without bound: not a curve
    assert run.groups() == ["Loss"]
    _write(run_dir / "metrics.jsonl", [{"Progress/kimg": 0.1, "label": "FD/KID (gan_explorer features)",
                                        "Metrics/fd": 41.0, "Metrics/kid_mean": 0.0123, "Metrics/kid_std": 0.0008}])
    (run_dir / "log.txt").write_text("$ gan-explorer train\nhalf a li")
    _write(run_dir / "events.jsonl", [{"event": "aborted", "reason": "stop requested"}])
    update = run.poll()
    assert update.metrics and update.log_lines == ["$ gan-explorer train"] and update.ended == "stopped"
    assert set(run.series) == {"Loss/D/loss", "Metrics/fd", "Metrics/kid_mean"}  # the spread is in the text
    assert run.groups() == ["Loss", "Metrics"] and run.metrics_label == "FD/KID (gan_explorer features)"
    assert not run.poll().changed
    # A resumed run rewrites stats.jsonl shorter: the curves are rebuilt, the metrics kept.
    (run_dir / "stats.jsonl").write_text(json.dumps({"Progress/kimg": 0.05, "Loss/D/loss": 2.0}) + "\n")
    update = run.poll()
    assert update.reset and run.series["Loss/D/loss"] == ([0.05], [2.0]) and "Metrics/fd" in run.series


def test_the_status_line_shows_kid_with_its_digits_and_no_zero_spread(tmp_path):
    run_dir = _run_dir(tmp_path, [{"event": "started"}, {"event": "finished"}],
                       [{"Progress/kimg": 1.0, "Loss/D/loss": 1.0}])
    _write(run_dir / "metrics.jsonl", [{"Progress/kimg": 1.0, "Metrics/fd": 41.04, "Metrics/kid_mean": 0.0123,
                                        "Metrics/kid_std": 0.000004}])
    run = RunState(run_dir)
    run.poll()
    text = run.status_text()
    assert text.startswith("run: finished, 1.000 / 1 kimg") and "FD 41.0, KID 0.0123 at 1 kimg" in text
    assert "±" not in text
    event = {"event": "metric", "kimg": 1.0, "timestamp": 0, "snapshot": "network-snapshot-000001.000.safetensors",
             "values": {"Metrics/fd": 41.0, "Metrics/kid_mean": 0.0123, "Metrics/kid_std": 0.0008}}
    assert "metric  FD 41.0, KID 0.0123 ± 0.0008, kimg=1.0, snapshot=network-snapshot" in event_text(event)


@pytest.mark.parametrize("mean, spread, text", [
    (0.0123, 0.0008, "0.0123 ± 0.0008"),
    (0.0123, 0.000004, "0.0123"),        # a spread that rounds to zero is left out, not "± 0.00000"
    (0.021, 0.002, "0.021 ± 0.002"),
    (0.021, 0.0012, "0.0210 ± 0.0012"),  # a leading 1 keeps its second digit
    (31.2, 0.4, "31.2 ± 0.4"),
    (1234.0, 56.0, "1234 ± 56"),
    (0.0123, None, "0.0123"),
    (float("nan"), 0.1, "nan"),
])
def test_mean_and_spread_keep_the_digits_they_carry(mean, spread, text):
    assert mean_and_spread(mean, spread) == text


def test_metrics_text_names_each_metric():
    assert metrics_text({"Metrics/fd": 12.345, "Metrics/kid_mean": 0.5, "Metrics/kid_std": 0.05,
                         "Metrics/precision": 0.61, "Metrics/ppl_w": 123.4}) == \
        "FD 12.3, KID 0.50 ± 0.05, precision 0.610, PPL W 123"


def test_a_launched_process_writes_the_log_is_reaped_and_a_second_launch_is_refused(tmp_path, monkeypatch):
    """The process part of the state: detached, its output in RUN/log.txt headed by the command."""
    script = "import sys; print('training', sys.argv[1:]); sys.stdout.flush()"
    monkeypatch.setattr(monitor, "train_command", lambda args: [sys.executable, "-c", script, *args])
    run = RunState(tmp_path / "run")
    assert run.launch(["--run-dir", str(tmp_path / "run")]) == ""
    assert run.process is not None and run.launched_at is not None
    assert run.status() == "starting"  # launched, no lock taken yet
    run.process.wait(60)
    run.poll()
    assert run.process is None  # reaped: no zombie left behind
    assert run.log[0].startswith("$ ") and "training ['--run-dir'" in run.log[1]


def test_a_run_that_is_training_is_not_launched_twice(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    owner = RunDirectory(run_dir, writer=True)
    owner.acquire()
    try:
        run = RunState(run_dir)
        started = []
        monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a))
        assert "already training" in run.launch(["--run-dir", str(run_dir)]) and not started
        assert run.status() == "running" and run.can()["stop"] and run.can()["pause"]
    finally:
        owner.release()


def test_the_metrics_summary_shows_kid_without_a_zero_spread():
    """What the Understand dock's metrics panel and `gan-explorer metrics` print (issue #25: '± 0.00000')."""
    from gan_explorer.core.metrics.evaluate import summary_lines

    result = {"label": "FD/KID (gan_explorer features)", "features": "gan_explorer", "fd": 41.04,
              "kid": {"mean": 0.0123, "std": 0.000004, "subsets": 10, "subset_size": 50}}
    lines = summary_lines(result)
    assert lines[1] == "KID (gan_explorer features): 0.0123 (10 subsets of 50)"
    result["kid"]["std"] = 0.0008
    assert summary_lines(result)[1] == "KID (gan_explorer features): 0.0123 ± 0.0008 (10 subsets of 50)"


def test_a_jsonl_file_is_read_a_bounded_piece_at_a_time(tmp_path):
    """Each poll reads at most `read_bytes` (the rest comes next poll), a line longer than
    `line_bytes` is skipped with one note, a line still being written waits, and a file rewritten
    shorter (a resume) is read again from its start."""
    path = tmp_path / "stats.jsonl"
    lines = [json.dumps({"Progress/tick": i, "pad": "p" * 80}) + "\n" for i in range(60)]
    lines.insert(30, "z" * 5000 + "\n")
    lines.insert(10, "[1, 2]\n")  # a JSON list: not a record
    path.write_text("".join(lines) + '{"Progress/tick": 60')
    tail = JsonlTail(path, read_bytes=1000, line_bytes=500)
    records, offsets = [], [0]
    for _ in range(40):
        records += tail.records()
        offsets.append(tail.offset)
    assert [r["Progress/tick"] for r in records] == list(range(60))
    assert max(b - a for a, b in zip(offsets, offsets[1:])) <= 1000
    notes = tail.take_notes()
    assert len(notes) == 2 and "1 line skipped (not records): at byte" in notes[0] and "a JSON list" in notes[0]
    assert "1 line skipped (longer than 500 bytes)" in notes[1]
    with open(path, "a") as f:
        f.write("}\n")
    assert tail.records() == [{"Progress/tick": 60}]
    path.write_text(json.dumps({"Progress/tick": 0}) + "\n")
    assert tail.records() == [{"Progress/tick": 0}] and tail.rewound


def test_reading_a_run_file_that_is_a_fifo_never_blocks(tmp_path):
    """read_jsonl (a trainer resuming, `metrics --run-dir`) and a RunState's poll on FIFOs: a
    note, no records, no wait (the thread's timeout only detects a hang)."""
    run_dir = _run_dir(tmp_path, stats=[{"Progress/kimg": 0.5, "Loss/G/loss": 1.0}])
    for name in ("events.jsonl", "log.txt", "metrics.jsonl"):
        (run_dir / name).unlink(missing_ok=True)
        os.mkfifo(run_dir / name)
    done = []

    def read():
        notes = []
        records = read_jsonl(run_dir / "events.jsonl", notes=notes)
        run = RunState(run_dir)
        done.append((records, notes, run.poll()))

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(60)
    assert done, "reading a FIFO hung"
    records, notes, update = done[0]
    assert records == [] and notes == ["events.jsonl: not a regular file (a FIFO); not read"]
    assert len(update.stats) == 1
    assert sorted(line for line in update.log_lines) == [
        f"[monitor] {name}: not a regular file (a FIFO); not read" for name in ("events.jsonl", "log.txt", "metrics.jsonl")]
