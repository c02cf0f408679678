import json
import os
import signal

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, Qt

from gan_explorer.core.training.monitor import run_is_active
from gan_explorer.core.training.run_dir import RunDirectory, read_jsonl
from gan_explorer.gui.training_monitor import TrainingWorkspace, smooth
from tests.gui.laptop import assert_fits, give_back, on_a_laptop

TINY = "--tick-kimg 0.016 --snapshot-ticks 2 --workers 0 --model-option ngf=8 --model-option ndf=8 --model-option z_dim=16"


@pytest.fixture
def workspace(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    ws = TrainingWorkspace(settings)
    qtbot.addWidget(ws)
    yield ws
    ws.shutdown()
    for run in ws.runs.values():  # no process launched by a test outlives it
        if run.launched_at and run_is_active(run.path) and (pid := _pid(run.path)) and pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _pid(path):
    try:
        return int((RunDirectory(path).path / ".lock").read_text() or 0)
    except (OSError, ValueError):
        return 0


def _fill_form(ws, run_dir, kimg=50.0, data="faces:16"):
    ws.family.setCurrentText("dcgan")
    ws.data.setText(data)
    ws.kimg.setValue(kimg)
    ws.batch.setValue(8)
    ws.device.setCurrentText("cpu")
    ws.augment.setCurrentText("none")
    ws.extra.setText(TINY)
    ws.run_dir.setText(str(run_dir))


def test_launch_from_the_form_shows_curves_then_stop_writes_a_final_snapshot(workspace, qtbot, tmp_path):
    run_dir = tmp_path / "run"
    _fill_form(workspace, run_dir)
    workspace.launch_btn.click()
    qtbot.waitUntil(lambda: workspace.curve_points("Loss/D/loss") >= 2, timeout=90000)
    assert "Loss" in workspace.plot_items
    # 2+ ticks of 0.016 kimg out of 50 kimg: under 1% trained, which the bar (in thousandths) shows.
    assert 0 < workspace.current.progress() < 0.01
    assert workspace.progress.value() == int(1000 * workspace.current.progress()) < 10
    assert workspace.run_status(workspace.current) == "running"
    assert workspace.stop_btn.isEnabled() and workspace.pause_btn.isEnabled()
    assert not workspace.resume_btn.isEnabled()  # it is running: nothing to resume
    assert "ETA" in workspace.status_label.text()
    assert "$ " in workspace.log.toPlainText()  # the command line heads the log panel
    with qtbot.waitSignal(workspace.sigRunEnded, timeout=90000) as ended:
        qtbot.mouseClick(workspace.stop_btn, Qt.LeftButton)
    assert ended.args[1] == "stopped"  # the user's Stop, not a failure
    workspace.poll()
    assert not workspace.stop_btn.isEnabled() and not workspace.pause_btn.isEnabled()
    assert workspace.resume_btn.isEnabled() and workspace.explore_btn.isEnabled()
    assert "ETA" not in workspace.status_label.text()  # a stopped run has no ETA
    assert ": stopped, " in workspace.status_label.text()
    assert workspace.run_list.currentItem().text().endswith("[stopped]")
    assert "  stopped  " in workspace.events.item(workspace.events.count() - 1).text()
    events = read_jsonl(run_dir / "events.jsonl")
    assert events[-1]["event"] == "aborted" and events[-1]["reason"] == "stop requested"  # the file's words
    assert events[-2]["event"] == "snapshot"
    assert RunDirectory(run_dir).latest_snapshot() is not None


def test_a_killed_run_resumes_from_the_form(workspace, qtbot, tmp_path):
    run_dir = tmp_path / "run"
    # Long enough that it cannot finish before the kill (a short one did, in half a second).
    _fill_form(workspace, run_dir, kimg=50.0)
    workspace.launch_btn.click()
    qtbot.waitUntil(lambda: workspace.curve_points("Loss/G/loss") >= 1 and _pid(run_dir) > 0, timeout=90000)
    os.kill(_pid(run_dir), signal.SIGKILL)
    qtbot.waitUntil(lambda: workspace.run_status(workspace.current) == "interrupted", timeout=30000)
    qtbot.waitUntil(workspace.resume_btn.isEnabled, timeout=5000)  # the monitor noticed: Resume is offered
    before_resume = len(read_jsonl(run_dir / "stats.jsonl"))
    workspace.resume_btn.click()
    qtbot.waitUntil(lambda: workspace.curve_points("Loss/G/loss") >= before_resume + 2, timeout=90000)
    with qtbot.waitSignal(workspace.sigRunEnded, timeout=90000) as ended:
        workspace.stop_btn.click()
    assert ended.args[1] == "stopped"
    ticks = [s["Progress/tick"] for s in read_jsonl(run_dir / "stats.jsonl")]
    assert ticks == list(range(1, len(ticks) + 1)) and len(ticks) >= before_resume + 2  # none lost or repeated
    assert [e["event"] for e in read_jsonl(run_dir / "events.jsonl")].count("resumed") == 1
    qtbot.waitUntil(lambda: workspace.curve_points("Loss/G/loss") == len(ticks), timeout=10000)


def test_attaching_to_a_run_written_elsewhere_and_half_written_lines(workspace, qtbot, tmp_path):
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    (run_dir / "options.json").write_text(json.dumps({"family": "dcgan", "kimg": 1.0}))
    stats = run_dir / "stats.jsonl"
    stats.write_text(json.dumps({"Progress/kimg": 0.1, "Progress/tick": 1, "Loss/D/loss": 1.0}) + "\n")
    workspace.attach(run_dir)
    assert workspace.curve_points("Loss/D/loss") == 1
    line = json.dumps({"Progress/kimg": 0.2, "Progress/tick": 2, "Loss/D/loss": 0.5}) + "\n"
    with open(stats, "a") as f:
        f.write(line[:20])  # a writer caught mid-line
    workspace.poll()
    assert workspace.curve_points("Loss/D/loss") == 1
    with open(stats, "a") as f:
        f.write(line[20:])
    workspace.poll()
    assert workspace.curve_points("Loss/D/loss") == 2
    assert workspace.current.series["Loss/D/loss"][1] == [1.0, 0.5]
    assert "0.200 / 1 kimg" in workspace.status_label.text()


def test_a_failed_run_shows_its_error(workspace, qtbot, tmp_path):
    _fill_form(workspace, tmp_path / "run", data=str(tmp_path / "no-such-folder"))
    with qtbot.waitSignal(workspace.sigRunEnded, timeout=90000) as ended:
        workspace.launch_btn.click()
    assert ended.args[1] == "error"
    qtbot.waitUntil(lambda: "no such folder" in workspace.status_label.text(), timeout=10000)
    assert "Error:" in workspace.status_label.text()


def test_runs_are_reattached_after_a_restart_and_explore_opens_the_snapshot(workspace, qtbot, tmp_path):
    from gan_explorer.core.training.loop import training_loop
    from tests.core.training.conftest import tiny_options

    run_dir = tmp_path / "done"
    training_loop(run_dir, tiny_options("dcgan", kimg=0.032))
    workspace.attach(run_dir)
    again = TrainingWorkspace(workspace.settings)
    qtbot.addWidget(again)
    assert str(run_dir.resolve()) in again.runs
    opened = []
    again.sigExplore.connect(opened.append)
    again.explore_btn.click()
    assert opened and opened[0].endswith(".safetensors")
    snapshot_items = [again.events.item(i) for i in range(again.events.count())
                      if again.events.item(i).data(Qt.UserRole)]
    assert snapshot_items  # a chosen snapshot, from the events list
    again._event_activated(snapshot_items[0])
    assert opened[-1] == str(run_dir.resolve() / snapshot_items[0].data(Qt.UserRole))
    again.shutdown()


def test_dataset_preview_counts_readable_and_skipped(workspace, qtbot, tmp_path):
    from PIL import Image

    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    workspace.data.setText(str(folder))
    with qtbot.waitSignal(workspace.previewer.sigReady, timeout=30000):
        workspace.preview_btn.click()
    qtbot.waitUntil(lambda: "3 readable images, 1 skipped" in workspace.preview_label.text(), timeout=5000)


def test_smoothing():
    assert np.allclose(smooth([1, 1, 1], 0.9), [1, 1, 1])
    assert smooth([0, 10], 0.5)[1] == 5
    assert list(smooth([3, 4], 0)) == [3, 4]


def test_buttons_are_disabled_with_no_run_selected(workspace):
    for button in (workspace.stop_btn, workspace.pause_btn, workspace.resume_btn, workspace.explore_btn):
        assert not button.isEnabled(), button.text()


def test_extra_options_are_split_like_a_shell(workspace, tmp_path):
    _fill_form(workspace, tmp_path / "run")
    workspace.extra.setText("--data-b 'my photos/set B' --tick-kimg 1")
    args = workspace.form_arguments()
    assert args[-4:] == ["--data-b", "my photos/set B", "--tick-kimg", "1"]
    workspace.extra.setText("--data-b 'unclosed")
    assert workspace.launch() is None
    assert "Options" in workspace.status_label.text() and "quotation" in workspace.status_label.text()


def test_the_wheel_over_an_unfocused_control_or_plot_does_not_change_it(workspace, qtbot):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    workspace.show()

    def wheel(widget):
        event = QWheelEvent(QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))), QPoint(0, 120), QPoint(0, 120),
                            Qt.NoButton, Qt.NoModifier, Qt.ScrollUpdate, False)
        QApplication.sendEvent(widget, event)
        return event.isAccepted()

    workspace.batch.setValue(8)
    workspace.kimg.setValue(5)
    workspace.family.setCurrentText("dcgan")
    for widget, before in ((workspace.batch, 8), (workspace.kimg, 5.0)):
        assert not wheel(widget)  # ignored: the scroll area behind it gets the wheel
        assert widget.value() == before
    assert not wheel(workspace.family) and workspace.family.currentText() == "dcgan"
    view = workspace.plots
    before = view.transform()
    assert not wheel(view.viewport())  # a real wheel event reaches the view through its viewport
    assert view.transform() == before
    workspace.batch.setFocus()
    qtbot.waitUntil(workspace.batch.hasFocus)
    wheel(workspace.batch)
    assert workspace.batch.value() != 8  # once focused, the wheel works as usual


def test_quality_metrics_are_curves_beside_the_losses(workspace, tmp_path):
    from gan_explorer.core.metrics.evaluate import record_metrics

    run_dir = tmp_path / "measured"
    run_dir.mkdir()
    run = RunDirectory(run_dir)
    (run_dir / "options.json").write_text(json.dumps({"family": "dcgan", "kimg": 2.0}))
    (run_dir / "stats.jsonl").write_text(json.dumps({"Progress/kimg": 1.0, "Progress/tick": 1, "Loss/D/loss": 1.0})
                                         + "\n")
    result = {"features": "gan_explorer", "label": "FD/KID (gan_explorer features)", "num": 100,
              "data": "faces:16", "metrics": ["fd"], "fd": 31.5, "seconds": {"total_sec": 2.0}}
    record_metrics(run, result, 1.0, "network-snapshot-000001.000.safetensors")
    workspace.attach(run_dir)
    assert workspace.curve_points("Metrics/fd") == 1
    assert workspace.current.series["Metrics/fd"] == ([1.0], [31.5])
    assert "gan_explorer features" in workspace.plot_items["Metrics"].titleLabel.text
    result["fd"] = 20.0
    record_metrics(run, result, 2.0, "network-snapshot-000002.000.safetensors")
    workspace.poll()
    assert workspace.current.series["Metrics/fd"][1] == [31.5, 20.0]


def _measured_run(tmp_path):
    """A run with every plot group, metrics and a big sample grid (512 px, as a 64 px model's 8x8 grid)."""
    from PIL import Image

    from gan_explorer.core.metrics.evaluate import record_metrics

    run_dir = tmp_path / "measured"
    run_dir.mkdir()
    (run_dir / "options.json").write_text(json.dumps({"family": "dcgan", "kimg": 2.0}))
    with open(run_dir / "stats.jsonl", "w") as f:
        for tick in range(1, 21):
            f.write(json.dumps({"Progress/kimg": 0.1 * tick, "Progress/tick": tick, "Loss/D/loss": 1 + 0.01 * tick,
                                "Loss/G/loss": 1 - 0.01 * tick, "Loss/scores/real": 0.1, "Loss/scores/fake": -0.1,
                                "Timing/sec_per_tick": 1.0, "Timing/img_per_sec": 50.0, "Guard/lr_scale": 1.0}) + "\n")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)).save(
        run_dir / "samples-000002.000.png")
    run = RunDirectory(run_dir)
    result = {"features": "gan_explorer", "label": "FD/KID (gan_explorer features)", "num": 100,
              "data": "faces:16", "metrics": ["fd", "kid"], "fd": 31.5,
              "kid": {"mean": 0.0123, "std": 0.000004, "subsets": 10, "subset_size": 10}, "seconds": {"total_sec": 2.0}}
    record_metrics(run, result, 1.0, None)
    return run_dir


def _legend_covers_plot(plot_item) -> bool:
    box = plot_item.getViewBox().sceneBoundingRect()
    return any(isinstance(item, pg.LegendItem) and item.isVisible() and item.sceneBoundingRect().intersects(box)
               for item in plot_item.scene().items())


def test_the_train_tab_fits_a_1366x768_screen_after_preview_data(workspace, qtbot, tmp_path):
    """Issue #25: at 1366x768 the Train tab needed scrolling after Preview data, its sample grid was
    cropped and legends covered the curves. Everything fits, the pictures scale with their aspect,
    and each plot names its curves in its title row."""
    window, page = on_a_laptop(qtbot, workspace, "Train")
    try:
        _check_the_train_tab_fits(qtbot, workspace, window, page, tmp_path)
    finally:
        give_back(page)  # the workspace fixture shuts it down


def _check_the_train_tab_fits(qtbot, workspace, window, page, tmp_path):
    from PySide6.QtWidgets import QApplication

    workspace.attach(_measured_run(tmp_path))
    workspace.data.setText("faces:64")
    with qtbot.waitSignal(workspace.previewer.sigReady, timeout=60000):
        qtbot.mouseClick(workspace.preview_btn, Qt.LeftButton)
    assert workspace.preview_label.text() == "procedural faces (endless)"
    QApplication.processEvents()  # the layout settles

    assert_fits(window, page, workspace)
    for label in (workspace.preview_image, workspace.samples):  # scaled to fit, aspect kept, not cropped
        shown, source = label.shown_rect(), label.picture().size()
        assert not shown.isEmpty() and label.contentsRect().contains(shown), (shown, label.contentsRect())
        assert abs(shown.width() / shown.height() - source.width() / source.height()) < 0.02
    assert workspace.samples.shown_rect().width() >= 96  # big enough to see the samples

    assert set(workspace.plot_items) == {"Loss", "Metrics", "Timing", "Guard"}
    for group, plot in workspace.plot_items.items():
        assert not _legend_covers_plot(plot), group
        title = plot.titleLabel.text
        for key in workspace.current.series:
            if key.startswith(group + "/"):
                assert key[len(group) + 1:] in title, (key, title)
    assert "KID 0.0123 at 1 kimg" in workspace.status_label.text() and "±" not in workspace.status_label.text()


def test_pause_continue_and_stop_clicked_on_a_running_run(workspace, qtbot, tmp_path):
    """The control buttons, clicked, write the control files the loop polls (the lock held here
    stands for a training process)."""
    run_dir = tmp_path / "running"
    owner = RunDirectory(run_dir, writer=True)
    owner.acquire()
    try:
        (run_dir / "options.json").write_text(json.dumps({"family": "dcgan", "kimg": 1.0}))
        owner.event("started")
        workspace.attach(run_dir)
        assert workspace.run_status(workspace.current) == "running"
        assert workspace.pause_btn.isEnabled() and workspace.stop_btn.isEnabled()
        assert not workspace.resume_btn.isEnabled()
        qtbot.mouseClick(workspace.pause_btn, Qt.LeftButton)
        assert owner.pause_requested() and workspace.pause_btn.text() == "Continue"
        workspace.poll()
        assert workspace.run_list.currentItem().text().endswith("[paused]")
        qtbot.mouseClick(workspace.pause_btn, Qt.LeftButton)
        assert not owner.pause_requested() and workspace.pause_btn.text() == "Pause"
        qtbot.mouseClick(workspace.stop_btn, Qt.LeftButton)
        assert owner.stop_requested() and "Stopping" in workspace.status_label.text()
        owner.event("aborted", reason="stop requested")  # what the loop writes once it has stopped
    finally:
        owner.release()
    with qtbot.waitSignal(workspace.sigRunEnded) as ended:
        workspace.poll()
    assert ended.args[1] == "stopped" and workspace.run_list.currentItem().text().endswith("[stopped]")
    assert workspace.resume_btn.isEnabled() and not workspace.stop_btn.isEnabled()
