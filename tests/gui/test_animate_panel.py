"""The Animate tab, clicked: a sound opened, planned, scrubbed and exported with its sound; a loop
planned and its export cancelled; a blend partner opened and a stage slider moved; a bend added
and removed. Each click changes what the image view shows, or the file on disk."""

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import Qt

from gan_explorer.core.io.video import read_mp4_comment
from gan_explorer.gui.session_bridge import SessionBridge
from gan_explorer.gui.widgets.animate_panel import AnimatePanel

DEMO = "resources/demo/stylegan-faces64.safetensors"


@pytest.fixture
def panel(qtbot, tmp_path):
    bridge = SessionBridge(sync=True, data_dir=tmp_path / "data")
    explorer = bridge.explorer
    shown = []
    explorer.viewer.events.frame_shown.connect(shown.append)
    widget = AnimatePanel(explorer.animation, explorer.network, explorer.viewer)
    qtbot.addWidget(widget)
    explorer.viewer.open_model(DEMO)
    yield widget, explorer, shown
    bridge.shutdown()


def test_a_sound_is_opened_planned_scrubbed_and_exported(panel, qtbot, tmp_path):
    widget, explorer, shown = panel
    rate = 16000
    t = np.arange(rate) / rate
    soundfile.write(str(tmp_path / "hum.wav"), (0.3 * np.sin(2 * np.pi * 90 * t) * (t > 0.5)).astype(np.float32), rate)
    widget.fps.setValue(8)
    widget.open_sound(tmp_path / "hum.wav")
    assert "hum.wav · 1.0 s" in widget.sound_label.text()
    widget.mapping.setText("bass=psi")
    qtbot.mouseClick(widget.plan_sound_btn, Qt.LeftButton)
    assert widget.time.maximum() == 7 and widget.export_btn.isEnabled()
    first = shown[-1].copy()
    widget.time.setValue(7)                                  # scrub to the loud end
    assert not np.array_equal(shown[-1], first)
    assert widget.export(tmp_path / "hum.mp4").ok
    assert "wrote hum.mp4 (8 frames)" in widget.status.text()
    assert '"map":"bass=psi"' in read_mp4_comment(tmp_path / "hum.mp4")


def test_a_bad_mapping_is_said_and_nothing_is_planned(panel, qtbot, tmp_path):
    widget, explorer, _ = panel
    rate = 8000
    soundfile.write(str(tmp_path / "a.wav"), np.zeros(rate, np.float32), rate)
    widget.open_sound(tmp_path / "a.wav")
    widget.mapping.setText("bass=no-such-direction")
    qtbot.mouseClick(widget.plan_sound_btn, Qt.LeftButton)
    assert "no direction named 'no-such-direction'" in widget.status.text()
    assert not widget.export_btn.isEnabled()


def test_a_loop_is_planned_and_played(panel, qtbot):
    widget, explorer, shown = panel
    widget.tabs.setCurrentIndex(1)
    widget.loop_seconds.setValue(1.0)
    widget.fps.setValue(6)
    qtbot.mouseClick(widget.plan_loop_btn, Qt.LeftButton)
    assert widget.time.maximum() == 5
    before = len(shown)
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.time.value() >= 2, timeout=10000)
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    assert len(shown) > before and not widget.clock.isActive()


def test_bends_are_added_and_removed_by_clicks(panel, qtbot):
    widget, explorer, _ = panel
    before = explorer.viewer.last_result.image.copy()
    widget.bend_layer.setCurrentIndex(2)
    widget.bend_op.setCurrentText("rotate")
    widget.bend_params.setText("40")
    qtbot.mouseClick(widget.add_bend_btn, Qt.LeftButton)
    assert widget.bend_list.count() == 1 and "rotate 40" in widget.bend_list.item(0).text()
    assert not np.array_equal(explorer.viewer.last_result.image, before)
    widget.bend_list.setCurrentRow(0)
    qtbot.mouseClick(widget.remove_bend_btn, Qt.LeftButton)
    assert widget.bend_list.count() == 0
    np.testing.assert_array_equal(explorer.viewer.last_result.image, before)


def test_a_partner_is_opened_and_a_stage_slider_blends(panel, qtbot, tmp_path):
    widget, explorer, _ = panel
    import torch

    from gan_explorer.core.io.checkpoint import load_model, save_model

    other = load_model(DEMO)
    with torch.no_grad():
        for p in other.synthesis.parameters():
            p.mul_(1.05)
    save_model(other, tmp_path / "other.safetensors")
    widget.tabs.setCurrentIndex(2)
    assert not widget.stage_sliders[0].isEnabled()
    widget.open_partner(tmp_path / "other.safetensors")
    assert widget.partner_label.text() == "other.safetensors" and widget.stage_sliders[-1].isEnabled()
    before = explorer.viewer.last_result.image.copy()
    widget.stage_sliders[-1].setValue(100)
    assert explorer.latent.state.blend[-1] == 1.0
    assert not np.array_equal(explorer.viewer.last_result.image, before)
    widget.swap_from.setCurrentIndex(2)
    qtbot.mouseClick(widget.swap_btn, Qt.LeftButton)
    assert [s.value() for s in widget.stage_sliders] == [0, 0] + [100] * (len(widget.stage_sliders) - 2)
    qtbot.mouseClick(widget.clear_blend_btn, Qt.LeftButton)
    assert explorer.latent.state.blend == () and all(s.value() == 0 for s in widget.stage_sliders)


def test_cancel_is_offered_only_while_an_export_runs_and_stops_it(panel, qtbot, tmp_path):
    widget, explorer, _ = panel
    widget.tabs.setCurrentIndex(1)
    widget.loop_seconds.setValue(1.0)
    widget.fps.setValue(6)
    qtbot.mouseClick(widget.plan_loop_btn, Qt.LeftButton)
    assert not widget.cancel_btn.isEnabled()
    seen = []

    def click_cancel_mid_export(handle):   # the button as a user sees it while frames are encoded
        def on_progress(p):
            seen.append(widget.cancel_btn.isEnabled())
            if p.done == 2:
                qtbot.mouseClick(widget.cancel_btn, Qt.LeftButton)
        handle.on_progress(on_progress)
    explorer.viewer.events.job_started.connect(click_cancel_mid_export)
    handle = widget.export(tmp_path / "loop.gif")
    assert seen[:2] == [True, True] and handle.cancelled
    assert not (tmp_path / "loop.gif").exists() and not widget.cancel_btn.isEnabled()
    assert "cancelled" in widget.status.text().lower()


def test_the_export_dialog_says_whether_the_watermark_is_on(panel, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from gan_explorer.core.trust.settings import set_watermark_enabled

    widget, _, _ = panel
    captions = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, caption, *a, **k: (captions.append(caption), ("", ""))[1]))
    try:
        for on in (True, False):
            set_watermark_enabled(on)
            widget._ask_export()
    finally:
        set_watermark_enabled(None)
    assert "invisible watermark on" in captions[0] and "invisible watermark off" in captions[1]
