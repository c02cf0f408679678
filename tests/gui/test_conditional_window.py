"""A conditional model in the window: the class selector, factor sliders and a grid whose columns are classes."""

import numpy as np
import torch

from gan_explorer.core.explorer.conditions import class_condition
from gan_explorer.core.io.checkpoint import load_model, save_model
from gan_explorer.core.models import build_model
from gan_explorer.core.render import ws_for_state
from tests.conftest import TINY
from tests.gui.conftest import FIXTURES, open_and_wait


def as_uint8(reference):
    return np.clip(reference[0].transpose(1, 2, 0) * 127.5 + 128, 0, 255).astype(np.uint8)


def test_an_official_conditional_network_draws_the_chosen_class(make_window, qtbot):
    fixture = FIXTURES / "stylegan_official"
    window = make_window()
    open_and_wait(qtbot, window, fixture / "sg2ada_cond_32.pkl", timeout=60000)
    panel = window.latent_panel.condition
    assert panel.isVisibleTo(window) and panel.classes.count() == 5
    assert not window.mixing.col_kind.isHidden()
    window.latent_panel.psi.setValue(0.7)
    panel.classes.setCurrentIndex(2)
    assert window.state.condition == (0.0, 0.0, 1.0, 0.0, 0.0)
    expected = as_uint8(np.load(fixture / "sg2ada_cond_32_ref" / "seed0_class2_psi0.7_img.npy"))
    assert np.abs(window.view.image.astype(int) - expected).max() <= 1
    assert "· class 2 ·" in window.viewer.status_text() or window.viewer.status_text().endswith("· class 2")
    window.undo_action.trigger()  # the class choice is one undo step
    assert window.state.condition == ()
    assert panel.classes.currentIndex() == 0


def test_an_unconditional_model_hides_the_selector(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    assert not window.latent_panel.condition.isVisibleTo(window)
    assert window.mixing.col_kind.isHidden()


def test_a_grid_of_classes_shows_each_row_seed_in_each_class(make_window, qtbot, tmp_path):
    torch.manual_seed(3)
    model = build_model("stylegan", **TINY["stylegan"], c_dim=3, c_names=("cat", "dog", "fox"))
    path = save_model(model, tmp_path / "classes.safetensors")
    model = load_model(path)
    window = make_window()
    open_and_wait(qtbot, window, path)
    info = window.viewer.info
    mixing = window.mixing
    mixing.rows.setText("1,2")
    mixing.col_kind.setCurrentIndex(1)
    assert mixing.cols.text() == "all"
    mixing.preset.setCurrentText("all")
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
        mixing.render_btn.click()
    assert mixing.grid.col_labels == ["class cat", "class dog", "class fox"]
    assert mixing.grid.row_labels == ["seed 1", "seed 2"]
    from gan_explorer.core.explorer.state import LatentState
    from gan_explorer.core.io.images import to_uint8

    for r, seed in ((0, 1), (1, 2)):
        for c in range(3):
            state = LatentState(seed=seed, condition=class_condition(info, c))
            with torch.no_grad():
                expected = to_uint8(model.synthesize(ws_for_state(model, state)))[0]
            assert np.abs(mixing.grid.cell_image(r, c).astype(int) - expected).max() <= 1, (r, c)
    assert mixing._tooltip(1, 2) == "seed 2 in class fox (click to open)"
    mixing._cell_clicked(1, 2)  # opens seed 2 as a fox
    assert window.state.seed == 2 and window.state.condition == class_condition(info, 2)
    assert window.latent_panel.condition.classes.currentText() == "fox"
    mixing.cols.setText("cat, wolf")
    mixing.render_btn.click()
    assert "wolf" in mixing.error.text()


def test_factor_sliders_set_the_condition(make_window, qtbot, tmp_path):
    torch.manual_seed(4)
    model = build_model("dcgan", **TINY["dcgan"], c_dim=2, c_kind="factors", c_names=("glasses", "smile"))
    path = save_model(model, tmp_path / "factors.safetensors")
    window = make_window()
    open_and_wait(qtbot, window, path)
    panel = window.latent_panel.condition
    assert set(panel.factor_sliders) == {"glasses", "smile"}
    before = window.view.image.copy()
    slider, label = panel.factor_sliders["smile"]
    slider.setValue(slider.maximum())  # smile's range is [-1, 1]
    assert window.state.condition[1] == 1.0 and label.text() == "1.00"
    assert not np.array_equal(window.view.image, before)
    window.undo_action.trigger()
    assert window.state.condition == ()
    assert panel.factor_sliders["smile"][0].value() == slider.maximum() // 2  # the default, smile 0
    # A DCGAN has one w and no style mixing, but its grid of conditions is there.
    mixing = window.mixing
    assert window.tabs.isTabEnabled(window.tabs.indexOf(mixing))
    assert mixing.col_kind.currentIndex() == 1 and not mixing.col_kind.isEnabled()
    assert mixing.cols.text() == "glasses=0; glasses=1"
    mixing.rows.setText("5")
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
        mixing.render_btn.click()
    assert mixing.grid.col_labels == ["glasses 0, smile 0", "glasses 1, smile 0"]
    assert not np.array_equal(mixing.grid.cell_image(0, 0), mixing.grid.cell_image(0, 1))


def test_the_shipped_glasses_demo_opens_from_the_file_menu(make_window, qtbot):
    window = make_window()
    names = [a.text() for a in window.demo_menu.actions()]
    assert names[0] == "stylegan-faces64" and "dcgan-faces32-glasses" in names
    action = next(a for a in window.demo_menu.actions() if a.text() == "dcgan-faces32-glasses")
    with qtbot.waitSignal(window.sigImageShown, timeout=20000):
        action.trigger()
    info = window.viewer.info
    assert (info.family, info.c_kind, info.c_names) == ("dcgan", "factors", ("glasses",))
    assert set(window.latent_panel.condition.factor_sliders) == {"glasses"}


def test_a_second_conditional_model_leaves_no_label_of_the_first(make_window, qtbot, tmp_path):
    from PySide6.QtWidgets import QLabel

    torch.manual_seed(5)
    first = save_model(build_model("dcgan", **TINY["dcgan"], c_dim=2, c_kind="factors",
                                   c_names=("glasses", "smile")), tmp_path / "a.safetensors")
    second = save_model(build_model("dcgan", **TINY["dcgan"], c_dim=1, c_kind="factors",
                                    c_names=("hair_color",)), tmp_path / "b.safetensors")
    window = make_window()
    open_and_wait(qtbot, window, first)
    open_and_wait(qtbot, window, second)
    qtbot.wait(50)  # deleteLater runs
    panel = window.latent_panel.condition
    labels = [w.text() for w in panel.findChildren(QLabel) if not w.isHidden()]
    assert "glasses" not in labels and "smile" not in labels
    assert "hair color" in labels and set(panel.factor_sliders) == {"hair_color"}


def test_typed_conditions_are_checked_like_the_cli(make_window, qtbot, tmp_path):
    torch.manual_seed(6)
    names = ("glasses", "smile", "hair_color", "skin_tone", "eye_size", "face_width")
    path = save_model(build_model("dcgan", **TINY["dcgan"], c_dim=6, c_kind="factors", c_names=names),
                      tmp_path / "six.safetensors")
    window = make_window()
    open_and_wait(qtbot, window, path)
    mixing = window.mixing
    mixing.cols.setText("glasses=nan; glasses=1")
    mixing.render_btn.click()
    assert "glasses" in mixing.error.text() and "nan" in mixing.error.text() and "finite" in mixing.error.text()
    window.latent_panel.condition._set_condition((0.0, 1.0, 0.5, 0.5, 0.5, 0.5))
    status = window.viewer.status_text()
    assert "smile 1, glasses 0, hair_color 0.5, skin_tone 0.5, …" in status  # the changed factor first, then 3


def test_psi_is_off_for_pggan_whose_images_it_cannot_change(make_window, qtbot, tmp_path):
    path = save_model(build_model("pggan", **TINY["pggan"]), tmp_path / "pg.safetensors")
    window = make_window()
    open_and_wait(qtbot, window, path)
    assert not window.latent_panel.psi.isEnabled() and "normalises z" in window.latent_panel.psi.toolTip()
