"""The Parts panel on the real path: paint a mask on a sample with the brush, train the part
classifier, see the image's parts, dissect the units and switch off a part's best units."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.gui.conftest import open_and_wait


def click_pixel(qtbot, panel, x, y):
    """A left click on pixel (x, y) of the sample shown in the paint canvas."""
    scene = panel.brush_layer.mapToScene(QPointF(x + 0.5, y + 0.5))
    point = panel.canvas.mapFromScene(scene)
    qtbot.mouseClick(panel.canvas.viewport(), Qt.LeftButton, pos=point)


@pytest.mark.slow  # a window, sampling, training and a dissection: about 20 s on the shared machine
def test_paint_a_mask_train_segment_and_dissect(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    window.parts_dock.raise_()
    panel = window.parts_panel
    panel.count.setValue(2)
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
        qtbot.mouseClick(panel.sample_job.run_btn, Qt.LeftButton)
    model = panel.parts
    assert model.samples is not None and len(model.masks) == 2
    size = model.masks[0].shape[0]
    qtbot.waitUntil(panel.canvas.isVisible)
    panel.box.autoRange(padding=0)
    panel.radius.setValue(2)
    panel.part_list.setCurrentRow(model.part_names.index("hair"))
    click_pixel(qtbot, panel, size // 2, 2)
    assert model.masks[0][2, size // 2] == model.part_names.index("hair")  # the brush painted where clicked
    assert (model.masks[0] == model.part_names.index("hair")).sum() >= 9  # a round dab of radius 2
    panel.part_list.setCurrentRow(model.part_names.index("background"))
    qtbot.mouseClick(panel.fill_btn, Qt.LeftButton)
    assert (model.masks[0] != model.unlabelled).all()
    panel.steps.setValue(30)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        qtbot.mouseClick(panel.train_job.run_btn, Qt.LeftButton)
    assert model.trained is not None
    assert np.isfinite(model.trained.train_iou[model.part_names.index("background")])
    assert "trained on" in panel.status.text()
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
        qtbot.mouseClick(panel.segment_btn, Qt.LeftButton)
    assert panel.segment_view.isVisible() or panel.segment_item.image is not None
    panel.samples_for_dissection.setValue(8)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        qtbot.mouseClick(panel.dissect_job.run_btn, Qt.LeftButton)
    viewer = window.understand.layers_panel.layer_viewer
    assert viewer.dissection is model.dissection is not None
    layer = model.dissection.layers[-1]
    window.understand.layers_panel.list_layers()
    viewer.select_layer(layer)
    assert viewer.units_box.isVisibleTo(viewer) and viewer.units_table.rowCount() > 0
    part, iou = model.dissection.unit_names(layer)[0]
    assert viewer.unit_label(layer, 0) == f"{part} {iou:.2f}"
    viewer.units_part.setCurrentIndex(viewer.units_part.findData("hair"))
    before = window.view.image.copy()
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
        qtbot.mouseClick(viewer.ablate_part_button, Qt.LeftButton)
    assert not np.array_equal(window.view.image, before)  # the part's best units switched off, re-rendered
    assert window.state == window.latent.state
