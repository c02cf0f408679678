"""The Drag tab, clicked on the real image view: a handle and its target placed with the mouse, Start,
and the image changes; a right click deletes a pair; the mask brush paints."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gan_explorer.gui.session_bridge import SessionBridge
from gan_explorer.gui.widgets.drag_panel import DragPanel
from gan_explorer.gui.widgets.image_view import ImageView

DEMO = "resources/demo/stylegan-faces64.safetensors"


@pytest.fixture
def setup(qtbot, tmp_path):
    bridge = SessionBridge(sync=True, data_dir=tmp_path / "data")
    explorer = bridge.explorer
    view = ImageView()
    view.resize(256, 256)
    explorer.viewer.events.image_shown.connect(lambda result: view.set_image(result.image))
    explorer.viewer.events.frame_shown.connect(view.set_image)
    panel = DragPanel(explorer.drag, explorer.viewer, view)
    qtbot.addWidget(view)
    qtbot.addWidget(panel)
    view.show()
    panel.show()
    qtbot.waitExposed(view)
    qtbot.waitExposed(panel)
    explorer.viewer.open_model(DEMO)
    qtbot.waitUntil(lambda: view.image is not None)
    yield panel, view, explorer
    bridge.shutdown()


def click_image(qtbot, view, x, y, button=Qt.LeftButton):
    qtbot.mouseClick(view, button, pos=view.to_widget((x, y)).toPoint())


def test_clicking_handle_and_target_then_start_changes_the_image(setup, qtbot):
    panel, view, explorer = setup
    qtbot.mouseClick(panel.mode_box, Qt.LeftButton)
    assert view.drag_mode
    click_image(qtbot, view, 24, 28)
    click_image(qtbot, view, 20, 28)
    (handle, target), = explorer.drag.pairs()
    assert np.allclose(handle, (24, 28), atol=0.5) and np.allclose(target, (20, 28), atol=0.5)
    assert view.drag_pairs == explorer.drag.pairs()  # the arrow is drawn
    before = view.image.copy()
    panel.steps_spin.setValue(3)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not explorer.drag.running)
    assert not np.array_equal(view.image, before)
    assert explorer.latent.state.ws  # the drag's latent is the current one
    assert "steps/s" in panel.status_label.text()
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()


def test_right_click_deletes_a_pair_and_the_brush_paints_the_mask(setup, qtbot):
    panel, view, explorer = setup
    panel.mode_box.setChecked(True)
    click_image(qtbot, view, 10, 10)
    click_image(qtbot, view, 14, 10)
    click_image(qtbot, view, 14, 10, Qt.RightButton)
    assert explorer.drag.pairs() == []
    qtbot.mouseClick(panel.paint_button, Qt.LeftButton)
    click_image(qtbot, view, 32, 32)
    assert explorer.drag.mask is not None and explorer.drag.mask[32, 32] == 1 and explorer.drag.mask[0, 0] == 0
    qtbot.mouseClick(panel.clear_mask_button, Qt.LeftButton)
    assert explorer.drag.mask is None
