"""Training as a separate process: kill -9 at random moments, the stop file, torchrun."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.training.run_dir import RunDirectory, read_jsonl

TRAIN = [sys.executable, "-m", "gan_explorer", "train", "--family", "dcgan", "--data", "faces:16",
         "--batch", "8", "--tick-kimg", "0.016", "--snapshot-ticks", "2", "--workers", "0", "--no-progress",
         "--device", "cpu", "--model-option", "ngf=8", "--model-option", "ndf=8", "--model-option", "z_dim=16"]


def _wait_for(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _check_run_is_whole(run_dir, finished=True):
    stats = read_jsonl(run_dir / "stats.jsonl")
    ticks = [s["Progress/tick"] for s in stats]
    assert ticks == list(range(1, len(ticks) + 1)), ticks  # no tick lost or repeated
    kimgs = [s["Progress/kimg"] for s in stats]
    assert kimgs == sorted(kimgs)
    for path in RunDirectory(run_dir).snapshots():
        load_model(path)  # every snapshot left behind is whole
    if finished:  # a kill may leave a hidden temp file; the next run removes it
        assert not list(run_dir.glob(".*.tmp*"))
        assert read_jsonl(run_dir / "events.jsonl")[-1]["event"] == "finished"
    return stats


@pytest.mark.slow
def test_kill_9_at_random_moments_always_resumes(tmp_path):
    run_dir = tmp_path / "run"
    # Long enough that no attempt can finish before its kill, even on a fast, quiet machine.
    command = TRAIN + ["--kimg", "2", "--run-dir", str(run_dir)]
    rng = random.Random(1234)
    kills = 0
    events_path = run_dir / "events.jsonl"
    for attempt in range(4):
        seen = len(read_jsonl(events_path))
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Let it start training (imports take seconds), then kill it without warning.
        _wait_for(lambda: len(read_jsonl(events_path)) > seen or proc.poll() is not None, 60)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(60)
        _check_run_is_whole(run_dir, finished=False)
    assert kills == 4
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    stats = _check_run_is_whole(run_dir)
    assert stats[-1]["Progress/kimg"] >= 2
    events = [e["event"] for e in read_jsonl(run_dir / "events.jsonl")]
    assert events.count("started") == 1 and events.count("resumed") == 4


@pytest.mark.slow
def test_stop_file_from_outside(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(TRAIN + ["--kimg", "50", "--run-dir", str(run_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: (run_dir / "stats.jsonl").exists(), 60)
        RunDirectory(run_dir).request_stop()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    events = read_jsonl(run_dir / "events.jsonl")
    assert events[-1]["event"] == "aborted" and events[-2]["event"] == "snapshot"
    assert RunDirectory(run_dir).latest_snapshot().name == events[-2]["snapshot"]


@pytest.mark.slow
def test_torchrun_two_gloo_processes_write_one_run(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # `python -m torch.distributed.run` is torchrun itself, without relying on a PATH shim.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "gan_explorer", "train",
               *TRAIN[4:], "--kimg", "0.064", "--run-dir", str(run_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = _check_run_is_whole(run_dir)
    assert len(stats) == 4  # 64 images in ticks of 16: written once, by rank 0
    started = read_jsonl(run_dir / "events.jsonl")[0]
    assert started["world_size"] == 2 and started["batch"] == 8
    assert json.loads((run_dir / "options.json").read_text())["batch"] == 8
    assert stats[-1]["Progress/step"] == 8  # 64 images / global batch 8: each rank took 4 per step
