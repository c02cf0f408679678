import os
from pathlib import Path

import torch

from gan_explorer.core.training.augment import AdaptiveAugment, diff_augment
from gan_explorer.core.training.run_dir import RunDirectory, tail_jsonl


def test_diff_augment_keeps_shape_and_passes_gradients():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x)
    assert y.shape == x.shape and not torch.equal(y, x)
    y.sum().backward()
    assert x.grad.abs().sum() > 0


def test_ada_p_rises_when_d_overfits_and_falls_back():
    ada = AdaptiveAugment(target=0.6, adjust_kimg=1.0, interval=1)
    for _ in range(10):
        ada.accumulate(torch.ones(32))  # D is sure every real is real: r_t = 1 > 0.6
        ada.update(32)
    high = ada.p
    assert high > 0.2 and ada.rt == 1.0
    for _ in range(10):
        ada.accumulate(-torch.ones(32))
        ada.update(32)
    assert ada.p < high
    x = torch.rand(8, 3, 16, 16)
    ada.p = 1.0
    assert not torch.equal(ada(x), x)
    ada.p = 0.0
    assert torch.equal(ada(x), x)


def test_tail_skips_a_half_written_last_line(tmp_path):
    path = tmp_path / "stats.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": 3')
    records, offset = tail_jsonl(path)
    assert [r["a"] for r in records] == [1, 2]
    with open(path, "ab") as f:
        f.write(b'}\n{"a": 4}\n')
    more, offset = tail_jsonl(path, offset)
    assert [r["a"] for r in more] == [3, 4] and offset == path.stat().st_size


def test_truncate_stats_keeps_only_saved_ticks(tmp_path):
    run = RunDirectory(tmp_path)
    for tick in range(1, 6):
        run.append_stats({"Progress/tick": tick})
    run.truncate_stats(3)
    assert [r["Progress/tick"] for r in tail_jsonl(run.stats_path)[0]] == [1, 2, 3]


def test_a_busy_run_directory_keeps_its_owner_pid(tmp_path):
    import os

    import pytest

    from gan_explorer.core.training.run_dir import RunDirectoryBusy

    owner = RunDirectory(tmp_path / "run")
    owner.acquire()
    try:
        with pytest.raises(RunDirectoryBusy):
            RunDirectory(tmp_path / "run").acquire()
        assert (tmp_path / "run" / ".lock").read_text() == str(os.getpid())
    finally:
        owner.release()


def test_a_monitor_probing_the_lock_never_makes_a_starting_trainer_fail(tmp_path):
    """run_is_active() holds a shared lock for an instant; a trainer starting then must still start."""
    import fcntl
    import threading

    from gan_explorer.core.training.monitor import run_is_active

    (tmp_path / "run").mkdir()
    lock = tmp_path / "run" / ".lock"
    lock.write_text("")
    assert run_is_active(tmp_path / "run") is False
    probe = open(lock, "a")
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)  # a probe caught mid-way
    threading.Timer(0.3, lambda: (fcntl.flock(probe, fcntl.LOCK_UN), probe.close())).start()
    trainer = RunDirectory(tmp_path / "run")
    trainer.acquire()  # waits the probe out instead of raising RunDirectoryBusy
    try:
        assert run_is_active(tmp_path / "run") is True
    finally:
        trainer.release()
    assert run_is_active(tmp_path / "run") is False


def test_stale_temp_files_of_a_killed_writer_are_removed(tmp_path):
    """Only the temporaries atomic writes of the run's own files leave (their exact shape, as
    mkstemp names them); a user's `.thesis.docx.tmp` in the run directory is never deleted (issue #26)."""
    import tempfile

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    stale = [Path(tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{Path(name).suffix}", dir=run_dir)[1])
             for name in ("training-state.pt", "options.json", "network-snapshot-000004.safetensors")]
    kept = run_dir / "stats.jsonl"
    kept.write_text("{}\n")
    users = [run_dir / name for name in (".thesis.docx.tmp", ".notes.tmp.txt", ".options.json.tmp",
                                         ".training-state.pt.tmp", ".thesis.docx.abcdefgh.tmp.docx")]
    for path in users:
        path.write_bytes(b"the user's")
    elsewhere = tmp_path / "elsewhere.pt"
    elsewhere.write_bytes(b"the user's")
    os.symlink(elsewhere, run_dir / ".training-state.pt.abcdefgh.tmp.pt")  # a link is never a temporary of ours
    run = RunDirectory(run_dir)
    run.acquire()
    run.release()
    assert not any(p.exists() for p in stale) and kept.exists()
    assert all(p.read_bytes() == b"the user's" for p in users)
    assert (run_dir / ".training-state.pt.abcdefgh.tmp.pt").is_symlink() and elsewhere.read_bytes() == b"the user's"


def test_run_options_are_read_back_by_the_run_directory_module(tmp_path, tiny):
    """The run directory's format (options.json included) is read where it is written: run_dir.py."""
    import pytest

    from gan_explorer.core.errors import GanExplorerError
    from gan_explorer.core.training import run_dir

    assert run_dir.load_run_options(tmp_path / "none") is None
    options = tiny("dcgan").resolved()
    RunDirectory(tmp_path / "run").write_options(options.to_json())
    assert run_dir.load_run_options(tmp_path / "run").to_json() == options.to_json()
    (tmp_path / "run" / "options.json").write_text("{not json")
    with pytest.raises(GanExplorerError, match="unreadable options") as caught:
        run_dir.load_run_options(tmp_path / "run")
    assert "\n" not in str(caught.value)
