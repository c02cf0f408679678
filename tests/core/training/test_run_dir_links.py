"""A run directory never writes, truncates or deletes a file outside it (issue #26): its `.lock`,
jsonl records, control folder and log are refused, not followed, where they are links, FIFOs or
hard links; the only files a trainer deletes are its own temporaries."""

import os

import pytest

from gan_explorer.cli import main
from gan_explorer.core.errors import OutputError
from gan_explorer.core.training.monitor import RunState, run_is_active
from gan_explorer.core.training.run_dir import RunDirectory
from tests.conftest import PRECIOUS

TRAIN = ["train", "--family", "vae", "--data", "faces:16", "--kimg", "0.016", "--batch", "8", "--tick-kimg", "0.008",
         "--model-option", "base_channels=4", "--workers", "0", "--no-progress", "--device", "cpu"]


def _run(tmp_path, name=None, link_to=None):
    run = tmp_path / "run"
    run.mkdir()
    if name:
        os.symlink(link_to, run / name)
    return run


def test_a_lock_that_is_a_link_a_hard_link_or_a_fifo_is_refused_not_truncated(tmp_path, users_file):
    run = _run(tmp_path, ".lock", users_file)
    with pytest.raises(OutputError, match="symbolic link"):
        RunDirectory(run).acquire()
    (run / ".lock").unlink()
    os.link(users_file, run / ".lock")
    with pytest.raises(OutputError, match="hard links"):
        RunDirectory(run).acquire()
    (run / ".lock").unlink()
    os.mkfifo(run / ".lock")
    with pytest.raises(OutputError, match="FIFO"):
        RunDirectory(run).acquire()
    assert run_is_active(run) is False  # a monitor never blocks on it either
    assert users_file.read_bytes() == PRECIOUS


def test_train_with_a_linked_lock_stops_with_one_line(tmp_path, users_file, capsys):
    run = _run(tmp_path, ".lock", users_file)
    assert main([*TRAIN, "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ".lock: is a symbolic link" in err[0]
    assert users_file.read_bytes() == PRECIOUS


@pytest.mark.parametrize("name", ["events.jsonl", "stats.jsonl", "metrics.jsonl"])
def test_a_record_is_never_appended_through_a_link(tmp_path, users_file, name):
    run = RunDirectory(_run(tmp_path, name, users_file))
    with pytest.raises(OutputError, match="symbolic link"):
        run._append(run.path / name, {"event": "started"})
    assert users_file.read_bytes() == PRECIOUS


def test_train_with_a_linked_events_file_writes_nothing_through_it(tmp_path, users_file, capsys):
    run = _run(tmp_path, "events.jsonl", users_file)
    assert main([*TRAIN, "--run-dir", str(run)]) == 2
    assert "events.jsonl: is a symbolic link" in capsys.readouterr().err
    assert users_file.read_bytes() == PRECIOUS and not list(run.glob("network-snapshot-*"))


def test_a_control_folder_that_links_to_a_users_folder_is_refused(tmp_path, capsys):
    """The user's own file named `stop` neither stops the run nor is deleted; Stop and Pause in the
    window make nothing in the user's folder and say why."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "stop").write_bytes(PRECIOUS)
    run = _run(tmp_path, "control", home)
    assert main([*TRAIN, "--run-dir", str(run)]) == 2
    assert "control: is a symbolic link" in capsys.readouterr().err
    assert (home / "stop").read_bytes() == PRECIOUS
    reader = RunDirectory(run, writer=False)
    assert not reader.stop_requested()
    state = RunState(run)
    assert "control: is a symbolic link" in state.request_stop()
    assert "control: is a symbolic link" in state.set_paused(True)
    assert sorted(p.name for p in home.iterdir()) == ["stop"]


def test_a_stop_marker_that_is_a_dangling_link_creates_nothing_outside(tmp_path):
    run = _run(tmp_path)
    (run / "control").mkdir()
    outside = tmp_path / "home" / "made"
    outside.parent.mkdir()
    os.symlink(outside, run / "control" / "pause")
    RunDirectory(run).set_paused(True)  # `touch` would create the file it points to
    assert not outside.exists()


def test_stop_and_pause_files_in_the_runs_own_control_folder_still_work(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.acquire()
    try:
        (run.control_path / "stop").touch()  # a user's `touch RUN/control/stop`, as documented
        assert run.stop_requested()
        run.clear_stop()
        assert not run.stop_requested()
        assert RunState(run.path).set_paused(True) == "" and run.pause_requested()
        assert RunState(run.path).set_paused(False) == "" and not run.pause_requested()
        assert RunState(run.path).request_stop() == "" and run.stop_requested()
    finally:
        run.release()


def test_the_window_never_appends_its_log_through_a_link(tmp_path, users_file):
    run = _run(tmp_path, "log.txt", users_file)
    state = RunState(run)
    said = state.launch(["--run-dir", str(run)])
    assert "log.txt: is a symbolic link" in said and state.process is None
    assert users_file.read_bytes() == PRECIOUS


def test_keeping_the_previous_state_deletes_no_file_it_did_not_make(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.acquire()
    try:
        state = {"trainer": {}, "cur_nimg": 0, "tick": 0, "total_sec": 0.0, "rollbacks": 0, "rng": {}}
        run.save_state(state)
        users = run.path / f".training-state-prev.pt.{os.getpid()}.tmp"  # the name this used to delete first
        users.write_bytes(PRECIOUS)
        run.save_state({**state, "tick": 1})
        assert users.read_bytes() == PRECIOUS
        assert run.load_state()["tick"] == 1
    finally:
        run.release()
