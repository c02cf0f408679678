"""Hostile run directories against the Train tab (issue #26, "the window locked out or frozen").

Every run is opened the way a user does it: the Open run... button, through the real dialog
(patched to answer with the folder). The window must never raise out of a slot, never remember
a run it could not read, always start again (the remembered runs come from a real QSettings ini
file in the test's folder, never the user's), and never hang or fill memory on a FIFO, a link to
/dev/zero or a 10 MB message: those cases run in a child process whose timeout only detects a
hang, and which reports its peak RSS.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QPushButton

from gan_explorer.gui.training_monitor import TrainingWorkspace, settings_list

ROOT = Path(__file__).resolve().parents[2]
TICKS = [{"Progress/kimg": 0.016 * (i + 1), "Progress/tick": i + 1, "Loss/G/loss": 1.0 + i, "Loss/D/loss": 0.5}
         for i in range(2)]
MAX_RSS_MB = 600
HANG_S = 120  # a hang detector only: a case takes about a second


def _write_run(run_dir: Path, stats=TICKS, events=({"event": "started", "timestamp": 1.0},), options=None,
               stats_lines=()):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "options.json").write_text(json.dumps({"family": "dcgan", "kimg": 1.0} if options is None
                                                     else options))
    (run_dir / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stats) + "".join(stats_lines))
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in events))
    return run_dir


def _settings(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.IniFormat)


@pytest.fixture
def make_workspace(qtbot, tmp_path):
    made = []

    def make(ini=None):
        ws = TrainingWorkspace(_settings(ini or tmp_path / "settings.ini"))
        qtbot.addWidget(ws)
        made.append(ws)
        return ws

    yield make
    for ws in made:
        ws.shutdown()


def _open_run(ws, qtbot, monkeypatch, path):
    """Click Open run...; the real dialog, answering with `path`."""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(path))
    (button,) = [b for b in ws.findChildren(QPushButton) if b.text() == "Open run…"]
    qtbot.mouseClick(button, Qt.LeftButton)


MALFORMED = {
    "a stats line that is a JSON list": dict(stats_lines=["[1, 2, 3]\n"]),
    "options.json of [1]": dict(options=[1]),
    'options.json of {"kimg": "lots"}': dict(options={"family": "dcgan", "kimg": "lots"}),
    "values of the wrong types": dict(
        stats_lines=[json.dumps({"Progress/kimg": "abc", "Loss/G/loss": 10**400, "Timing/sec_per_kimg": "x",
                                 "Progress/resolution": "big"}) + "\n"],
        events=[{"event": "started", "timestamp": "noon"},
                {"event": "snapshot", "snapshot": ["../x"], "timestamp": 1e300},
                {"event": "error", "message": {"deep": [1]}, "timestamp": None}]),
}


@pytest.mark.parametrize("damage", MALFORMED, ids=list(MALFORMED))
def test_open_run_on_a_malformed_run_skips_what_it_cannot_use_and_the_window_starts_again(
        make_workspace, qtbot, monkeypatch, tmp_path, damage):
    run_dir = _write_run(tmp_path / "run", **MALFORMED[damage])
    ws = make_workspace()
    _open_run(ws, qtbot, monkeypatch, run_dir)  # an exception out of the slot fails the test (pytest-qt)
    assert ws.current is not None and ws.current.path == str(run_dir.resolve())
    assert ws.status_label.text().startswith("run: ")
    assert ws.curve_points("Loss/D/loss") >= 2  # the good ticks are still drawn
    if damage != "values of the wrong types":
        assert "[monitor]" in ws.log.toPlainText()  # what was skipped: one line in the run's log
        assert len([line for line in ws.log.toPlainText().splitlines() if "[monitor]" in line]) == 1
    # Remembered; and the next start (a new window on the same settings) watches it again.
    assert settings_list(_settings(tmp_path / "settings.ini").value("runs")) == [str(run_dir.resolve())]
    again = make_workspace()
    assert list(again.runs) == [str(run_dir.resolve())] and again.restore_message == ""
    for _ in range(3):
        again.poll()


def test_a_remembered_run_that_cannot_be_watched_is_set_aside_with_one_line(make_workspace, tmp_path):
    good = _write_run(tmp_path / "good", stats_lines=["[1]\n"], options=[1])
    a_file = tmp_path / "a-file"
    a_file.write_text("not a run")
    ini = tmp_path / "settings.ini"
    settings = _settings(ini)
    settings.setValue("runs", [str(a_file), str(good), str(tmp_path / "gone")])
    settings.sync()
    ws = make_workspace(ini)
    assert list(ws.runs) == [str(good.resolve())]
    message = ws.restore_message
    assert "set aside" in message and "a-file" in message and "gone" in message and "\n" not in message
    assert ws.status_label.text() == message
    assert settings_list(_settings(ini).value("runs")) == [str(good.resolve())]  # forgotten: said once


def test_the_window_says_which_remembered_runs_were_set_aside(make_window, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a run")
    settings = _settings(tmp_path / "settings.ini")  # the one make_window's window reads
    settings.setValue("runs", str(a_file))  # one remembered run: QSettings reads it back as a string
    settings.sync()
    window = make_window()
    assert window.workspace.runs == {}
    assert "set aside" in window.statusBar().currentMessage() and "a-file" in window.statusBar().currentMessage()


@pytest.mark.parametrize("line", ["runs={one}", "runs=5", "runs=@ByteArray({one})",
                                  "runs=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\aQPointF\\0@\\0\\0\\0\\0\\0\\0\\0@\\b\\0\\0\\0\\0\\0\\0)",
                                  "runs=@Invalid()", "runs="])
def test_remembered_runs_of_any_type_in_the_settings_file(make_workspace, tmp_path, line):
    """QSettings reads one remembered run back as a string (its characters are not runs), and a
    settings file edited by hand may hold a number, a byte array or a point there."""
    run_dir = _write_run(tmp_path / "one")
    ini = tmp_path / "settings.ini"
    ini.write_text("[General]\n" + line.format(one=run_dir) + "\n")
    ws = make_workspace(ini)
    assert list(ws.runs) == ([str(run_dir.resolve())] if line == "runs={one}" else [])


def test_the_window_starts_with_a_malformed_remembered_run(tiny_model_file, tmp_path, qtbot, monkeypatch,
                                                           make_workspace):
    """The lock-out itself: Open run... on a malformed run, then `gan-explorer --smoke-test` (the
    window's own settings, in the test's folder) starts and renders."""
    config = tmp_path / "config"
    ini = config / "gan_explorer" / "gan_explorer.conf"  # where the window's QSettings lives on Linux
    run_dir = _write_run(tmp_path / "run", stats_lines=["[1]\n"], options={"kimg": "lots"})
    ws = make_workspace(ini)
    _open_run(ws, qtbot, monkeypatch, run_dir)
    ws.settings.sync()
    assert settings_list(_settings(ini).value("runs")) == [str(run_dir.resolve())]
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "gan_explorer", "--smoke-test", str(tiny_model_file)],
                            capture_output=True, text=True, timeout=HANG_S, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "smoke test passed" in result.stdout and "Traceback" not in result.stderr


# The cases that hung or filled memory: in a child process (one for all, as the issue measures it),
# each opened through Open run... and polled. A watchdog ends the child past 1.5 GB, so that a
# regression fails the test rather than the machine.
CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path

def watchdog():
    while True:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        if rss > 1536 * 1024**2:
            print(f"watchdog: {rss / 1024**2:.0f} MB resident", file=sys.stderr, flush=True)
            os._exit(3)
        time.sleep(0.02)

threading.Thread(target=watchdog, daemon=True).start()
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton
app = QApplication([])
from gan_explorer.gui.training_monitor import TrainingWorkspace

out = {}
for i, run_dir in enumerate(sys.argv[2:]):
    print("case", run_dir, file=sys.stderr, flush=True)  # the last one printed is the one that hung
    ws = TrainingWorkspace(QSettings(f"{sys.argv[1]}/settings-{i}.ini", QSettings.IniFormat))
    QFileDialog.getExistingDirectory = staticmethod(lambda *args, **kwargs: run_dir)
    [b for b in ws.findChildren(QPushButton) if b.text() == "Open run…"][0].click()
    for _ in range(4):
        ws.poll()
        app.processEvents()
    events = [ws.events.item(i).text() for i in range(ws.events.count())]
    out[Path(run_dir).name] = {"status": ws.status_label.text(), "log": ws.log.toPlainText(), "events": events,
                               "watched": list(ws.runs)}
    ws.shutdown()
    ws.deleteLater()
# The child's own high-water mark (VmHWM): getrusage's ru_maxrss keeps the forking pytest's across exec.
with open("/proc/self/status") as status:
    out["peak_rss_mb"] = int(next(line.split()[1] for line in status if line.startswith("VmHWM"))) / 1024
print(json.dumps(out))
"""


def _fifo_run(tmp_path, name, fifo):
    run_dir = _write_run(tmp_path / name)
    (run_dir / fifo).unlink(missing_ok=True)
    os.mkfifo(run_dir / fifo)
    return run_dir


def test_fifos_dev_zero_and_a_10_mb_message_neither_hang_nor_fill_memory(tmp_path):
    cases = [_fifo_run(tmp_path, f"fifo-{name}", name) for name in
             ("stats.jsonl", "events.jsonl", ".lock", "options.json", "log.txt", "metrics.jsonl",
              "samples-000000.png")]
    zero = _write_run(tmp_path / "dev-zero")
    (zero / "stats.jsonl").unlink()
    (zero / "stats.jsonl").symlink_to("/dev/zero")
    huge = _write_run(tmp_path / "huge-message", events=[
        {"event": "started", "timestamp": 1.0},
        {"event": "error", "message": "disk on fire " * 810_000, "timestamp": 2.0, "traceback": "x"}])  # 10 MB
    assert (huge / "events.jsonl").stat().st_size > 10 * 1024**2
    regular = huge / "log.txt"
    regular.write_text("y" * (3 * 1024**2) + "\nlast line\n")  # a 3 MB log line: cut, never shown whole
    cases += [zero, huge]
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), *map(str, cases)],
                            capture_output=True, text=True, timeout=HANG_S, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["peak_rss_mb"] < MAX_RSS_MB, out["peak_rss_mb"]
    for run_dir in cases:
        seen = out[run_dir.name]
        assert seen["watched"] == [str(run_dir.resolve())], run_dir.name
        assert seen["status"].startswith(f"{run_dir.name}: "), seen["status"]
    for name in ("stats.jsonl", "events.jsonl", "options.json", "log.txt", "metrics.jsonl"):
        assert f"[monitor] {name}: not a regular file (a FIFO)" in out[f"fifo-{name}"]["log"]
    assert "[monitor] stats.jsonl: not a regular file (a character device)" in out["dev-zero"]["log"]
    message = out["huge-message"]
    assert message["status"].startswith("huge-message: error")  # the run still says how it ended
    assert "line longer than" in message["status"] and len(message["status"]) < 3000
    assert max(len(text) for text in message["events"]) <= 400
    assert "[monitor] events.jsonl: 1 line skipped (longer than" in message["log"]
    assert "a line longer than" in message["log"] and message["log"].rstrip().endswith("last line")
    assert len(message["log"]) < 10_000
