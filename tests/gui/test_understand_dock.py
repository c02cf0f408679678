"""The Understand dock on the real path: analyses run as explorer jobs on the real model."""

import numpy as np
from PySide6.QtCore import Qt
import pytest

from gan_explorer.core.analysis.attribute import MIN_PER_CLASS
from tests.gui.conftest import open_and_wait
from tests.gui.test_main_window import render_state


def test_map_click_renders_that_latent_and_the_marker_follows_the_sliders(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.understand.map_panel
    panel.num.setValue(100)
    with qtbot.waitSignal(window.sigJobFinished):
        panel.compute()
    m = panel.map
    assert m is not None and m.points.shape == (100, 2)
    first = panel.view.current_position()
    window.w_panel.bank.sliders[0].setValue(250)
    window.latent.end_gesture()
    moved = panel.view.current_position()
    assert first is not None and moved is not None and not np.allclose(first, moved)
    assert np.allclose(moved, m.project_ws(window.viewer.last_result.ws)[0])
    with qtbot.waitSignal(window.sigJobFinished):
        panel.go_to_point(7)
    assert np.allclose(window.viewer.last_result.ws.mean(0), m.latents[7], atol=1e-5)
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))


def test_layer_view_and_ablation(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.understand.layers_panel
    assert panel.layer_viewer.table.rowCount() == 0  # listing costs a forward pass: not until the panel is shown
    panel.list_layers()
    assert panel.layer_viewer.table.rowCount() > 3  # every layer of the open model
    name = panel.layer_viewer.layers[2][0]  # the full name (the table shows the distinguishing part)
    assert name
    handle = panel.show_layer(name, -1, False, True)
    assert handle.ok and handle.result.layer.name == name and handle.result.grid.ndim in (2, 3)
    before = window.view.image.copy()
    with qtbot.waitSignal(window.sigJobFinished):
        panel.ablate(name, [0, 1, 2], 0.0)
    assert not np.array_equal(window.view.image, before)  # the ablated image is shown
    assert window.state == window.latent.state  # and the latent is untouched


def test_own_attribute_becomes_a_named_slider(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.understand.attribute_panel
    with qtbot.waitSignal(window.sigJobFinished):
        panel.show_samples(count=16)
    assert panel.grid.cell_image(1, 7) is not None
    ws = panel.samples.ws.mean(1)
    score = ws[:, 0]  # "has it": a large first w dimension, a rule the fit can find
    order = np.argsort(score)
    for i in order[-MIN_PER_CLASS:]:
        panel.mark(int(i), True)
    for i in order[:MIN_PER_CLASS]:
        panel.mark(int(i), False)
    panel.name.setText("big w0")
    with qtbot.waitSignal(window.sigJobFinished):
        panel.fit()
    direction = window.explorer.directions.library.get("big w0")
    assert direction is not None and direction.vector[0] > 0.3
    assert "big w0" in window.library_panel.bank.names


def test_attribute_button_shows_the_samples(make_window, qtbot, tiny_model_file):
    """The button itself (its clicked(checked) once arrived as the count: 0 samples, torch.cat failed)."""
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.understand.attribute_panel
    errors = []
    window.sigError.connect(errors.append)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        qtbot.mouseClick(panel.job.run_btn, Qt.LeftButton)
    assert errors == [] and panel.status.text() == ""
    assert len(panel.samples.seeds) == 48 and panel.grid.cell_image(5, 7) is not None
    assert panel.fit_btn.isEnabled()


def test_metrics_panel_measures_the_open_model(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.understand.metrics_panel
    panel.data.setText("faces:16")
    panel.metrics.setText("fd")
    panel.num.setValue(100)
    with qtbot.waitSignal(window.sigJobFinished, timeout=120000):
        panel.measure()
    assert panel.result["fd"] > 0
    assert "gan_explorer features" in panel.text.toPlainText()


@pytest.mark.slow
def test_factor_probe_gives_named_factor_sliders_on_the_demo(make_window, qtbot):
    from gan_explorer.resources import demo_model

    window = make_window()
    open_and_wait(qtbot, window, demo_model(), timeout=60000)
    panel = window.understand.factors_panel
    with qtbot.waitSignal(window.sigJobFinished, timeout=300000):
        panel.probe(num=300, effect_seeds=2, discovered=(), factors=("skin_tone", "hair_color"))
    names = window.library_panel.bank.names
    assert any("skin" in n for n in names) and any("hair" in n for n in names), names
    assert "held-out" in panel.text.toPlainText()
