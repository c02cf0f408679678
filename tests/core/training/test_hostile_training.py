"""Issue #15, a training state that knows it is corrupt, a run directory that is never silently
started over, a full disk, a lock that dies with its owner, SIGTERM, NaN steps."""

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import pytest
import torch

from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.training.loop import training_loop
from gan_explorer.core.training.run_dir import RunDirectory, StateError, read_jsonl, read_state
from tests.core.training.conftest import tiny_options
from tests.core.training.test_processes import TRAIN, _wait_for
from tests.core.training.test_training import NaNAfter


def _events(run_dir):
    return read_jsonl(run_dir / "events.jsonl")


def _flip_bytes_in_a_record(path, count=64):
    """Flip `count` bytes in the middle of the largest tensor record, as bit rot or a bad copy would."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
    for i in range(start, start + count):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _networks(path):
    return torch.load(path, weights_only=True)["trainer"]["networks"]


def test_a_corrupt_state_is_refused_and_the_previous_one_resumes_exactly(tmp_path):
    options = tiny_options("dcgan", kimg=0.032)
    straight = tmp_path / "straight"
    training_loop(straight, options.replace(kimg=0.048))
    run_dir = tmp_path / "run"
    training_loop(run_dir, options)  # ticks 1 and 2: state (tick 2) and previous state (tick 1)
    run = RunDirectory(run_dir)
    assert read_state(run.prev_state_path)["tick"] == 1 and read_state(run.state_path)["tick"] == 2
    _flip_bytes_in_a_record(run.state_path)
    with pytest.raises(StateError, match="do not match their sha256 checksum") as info:
        read_state(run.state_path)
    assert "\n" not in str(info.value) and str(run.state_path) in str(info.value)

    assert training_loop(run_dir, options.replace(kimg=0.048)) == "finished"
    events = _events(run_dir)
    refused = [e for e in events if e["event"] == "state_refused"]
    assert len(refused) == 1 and "checksum" in refused[0]["message"] and "previous state" in refused[0]["message"]
    resumed = [e for e in events if e["event"] == "resumed"]
    assert resumed[-1]["tick"] == 1  # from the previous good state, not the corrupt newest one
    assert (run_dir / "training-state.pt.corrupt").exists()  # kept for a look, never used again
    assert [s["Progress/tick"] for s in read_jsonl(run.stats_path)] == [1, 2, 3]
    a, b = _networks(straight / "training-state.pt"), _networks(run.state_path)
    for net in a:
        for key, value in a[net].items():
            assert torch.equal(value, b[net][key]), (net, key)  # bit-identical to a run never corrupted


def test_both_states_bad_is_one_line_that_offers_restart(tmp_path):
    run_dir = tmp_path / "run"
    training_loop(run_dir, tiny_options("dcgan", kimg=0.032))
    run = RunDirectory(run_dir)
    run.state_path.write_bytes(b"")
    run.prev_state_path.write_bytes(os.urandom(4096))
    with pytest.raises(StateError) as info:
        training_loop(run_dir, tiny_options("dcgan", kimg=0.048))
    message = str(info.value)
    assert "\n" not in message and "empty file (0 bytes)" in message
    assert "not a torch.save archive" in message and "--restart" in message
    assert "weights_only" not in message and "()" not in message
    assert _events(run_dir)[-1]["event"] == "error"


@pytest.mark.parametrize("damage", ["missing keys", "zero bytes", "random bytes", "not a dict"])
def test_damaged_states_are_one_plain_line(tmp_path, damage):
    path = tmp_path / "training-state.pt"
    if damage == "missing keys":
        torch.save({"trainer": {}, "tick": 1}, path)
    elif damage == "zero bytes":
        path.write_bytes(b"")
    elif damage == "random bytes":
        path.write_bytes(os.urandom(5000))
    else:
        torch.save([1, 2, 3], path)
    with pytest.raises(StateError) as info:
        read_state(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "weights_only" not in message
    expected = {"missing keys": "missing cur_nimg, total_sec, rollbacks, rng", "zero bytes": "empty file",
                "random bytes": "not a torch.save archive", "not a dict": "not a dict"}[damage]
    assert expected in message


def test_a_deleted_state_is_never_silently_started_over(tmp_path):
    run_dir = tmp_path / "run"
    options = tiny_options("dcgan", kimg=0.032)
    training_loop(run_dir, options)
    run = RunDirectory(run_dir)
    run.state_path.unlink()
    run.prev_state_path.unlink()
    old_stats = run.stats_path.read_bytes()
    with pytest.raises(ConfigError, match="no training state to resume from .*--restart"):
        training_loop(run_dir, options)
    assert run.stats_path.read_bytes() == old_stats  # nothing appended, no snapshot overwritten
    assert training_loop(run_dir, options, restart=True) == "finished"
    moved = tmp_path / "run.old-1"
    assert (moved / "stats.jsonl").read_bytes() == old_stats and list(moved.glob("network-snapshot-*"))
    assert [s["Progress/tick"] for s in read_jsonl(run.stats_path)] == [1, 2]
    assert [e["event"] for e in _events(run_dir)][:2] == ["restarted", "started"]


def test_a_start_killed_before_its_first_state_can_be_started_again(tmp_path):
    """SIGTERM a few seconds after launch (the data or the model still being built) leaves an
    `aborted` event and no state: the same command starts the run, it is not a deleted state."""
    run_dir = tmp_path / "run"
    options = tiny_options("dcgan", kimg=0.032)
    run = RunDirectory(run_dir)
    run.path.mkdir(parents=True)
    run.write_options(options.resolved().to_json())
    run.event("aborted", reason="terminated (SIGTERM)")
    assert not run.has_state() and not run.has_history()
    assert training_loop(run_dir, options) == "finished"
    assert [e["event"] for e in _events(run_dir)][:2] == ["aborted", "started"]


def test_jsonl_appends_terminate_a_cut_line_first(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.acquire()
    try:
        run.event("started")
        with open(run.events_path, "ab") as f:
            f.write(b'{"event": "error", "message": "disk fu')  # a write the full disk cut short
        run.event("resumed", kimg=1.0)
    finally:
        run.release()
    events = read_jsonl(run.events_path)
    assert [e["event"] for e in events] == ["started", "resumed"]  # the cut line alone is skipped
    assert run.events_path.read_bytes().count(b"\n") == 3


DISK_FULL = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG, as ENOSPC on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    from gan_explorer.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_a_complete_error_event(tmp_path):
    run_dir = tmp_path / "run"
    result = subprocess.run([sys.executable, "-c", DISK_FULL, *TRAIN[3:], "--kimg", "0.032", "--run-dir", str(run_dir)],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-3000:]
    assert "file size limit reached" in lines[0] and "training-state.pt" in lines[0] and "bytes needed" in lines[0]
    last = _events(run_dir)[-1]
    assert last["event"] == "error" and "bytes needed" in last["message"]
    assert not list(run_dir.glob(".*.tmp*")) and not (run_dir / "training-state.pt").exists()


LOCK_HOLDER = textwrap.dedent("""
    import os, sys, time
    from gan_explorer.core.training.run_dir import RunDirectory
    run = RunDirectory(sys.argv[1])
    run.acquire()
    if os.fork() == 0:  # what a DataLoader worker is: a forked child that outlives a killed parent
        time.sleep(30)
        os._exit(0)
    print("locked", flush=True)
    time.sleep(60)
""")


def test_a_killed_trainer_frees_its_run_although_its_forked_workers_live_on(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(GanExplorerError, match="another process is training"):
            RunDirectory(run_dir).acquire()
        proc.send_signal(signal.SIGKILL)  # the parent dies; its forked child keeps running
        proc.wait(10)
        run = RunDirectory(run_dir)
        run.acquire()  # at once: the child closed its copy of the lock descriptor when it was forked
        run.release()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_sigterm_ends_a_run_with_an_aborted_event(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(TRAIN + ["--kimg", "50", "--run-dir", str(run_dir)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: (run_dir / "stats.jsonl").exists(), 120)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
    last = _events(run_dir)[-1]
    assert last["event"] == "aborted" and last["reason"] == "terminated (SIGTERM)"
    assert "terminated" in proc.stderr.read()


def test_steps_skipped_for_nan_do_not_count_as_trained(tmp_path):
    run_dir = tmp_path / "run"
    options = tiny_options("dcgan", kimg=0.128)
    assert training_loop(run_dir, options, dataset=NaNAfter(start=40, count=16)) == "finished"
    stats = read_jsonl(run_dir / "stats.jsonl")
    skipped_steps = sum(s["Guard/nonfinite_steps"] for s in stats)
    assert skipped_steps >= 2
    assert stats[-1]["Progress/kimg"] == pytest.approx(0.128)  # 128 images really trained on
    assert stats[-1]["Progress/step"] == 128 // 8 + skipped_steps
    assert stats[-1]["Progress/skipped_kimg"] == pytest.approx(skipped_steps * 8 / 1000)
