"""The 2-D GAN lab widget: plays, draws the heat map and the points, steps, pauses, resets, takes a
drawing from the mouse, never draws a frame from before a reset, names its curves without covering
them, and stops its worker thread on close."""

import time

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from gan_explorer.core.lab2d import LabConfig
from gan_explorer.gui.widgets.gan_lab import GanLabWidget, arrow_segments
from tests.gui.laptop import assert_fits, give_back, on_a_laptop

TINY = LabConfig(g_hidden=16, g_layers=2, d_hidden=16, d_layers=2, batch=64)


@pytest.fixture(autouse=True)
def _one_intra_op_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as the lab's worker thread does (tiny MLPs)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def lab(qtbot):
    widgets = []

    def make(sync=True, config=TINY):
        w = GanLabWidget(sync=sync, config=config)
        qtbot.addWidget(w)
        w.resize(900, 600)
        w.show()
        widgets.append(w)
        return w

    yield make
    for w in widgets:
        w.shutdown()


def _points(item):
    x, y = item.getData()
    return np.stack([x, y], 1)


def test_play_updates_the_view_then_pause_step_and_reset(lab, qtbot):
    w = lab()
    assert w.last_frame is not None and w.last_frame.g_steps == 0
    heat0, fake0 = w.heat.image.copy(), _points(w.fake_points)
    assert heat0.shape == (64, 64) and fake0.shape == (512, 2)
    w.play()
    qtbot.waitUntil(lambda: w.last_frame.g_steps >= 10, timeout=30000)
    assert not np.array_equal(w.heat.image, heat0)            # D learned something
    assert not np.allclose(_points(w.fake_points), fake0)    # G moved its points
    assert len(w.arrows.getData()[0]) == 6 * 128             # an arrow (3 segments) per point
    assert len(w.g_curve.getData()[0]) == w.last_frame.g_steps
    w.pause()
    steps = w.last_frame.g_steps
    qtbot.wait(100)
    assert w.last_frame.g_steps == steps and w.play_button.text() == "Play"
    d = w.last_frame.d_steps
    qtbot.mouseClick(w.d_step_button, Qt.LeftButton)
    assert (w.last_frame.g_steps, w.last_frame.d_steps) == (steps, d + 1)
    qtbot.mouseClick(w.g_step_button, Qt.LeftButton)
    assert (w.last_frame.g_steps, w.last_frame.d_steps) == (steps + 1, d + 1)
    qtbot.mouseClick(w.reset_button, Qt.LeftButton)
    assert w.last_frame.g_steps == 0
    assert np.array_equal(_points(w.fake_points), fake0)  # the same seed: the same fresh networks
    assert "G steps 0" in w.status.text()


def test_choosing_an_objective_loads_its_defaults_and_resets(lab):
    w = lab()
    w.loss.setCurrentIndex(w.loss.findData("wgan-gp"))
    frame = w.last_frame
    assert frame.config.loss == "wgan-gp" and frame.config.n_critic == 5 == w.n_critic.value()
    assert frame.field_label == "critic f(x)" and "critic" in w.field_label.text()
    w.z_dim.setCurrentIndex(w.z_dim.findData(1))
    assert w.last_frame.config.z_dim == 1 and not np.isnan(w.last_frame.latent_grid).any()  # one curve
    assert "modes covered" in w.coverage_label.text()


def test_points_drawn_with_the_mouse_become_the_data(lab, qtbot):
    w = lab()
    w.dataset.setCurrentIndex(w.dataset.findData("drawn"))
    assert not w.lab_ready and "draw" in w.status.text().lower()
    view = w.plane.viewport()
    for x, y in ((0.3, 0.3), (0.5, 0.6), (0.7, 0.4), (0.6, 0.7)):
        qtbot.mouseClick(view, Qt.LeftButton, pos=QPoint(int(x * view.width()), int(y * view.height())))
    assert len(w.drawn_points) == 4
    assert np.all(np.abs(w.drawn_points) < 3.5)  # plane coordinates, not pixels
    assert w.lab_ready and w.last_frame.config.dataset == "drawn"
    assert w.last_frame.coverage is None and "modes" not in w.coverage_label.text()
    w.play()
    qtbot.waitUntil(lambda: w.last_frame.g_steps >= 5, timeout=30000)
    w.pause()
    qtbot.mouseClick(w.clear_drawing, Qt.LeftButton)
    assert len(w.drawn_points) == 0 and not w.lab_ready


def test_a_diverged_run_stops_with_one_line(lab, qtbot):
    w = lab()
    with torch.no_grad():
        w.runner.lab.D[0].weight.fill_(float("nan"))
    w.play()
    qtbot.waitUntil(lambda: bool(w.error), timeout=10000)
    assert "lower the learning rates" in w.status.text() and not w.play_button.isChecked()


def test_threaded_lab_plays_without_blocking_and_stops_on_close(lab, qtbot):
    w = lab(sync=False)
    qtbot.waitUntil(lambda: w.last_frame is not None, timeout=10000)
    w.play()
    qtbot.waitUntil(lambda: w.frames_shown >= 4 and w.last_frame.g_steps > 0, timeout=30000)
    thread = w.runner._thread
    w.pause()
    w.close()
    assert w.runner is None and not thread.is_alive()


def test_arrow_segments_scale_together():
    origins = np.zeros((2, 2))
    seg = arrow_segments(origins, np.array([[2.0, 0.0], [0.0, 1.0]]), longest=0.4)
    assert seg.shape == (12, 2)
    assert np.allclose(seg[1], [0.4, 0.0]) and np.allclose(seg[7], [0.0, 0.2])  # tips keep the 2:1 ratio


def test_a_frame_from_before_a_reset_never_reaches_the_plot(lab, qtbot):
    """Threaded: while playing, a frame is sent and waits in the event queue; Reset is clicked before
    it is delivered. It is dropped, and every frame drawn after the click is the new lab's."""
    w = lab(sync=False)
    qtbot.waitUntil(lambda: w.last_frame is not None, timeout=30000)
    drawn_tokens = []
    w.sigFrameShown.connect(lambda _steps: drawn_tokens.append(w.last_frame.token))
    old_token = w.runner.token
    w.play()
    sent, shown = w.runner.frames_sent, w.frames_shown
    deadline = time.monotonic() + 30  # a bound, not a measure: no events are processed meanwhile
    while w.runner.frames_sent == sent:  # a frame of the old lab is now on its way to the widget
        assert time.monotonic() < deadline, "the runner sent no frame while playing"
        time.sleep(0.005)
    qtbot.mouseClick(w.reset_button, Qt.LeftButton)
    new_token = w.runner.token
    assert new_token > old_token and w.frames_shown == shown  # the old frame is still in flight
    qtbot.waitUntil(lambda: w.last_frame.token == new_token and w.last_frame.g_steps > 0, timeout=30000)
    w.pause()
    assert w.frames_dropped >= 1
    after_click = drawn_tokens[drawn_tokens.index(new_token):] if new_token in drawn_tokens else []
    assert after_click and set(drawn_tokens[-len(after_click):]) == {new_token}
    assert old_token not in drawn_tokens[len(drawn_tokens) - len(after_click):]
    assert drawn_tokens.count(old_token) == len(drawn_tokens) - len(after_click)  # none after the click


def _legend_covers_plot(plot_item) -> bool:
    """Whether a legend is drawn over the plot's data area."""
    scene = plot_item.scene()
    box = plot_item.getViewBox().sceneBoundingRect()
    return any(isinstance(item, pg.LegendItem) and item.isVisible() and item.sceneBoundingRect().intersects(box)
               for item in scene.items())


def test_the_loss_curves_are_named_above_the_plot_not_over_it(lab, qtbot):
    w = lab()
    w.play()
    qtbot.waitUntil(lambda: w.last_frame.g_steps >= 5, timeout=30000)
    w.pause()
    plot = w.curves.getPlotItem()
    assert not _legend_covers_plot(plot)
    title = plot.titleLabel.text
    assert "D loss" in title and "G loss" in title and plot.titleLabel.isVisible()


def test_the_lab_fits_a_1366x768_screen_while_it_plays(qtbot):
    """Its word-wrapped labels made the lab ask a scroll area for its preferred height (800 px), so
    the window's GAN lab page scrolled at 1366x768 although the lab fits at its minimum size."""
    w = GanLabWidget(sync=True, config=TINY)
    qtbot.addWidget(w)
    window, page = on_a_laptop(qtbot, w, "GAN lab")
    try:
        w.play()
        qtbot.waitUntil(lambda: w.last_frame.g_steps >= 5, timeout=30000)
        w.pause()
        assert "modes covered" in w.coverage_label.text() and "G steps" in w.status.text()
        assert_fits(window, page, w)
        plot = w.curves.getPlotItem()
        assert plot.getViewBox().height() > 40 and not _legend_covers_plot(plot)
    finally:
        w.shutdown()
        give_back(page)
