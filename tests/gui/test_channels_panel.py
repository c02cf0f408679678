"""The Channels tab: Find channels ranks the open model's StyleSpace channels for a part, a channel's
slider changes the image through an S edit of the state, and undo brings the image back bit for bit."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import open_and_wait


@pytest.mark.slow  # a window, the regressor and a ranking: 100 s measured on the shared, loaded machine
def test_a_channel_slider_changes_the_image_and_undo_restores_it(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.channels_panel
    window.tabs.setCurrentWidget(panel)
    assert window.tabs.isTabEnabled(window.tabs.indexOf(panel))
    panel.part.setCurrentText("skin")
    panel.images.setValue(1)
    qtbot.mouseClick(panel.job.run_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(panel.shown), timeout=60000)
    assert panel.bank.total == len(panel.shown) > 0 and panel.bank.labels[0].text() == panel.shown[0].name
    before = window.viewer.last_result.image.copy()
    with qtbot.waitSignal(window.sigImageShown, timeout=20000):
        panel.bank.sliders[0].setValue(250)  # 2.5 spreads
    top = panel.shown[0]
    (edit,) = window.state.s_edits
    assert (edit.layer, edit.channel) == (top.layer, top.channel)
    assert np.isclose(edit.amount, 2.5 * top.spread)
    assert not np.array_equal(window.viewer.last_result.image, before)
    window.latent.end_gesture()
    with qtbot.waitSignal(window.sigImageShown, timeout=20000):
        window.latent.undo()
    assert window.state.s_edits == () and panel.bank.values.get(0, 0.0) == 0.0
    np.testing.assert_array_equal(window.viewer.last_result.image, before)
