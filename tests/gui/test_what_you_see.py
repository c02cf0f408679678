"""What you see is what you have (issue #25): every control shows the state rendered, edits are
visible and reset together, and an exported picture or a saved latent comes back from the menus."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from tests.gui.conftest import open_and_wait
from tests.gui.test_main_window import render_state


def shown_matches_state(window, model_file):
    """The image on screen is the render of the state the controls show."""
    state = window.state
    assert window.latent_panel.seed.value() == state.seed
    assert abs(window.latent_panel.psi.value() - state.truncation_psi) < 1e-9
    assert np.array_equal(window.view.image, render_state(model_file, state))


def test_psi_starts_at_0_7_on_a_model_with_w_avg(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file, psi=None)
    assert window.state.truncation_psi == 0.7 and window.latent_panel.psi.value() == 0.7
    shown_matches_state(window, tiny_model_file)


def test_an_edit_is_listed_and_reset_edits_removes_them_all(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    plain = window.view.image.copy()
    window.w_panel.bank.sliders[1].setValue(80)
    window.latent.end_gesture()
    window.z_panel.bank.sliders[2].setValue(-60)
    window.latent.end_gesture()
    assert "w[1]" in window.latent_panel.edits.text() and "z[2]" in window.latent_panel.edits.text()
    assert window.latent_panel.reset_edits_btn.isEnabled() and window.reset_edits_action.isEnabled()
    qtbot.mouseClick(window.latent_panel.reset_edits_btn, Qt.LeftButton)
    assert window.latent_panel.edits.text() == "no edits" and not window.latent_panel.reset_edits_btn.isEnabled()
    assert window.w_panel.bank.values.get(1, 0) == 0 and window.z_panel.bank.values.get(2, 0) == 0
    assert np.array_equal(window.view.image, plain)
    window.undo_action.trigger()  # one undo step brings both back
    assert {e.key for e in window.latent.edits()} == {"w:1", "z:2"}


def test_a_new_seed_keeps_w_edits_and_says_so(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.w_panel.bank.sliders[1].setValue(80)
    window.latent.end_gesture()
    window.latent_panel.seed.setValue(7)
    assert "w[1]" in window.statusBar().currentMessage() and "kept" in window.statusBar().currentMessage()
    assert "w[1]" in window.latent_panel.edits.text()
    shown_matches_state(window, tiny_model_file)


def test_a_projected_picture_replaces_every_edit(make_window, qtbot, tiny_model_file, tmp_path):
    """After a projection the main view showed a garbled face: the old W edits were applied on top."""
    from PIL import Image

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(3)
    Image.fromarray(window.view.image).save(tmp_path / "photo.png")
    window.latent_panel.seed.setValue(0)
    window.w_panel.bank.sliders[0].setValue(150)
    window.latent.end_gesture()
    window.translate_panel.steps.setValue(10)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        window.translate_panel.project(str(tmp_path / "photo.png"))
    projection = window.translate_panel.last_projection
    assert window.latent.edits() == [] and window.latent_panel.edits.text() == "no edits"
    assert np.allclose(np.asarray(window.state.ws), projection.ws[0])
    assert window.w_panel.bank.values.get(0, 0) == 0  # the slider shows no edit either
    assert np.abs(window.view.image.astype(int) - projection.images[0].astype(int)).max() <= 1


def test_a_bookmark_opened_sets_every_box(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(11)
    window.latent_panel.psi.setValue(0.5)
    window.bookmarks_panel.add_btn.click()
    window.latent_panel.seed.setValue(2)
    window.latent_panel.psi.setValue(1.0)
    item = window.bookmarks_panel.list.item(0)
    window.bookmarks_panel.list.itemDoubleClicked.emit(item)
    assert window.latent_panel.seed.value() == 11 and window.latent_panel.psi.value() == 0.5
    shown_matches_state(window, tiny_model_file)


def test_file_open_restores_an_exported_png_and_open_latent_a_saved_one(make_window, qtbot, tiny_model_file,
                                                                        tmp_path, monkeypatch):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(5)
    window.w_panel.bank.sliders[2].setValue(90)
    window.latent.end_gesture()
    made, image = window.state, window.view.image.copy()
    with qtbot.waitSignal(window.sigJobFinished):
        window.save_image(tmp_path / "made.png")
    window.save_latent(tmp_path / "made.npy")
    window.latent_panel.seed.setValue(9)
    window.latent.reset_edits()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "made.png"), ""))
    window.open_action.trigger()  # File > Open, as a user would, on the exported PNG
    assert window.state == made and np.array_equal(window.view.image, image)
    window.latent_panel.seed.setValue(9)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "made.npy"), ""))
    window.open_latent_action.trigger()
    assert window.state.ws and window.latent.edits() == []
    assert np.array_equal(window.view.image, image)  # the saved ws are the image, edits included
    assert window.viewer.info.path == str(tiny_model_file)  # neither was taken for a model


def test_a_closed_dock_comes_back_from_the_view_menu(make_window, qtbot, tiny_model_file):
    window = make_window()
    window.show()
    open_and_wait(qtbot, window, tiny_model_file)
    actions = {a.text(): a for a in window.menuBar().actions()}
    view_actions = {a.text(): a for a in actions["&View"].menu().actions()}
    for dock in (window.latent_dock, window.slider_dock, window.understand_dock):
        dock.close()
        assert not dock.isVisible() or dock.isHidden()
        view_actions[dock.windowTitle()].trigger()
        assert not dock.isHidden()


def test_the_guide_closes_with_its_button_and_esc(make_window, qtbot):
    window = make_window()
    window.show()
    guide = window.show_guide()
    assert guide.isVisible()
    qtbot.mouseClick(guide.close_button, Qt.LeftButton)
    assert not guide.isVisible()
    guide = window.show_guide()
    guide.browser.setFocus()
    qtbot.keyClick(guide.browser, Qt.Key_Escape)
    assert not guide.isVisible()
    assert guide.width() <= window.width()


def test_the_pictures_bar_starts_empty_after_a_model_switch(make_window, qtbot, tiny_model_file, tmp_path):
    from PIL import Image

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    Image.fromarray(window.view.image).save(tmp_path / "photo.png")
    window.translate_panel.steps.setValue(10)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        window.translate_panel.project(str(tmp_path / "photo.png"))
    assert window.translate_panel.progress.value() == window.translate_panel.progress.maximum() > 0
    open_and_wait(qtbot, window, tiny_model_file)
    assert window.translate_panel.progress.value() <= 0


def test_a_read_only_data_folder_does_not_stop_the_window(make_window, qtbot, tmp_path, tiny_model_file):
    """Logging set-up raised PermissionError: the window never started (issue #26)."""
    import os

    import pytest

    from gan_explorer.core.explorer import log as app_log
    from gan_explorer.gui.main_window import MainWindow
    from PySide6.QtCore import QSettings

    if os.geteuid() == 0:  # root writes anywhere: stand a file where the logs folder would be instead
        data = tmp_path / "data"
        data.mkdir()
        (data / "logs").write_text("not a folder")
    else:
        data = tmp_path / "ro"
        data.mkdir()
        data.chmod(0o500)
    try:
        window = MainWindow(sync=True, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), data_dir=data)
        qtbot.addWidget(window)
        assert app_log.problem and "cannot write the log" in app_log.problem
        assert "cannot write the log" in window.statusBar().currentMessage()
        open_and_wait(qtbot, window, tiny_model_file)
        assert window.view.image is not None
        window.close()
    finally:
        if os.geteuid() != 0:
            data.chmod(0o700)
        app_log.configure_logging(tmp_path / "elsewhere")
    if app_log.problem:
        pytest.fail(app_log.problem)


def test_playback_pauses_when_the_latent_changes(make_window, qtbot, tiny_model_file):
    """Playback used to loop on and overwrite a later slider move or projection in the view."""
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    for seed in (1, 2):
        window.latent_panel.seed.setValue(seed)
        window.interpolation.keyframes.add()
    window.interpolation.frames_per_segment.setValue(3)
    with qtbot.waitSignal(window.sigJobFinished):
        qtbot.mouseClick(window.interpolation.play_btn, Qt.LeftButton)
    assert window.interpolation.timer.isActive()
    window.latent_panel.seed.setValue(9)
    assert not window.interpolation.timer.isActive() and window.interpolation.pause_btn.isChecked()
    qtbot.wait(200)
    shown_matches_state(window, tiny_model_file)
    qtbot.mouseClick(window.interpolation.pause_btn, Qt.LeftButton)  # released: plays on
    assert window.interpolation.timer.isActive()


def test_the_seed_box_says_when_the_image_is_an_explicit_latent(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(4)
    assert window.latent_panel.seed.text() == "4"
    window.latent.replace_latent(window.viewer.current_ws)
    assert window.latent_panel.seed.text().startswith("(latent)")
    window.latent_panel.seed.setValue(5)
    assert window.latent_panel.seed.text() == "5" and not window.state.ws


def test_a_closed_dock_stays_closed_after_a_visit_to_train(make_window, qtbot, tiny_model_file):
    window = make_window()
    window.show()
    open_and_wait(qtbot, window, tiny_model_file)
    window.understand_dock.close()
    window.central.setCurrentWidget(window.train_page)
    assert window.latent_dock.isHidden() and window.slider_dock.isHidden()
    window.central.setCurrentWidget(window.view)
    assert window.understand_dock.isHidden()
    assert not window.latent_dock.isHidden() and not window.slider_dock.isHidden()
