"""The crop box a projection reconstructs: centred by default, chosen by the user when asked."""

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QDialog

from gan_explorer.gui.widgets.crop_dialog import CropDialog
from tests.gui.conftest import open_and_wait


def two_halves(path):
    """64x32: red on the left half, blue on the right."""
    pixels = np.zeros((32, 64, 3), np.uint8)
    pixels[:, :32, 0] = 255
    pixels[:, 32:, 2] = 255
    Image.fromarray(pixels).save(path)
    return path


def test_the_box_starts_as_the_centred_square_and_follows_the_user(qtbot, tmp_path):
    dialog = CropDialog(str(two_halves(tmp_path / "p.png")))
    qtbot.addWidget(dialog)
    assert dialog.crop_box() == (16, 0, 48, 32)
    dialog.set_box(32, 0, 32)
    assert dialog.crop_box() == (32, 0, 64, 32)
    dialog.set_box(50, -5, 40)  # past the picture: clipped to it
    assert dialog.crop_box() == (50, 0, 64, 32)


def test_an_unreadable_picture_is_one_line(make_window, qtbot, tiny_model_file, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"%!PS-Adobe-3.0 not a png")
    messages = []
    window.viewer.events.message.connect(messages.append)
    assert window.translate_panel.ask_crop(str(bad)) is None
    assert len(messages) == 1 and "bad.png" in messages[0] and "\n" not in messages[0]


def test_the_chosen_square_is_what_the_projection_reconstructs(make_window, qtbot, tiny_model_file, tmp_path,
                                                               monkeypatch):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.translate_panel
    panel.steps.setValue(10)
    panel.choose_crop.setChecked(True)

    def user_picks_the_right_half(dialog):  # what the user's drag and OK would do
        dialog.set_box(32, 0, 32)
        return QDialog.Accepted

    monkeypatch.setattr(CropDialog, "exec", user_picks_the_right_half)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        panel.project(str(two_halves(tmp_path / "p.png")))
    target = panel.last_projection.target[0]
    assert target[..., 2].min() >= 250 and target[..., 0].max() <= 5  # all blue: the right half only
    monkeypatch.setattr(CropDialog, "exec", lambda dialog: QDialog.Rejected)
    assert panel.project(str(tmp_path / "p.png")) is None  # cancelled: nothing runs
    assert panel.project_btn.isEnabled()
