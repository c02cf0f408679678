"""`train --metrics fd,kid`: every snapshot is evaluated in the training process and recorded."""

import pytest

from gan_explorer.cli import main
from gan_explorer.core.training.loop import training_loop
from gan_explorer.core.training.run_dir import read_jsonl
from tests.core.training.conftest import tiny_options


def test_training_evaluates_each_snapshot(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_EXPLORER_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    assert training_loop(run, tiny_options("stylegan", metrics=("fd", "kid"), metrics_num=16)) == "finished"
    snapshots = [e["snapshot"] for e in read_jsonl(run / "events.jsonl") if e["event"] == "snapshot" and "snapshot" in e]
    lines = read_jsonl(run / "metrics.jsonl")
    assert [line["snapshot"] for line in lines] == snapshots and len(lines) >= 2
    for line in lines:
        assert line["label"] == "FD/KID (gan_explorer features)" and line["num"] == 16
        assert line["Metrics/fd"] > 0 and "Metrics/kid_mean" in line and line["Timing/metrics_sec"] > 0
    metric_events = [e for e in read_jsonl(run / "events.jsonl") if e["event"] == "metric"]
    assert [e["snapshot"] for e in metric_events] == snapshots
    # Resuming keeps the metrics of options.json; a later `metrics --run-dir` finds nothing left to do.
    assert main(["metrics", "--run-dir", str(run), "--metrics", "fd", "--num", "16", "--no-progress"]) == 0
    assert len(read_jsonl(run / "metrics.jsonl")) == len(lines)


def test_cli_rejects_unknown_training_metrics(tmp_path, capsys):
    code = main(["train", "--family", "dcgan", "--data", "faces:16", "--run-dir", str(tmp_path / "r"),
                 "--metrics", "fid"])
    assert code == 2 and "metric 'fid'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_metric_that_cannot_run_is_an_event_not_the_end_of_training(tmp_path):
    run = tmp_path / "cg"
    assert training_loop(run, tiny_options("cyclegan", metrics=("fd",), metrics_num=4)) == "finished"
    failed = [e for e in read_jsonl(run / "events.jsonl") if e["event"] == "metric"]
    assert failed and all("translates images" in e["failed"] for e in failed)
    assert not (run / "metrics.jsonl").exists()


def test_metrics_asked_on_a_resume_are_evaluated_from_then_on(tmp_path, monkeypatch):
    """A run started without --metrics, lengthened with `train --run-dir R --kimg K --metrics fd`:
    the new snapshots are evaluated (the flag used to be dropped on a resume)."""
    monkeypatch.setenv("GAN_EXPLORER_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    assert training_loop(run, tiny_options("dcgan", kimg=0.032)) == "finished"
    assert not (run / "metrics.jsonl").exists()
    assert main(["train", "--run-dir", str(run), "--kimg", "0.064", "--metrics", "fd", "--metrics-num", "16",
                 "--workers", "0", "--device", "cpu", "--no-progress"]) == 0
    lines = read_jsonl(run / "metrics.jsonl")
    assert lines and all(line["num"] == 16 and line["Metrics/fd"] > 0 for line in lines)
    assert all(line["Progress/kimg"] > 0.032 for line in lines), lines[0].keys()
