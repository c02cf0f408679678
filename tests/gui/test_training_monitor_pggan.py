"""The monitor shows where a progressive run stands (resolution, fade-in alpha), and the window
opens a snapshot taken during a fade-in at the resolution it was taken at."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.training.loop import training_loop
from gan_explorer.core.training.options import TrainingOptions
from gan_explorer.core.training.run_dir import RunDirectory
from gan_explorer.gui.training_monitor import TrainingWorkspace, growth_text
from tests.gui.conftest import open_and_wait


@pytest.fixture
def workspace(qtbot, tmp_path):
    ws = TrainingWorkspace(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(ws)
    yield ws
    ws.shutdown()


@pytest.fixture(scope="module")
def fading_run(tmp_path_factory):
    """A real pggan run stopped half way through its 8 -> 16 px fade-in (0.048 of 0.032..0.064 kimg)."""
    run_dir = tmp_path_factory.mktemp("pggan") / "run"
    options = TrainingOptions(family="pggan", data="faces:16", resolution=16, kimg=0.096, batch=8, tick_kimg=0.008,
                              snapshot_ticks=1, workers=0, progress=False, device="cpu", start_resolution=8,
                              phase_kimg=0.032, fade_kimg=0.032, model={"z_dim": 16, "fmap_base": 128, "fmap_max": 16})
    steps = {"n": 0}

    def abort_after_six_steps():
        steps["n"] += 1
        return steps["n"] > 6

    assert training_loop(run_dir, options, abort_fn=abort_after_six_steps) == "aborted"
    return run_dir


def test_the_monitor_shows_resolution_and_fade_in_alpha(workspace, fading_run):
    assert workspace.family.findText("pggan") >= 0  # the form offers the family
    workspace.attach(fading_run)
    assert workspace.current.reader.growth() == {"resolution": 16, "alpha": 0.5, "phase": "fade-in"}
    assert workspace.growth_label.text() == "resolution 16 px, fade-in alpha 0.50"
    assert not workspace.growth_label.isHidden()
    assert not any(k.startswith("Progress/") for k in workspace.current.series)  # a state, not a curve
    assert workspace.curve_points("Loss/D/loss") == 6


def test_the_label_follows_new_ticks_and_hides_for_a_run_that_does_not_grow(workspace, tmp_path):
    run_dir = tmp_path / "written"
    run_dir.mkdir()
    (run_dir / "options.json").write_text(json.dumps({"family": "pggan", "kimg": 1.0}))
    stats = run_dir / "stats.jsonl"
    record = {"Progress/kimg": 0.1, "Progress/tick": 1, "Loss/D/loss": 1.0, "Progress/resolution": 32,
              "Progress/alpha": 0.421, "Progress/phase": "fade-in"}
    stats.write_text(json.dumps(record) + "\n")
    workspace.attach(run_dir)
    assert workspace.growth_label.text() == "resolution 32 px, fade-in alpha 0.42"
    with open(stats, "a") as f:
        f.write(json.dumps({**record, "Progress/kimg": 0.2, "Progress/tick": 2, "Progress/alpha": 1.0,
                            "Progress/phase": "stable"}) + "\n")
    workspace.poll()
    assert workspace.growth_label.text() == "resolution 32 px, stable"

    plain = tmp_path / "dcgan"
    plain.mkdir()
    (plain / "options.json").write_text(json.dumps({"family": "dcgan", "kimg": 1.0}))
    plain_record = {"Progress/kimg": 0.1, "Progress/tick": 1, "Loss/D/loss": 1.0}
    (plain / "stats.jsonl").write_text(json.dumps(plain_record) + "\n")
    workspace.attach(plain)
    assert workspace.growth_label.isHidden() and workspace.growth_label.text() == ""
    assert growth_text(None) == ""


def test_a_snapshot_taken_during_a_fade_in_opens_in_the_window_at_its_resolution(make_window, qtbot, fading_run):
    snapshot = RunDirectory(fading_run).latest_snapshot()
    model = load_model(snapshot)
    assert (model.img_resolution, model.config.alpha) == (16, 0.5)
    window = make_window()
    open_and_wait(qtbot, window, snapshot)
    assert window.info.family == "pggan" and window.view.image.shape == (16, 16, 3)
    assert np.asarray(window.view.image).std() > 0
