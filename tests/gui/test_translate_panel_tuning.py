"""The Pictures tab's pivotal tuning (issue #28), clicked: keep the likeness, a finished tuning with its
comparison and the way back to the base model, and Cancel leaving the plain projection."""

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt

from gan_explorer.core.data.faces import FacesDataset
from tests.gui.conftest import open_and_wait

pytestmark = pytest.mark.slow  # a projection and a tuning on the worker (~15 s on the shared machine)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small nets: two intra-op threads spin against each other on a busy CPU
    yield
    torch.set_num_threads(before)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(FacesDataset(24, seed=1).image(0)).save(path)
    return path


def _start(make_window, qtbot, tiny_model_file, tune_steps):
    window = make_window(sync=False)
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.translate_panel
    qtbot.mouseClick(panel.keep_likeness, Qt.LeftButton)
    assert panel.keep_likeness.isChecked()
    assert panel.space.currentData() == "w" and not panel.space.isEnabled()  # the pivot is a W projection
    panel.steps.setValue(10)
    panel.tune_steps.setValue(tune_steps)
    return window, panel


def test_keep_the_likeness_tunes_to_a_finished_result_and_a_click_returns_to_the_base_model(
        make_window, qtbot, tiny_model_file, photo, one_thread):
    window, panel = _start(make_window, qtbot, tiny_model_file, 6)
    previews = []
    window.viewer.events.frame_shown.connect(previews.append)
    panel.project(str(photo))
    qtbot.waitUntil(lambda: bool(window.state.tuning) and panel.tuning is None, timeout=120000)
    tuned = panel.pictures.last_tuning
    assert tuned.psnr > tuned.pivot_psnr and window.state.tuning == tuned.content_hash
    assert len(previews) >= 2  # the projection's and the tuning's reconstructions were shown as they went
    assert panel.target.pixmap().width() >= 3 * panel.target.pixmap().height() - 2  # before | projected | tuned
    assert "Tuning applied" in panel.tuning_label.text() and not panel.base_btn.isHidden()
    assert window.windowTitle().endswith("[tuned to a photo]")
    assert panel.project_btn.isEnabled() and not panel.cancel_btn.isEnabled()
    qtbot.mouseClick(panel.base_btn, Qt.LeftButton)
    assert window.state.tuning == "" and panel.base_btn.isHidden()
    assert "tuned" not in window.windowTitle()
    window.undo_action.trigger()
    assert window.state.tuning == tuned.content_hash


def test_cancel_during_the_tuning_leaves_the_plain_projection(make_window, qtbot, tiny_model_file, photo,
                                                              one_thread):
    window, panel = _start(make_window, qtbot, tiny_model_file, 2000)
    panel.project(str(photo))
    qtbot.waitUntil(lambda: panel.tuning is not None and panel.progress.value() > 0, timeout=120000)
    assert panel.cancel_btn.isEnabled()
    qtbot.mouseClick(panel.cancel_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.tuning is None, timeout=60000)
    projection = panel.pictures.last_projection
    assert window.state.tuning == "" and panel.pictures.last_tuning is None
    assert np.allclose(np.asarray(window.state.ws), projection.ws[0])
    assert panel.project_btn.isEnabled() and panel.base_btn.isHidden()
