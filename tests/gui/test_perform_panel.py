"""The Perform dock in the real window: the OSC toggle starts and stops the receiver and a message
sent over UDP changes the seed shown; bad messages and floods are counted, never block; MIDI learn
with a fake port (no MIDI system here); presets saved, recalled and morphed by clicks; the output
window opens full screen and follows every frame."""

import socket

import mido
import numpy as np
from PySide6.QtCore import Qt
from pythonosc.udp_client import SimpleUDPClient

from tests.gui.conftest import open_and_wait


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.LeftButton)


def osc_on(qtbot, window):
    panel = window.perform_panel
    window.perform_dock.raise_()
    panel.port.setValue(0)  # any free port: tests never collide on 9000
    click(qtbot, panel.osc_btn)
    assert panel.osc_btn.isChecked() and window.explorer.perform.osc.running
    return window.explorer.perform.osc.address


def test_osc_toggle_starts_listening_and_a_udp_message_changes_the_seed_shown(make_window, qtbot, tiny_model_file):
    window = make_window()
    window.show()
    open_and_wait(qtbot, window, tiny_model_file)
    perform = window.explorer.perform
    assert perform.osc is None and window.perform_panel.osc_state.text() == "off"  # off by default
    host, port = osc_on(qtbot, window)
    assert host == "127.0.0.1" and f"Listening on 127.0.0.1:{port}" in window.perform_panel.osc_state.text()
    client = SimpleUDPClient(host, port)
    with qtbot.waitSignal(window.sigImageShown, timeout=20000):
        client.send_message("/seed", 7)
    assert window.latent_panel.seed.value() == 7 and window.state.seed == 7
    with qtbot.waitSignal(window.sigImageShown, timeout=20000):
        client.send_message("/psi", 0.25)
    assert window.latent_panel.psi.value() == 0.25

    for address, value in (("/psi", "loud"), ("/psi", float("nan")), ("/elsewhere", 1)):
        client.send_message(address, value)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(b"garbage", (host, port))
    qtbot.waitUntil(lambda: perform.counters.dropped_total == 4, timeout=20000)
    assert {k: v for k, v in perform.counters.dropped.items() if v} == {"type": 1, "range": 1, "unknown": 1,
                                                                         "malformed": 1}
    assert window.state.seed == 7 and window.state.truncation_psi == 0.25

    click(qtbot, window.perform_panel.osc_btn)  # off again: the port is free
    assert perform.osc is None and window.perform_panel.osc_state.text() == "off"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, port))


def test_a_flood_is_coalesced_and_the_window_keeps_turning(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    perform = window.explorer.perform
    host, port = osc_on(qtbot, window)
    client = SimpleUDPClient(host, port)
    for i in range(2000):
        client.send_message("/z/0", (i % 100) / 50)
    client.send_message("/seed", 11)
    qtbot.waitUntil(lambda: window.state.seed == 11, timeout=30000)
    counters = perform.counters
    assert counters.updates < counters.applied + counters.coalesced  # values shared frames
    assert counters.updates <= counters.received - counters.coalesced
    click(qtbot, window.perform_panel.osc_btn)


class FakePort:
    def __init__(self, name, callback):
        self.name, self.callback = name, callback

    def close(self):
        pass


def test_midi_learn_by_clicks_with_a_fake_port(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel, perform = window.perform_panel, window.explorer.perform
    ports = []
    perform.midi.open_port = lambda name, callback: ports.append(FakePort(name, callback)) or ports[-1]
    panel.midi_ports.addItem("fake controller")  # no MIDI system on this machine: a fake port stands in
    panel.midi_ports.setEnabled(True)
    panel.midi_btn.setEnabled(True)
    window.perform_dock.raise_()
    click(qtbot, panel.midi_btn)
    assert perform.midi.is_open and panel.midi_state.text() == "Open: fake controller"
    click(qtbot, panel.learn_btn)
    assert perform.learn.armed and "move a slider" in panel.midi_state.text()
    window.tabs.setCurrentWidget(window.w_panel)
    window.w_panel.bank.sliders[2].setValue(50)  # move a slider...
    assert "/w/2" in panel.midi_state.text()
    ports[0].callback(mido.Message("control_change", channel=0, control=74, value=3))  # ...turn a knob
    qtbot.waitUntil(lambda: panel.bindings.count() == 1, timeout=10000)
    assert panel.bindings.item(0).text() == "ch 1 cc 74 → /w/2" and not panel.learn_btn.isChecked()
    with qtbot.waitSignal(window.sigImageShown, timeout=20000):
        ports[0].callback(mido.Message("control_change", channel=0, control=74, value=127))
    assert window.w_panel.bank.values == {2: 3.0}  # the knob's top is the slider's +3 σ
    click(qtbot, panel.unbind_btn)
    assert panel.bindings.count() == 0
    click(qtbot, panel.midi_btn)
    assert not perform.midi.is_open


def test_presets_saved_recalled_and_morphed_by_clicks(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.perform_panel
    window.perform_dock.raise_()
    window.latent_panel.seed.setValue(3)
    state_a, image_a = window.state, window.view.image.copy()
    panel.output_size.setCurrentIndex(2)  # 512 px, kept with the preset
    qtbot.keyClicks(panel.preset_name, "intro")
    click(qtbot, panel.save_btn)
    window.latent_panel.seed.setValue(4)
    state_b = window.state
    panel.preset_name.setText("drop")
    click(qtbot, panel.save_btn)
    assert [panel.presets.item(i).text() for i in range(panel.presets.count())] == ["intro", "drop"]
    panel.output_size.setCurrentIndex(0)
    panel.presets.setCurrentRow(0)
    click(qtbot, panel.recall_btn)
    assert window.state == state_a and np.array_equal(window.view.image, image_a)
    assert panel.output_size.currentData() == 512
    assert panel.morph.isEnabled() and panel.morph_a.currentText() == "intro" and panel.morph_b.currentText() == "drop"
    panel.morph.setValue(100)
    assert window.state == state_b
    panel.morph.setValue(50)
    assert window.state.ws and window.state.seed in (3, 4)  # halfway: an explicit latent between the two
    panel.presets.setCurrentRow(1)
    click(qtbot, panel.remove_btn)
    assert panel.presets.count() == 1 and not panel.morph.isEnabled()


def test_the_output_window_opens_full_screen_and_follows_every_frame(make_window, qtbot, tiny_model_file):
    window = make_window()
    window.show()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.perform_panel
    window.perform_dock.raise_()
    panel.output_size.setCurrentIndex(1)  # 256 px
    click(qtbot, panel.show_btn)
    show = panel.show_window
    qtbot.waitExposed(show)
    assert show.isFullScreen() and show.screen() is panel.screens.currentData()
    assert np.array_equal(show.image, window.view.image)
    rect = show.image_rect()
    assert (rect.width(), rect.height()) == (256, 256) and rect.center() == show.rect().center()
    frames = show.frames
    with qtbot.waitSignal(window.sigImageShown, timeout=20000):
        window.latent_panel.seed.setValue(9)
    assert show.frames == frames + 1 and np.array_equal(show.image, window.view.image)
    window.viewer.show_frame(np.zeros((16, 16, 3), np.uint8))  # playback frames too
    assert show.image.max() == 0
    grab = show.grab().toImage()
    assert grab.pixelColor(5, 5).black() == 255 or grab.pixelColor(5, 5).value() == 0  # black around the image
    qtbot.keyClick(show, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not panel.show_btn.isChecked(), timeout=5000)
    assert panel.show_window is None
