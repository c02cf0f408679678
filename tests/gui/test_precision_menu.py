"""Device menu -> Full frames in bf16: the session's renderer takes the choice, and says where
bf16 is not native (fp32 then)."""

from gan_explorer.core.backends import precision as precision_module
from tests.gui.conftest import open_and_wait


def test_bf16_menu_item_switches_full_frames(qtbot, make_window, tiny_model_file, monkeypatch):
    monkeypatch.setattr(precision_module, "native_bf16", lambda: (True, "avx512_bf16"))
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    renderer = window.viewer.session.renderer
    window.bf16_action.trigger()  # what a click on the menu item does
    qtbot.waitUntil(lambda: "bf16" in window.engine_label.text(), timeout=10000)
    assert renderer.full_precision == "bf16"
    window.bf16_action.trigger()
    qtbot.waitUntil(lambda: "bf16" not in window.engine_label.text(), timeout=10000)
    assert renderer.full_precision == "fp32"


def test_bf16_menu_item_says_when_it_is_not_native(qtbot, make_window, tiny_model_file, monkeypatch):
    monkeypatch.setattr(precision_module, "native_bf16", lambda: (False, "no AVX512-BF16 here"))
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.bf16_action.trigger()
    qtbot.waitUntil(lambda: "no AVX512-BF16 here" in window.engine_label.text(), timeout=10000)
    assert window.viewer.session.renderer.full_precision == "fp32"
