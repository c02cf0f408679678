"""MIDI control change: learn (move a slider, turn a knob, either order) binds a knob to the address
the slider drives; the knob then sweeps that slider's range. This machine has no MIDI system (no
ALSA sequencer, so no virtual port): a fake port hands real mido messages to the same callback."""

import mido
import pytest

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.perform.midi import MidiMap, available_ports


class FakePort:
    """What mido.open_input(name, callback=...) returns, driven by the test."""

    def __init__(self, name, callback):
        self.name, self.callback, self.closed = name, callback, False

    def turn(self, control, value, channel=0):
        self.callback(mido.Message("control_change", channel=channel, control=control, value=value))

    def close(self):
        self.closed = True


@pytest.fixture
def knobs(performing):
    explorer, model, mailman = performing
    ports = []
    explorer.perform.midi.open_port = lambda name, callback: ports.append(FakePort(name, callback)) or ports[-1]
    assert explorer.perform.open_midi("nanoKONTROL") == ""
    return explorer, mailman, ports[0]


def test_learn_slider_then_knob_binds_and_the_knob_sweeps_the_range(knobs):
    explorer, mailman, port = knobs
    perform, latent = explorer.perform, explorer.latent
    perform.arm_learn()
    latent.set_z(3, 0.4)  # a slider moved
    port.turn(21, 10)     # ...and a knob turned
    mailman.pump()
    assert not perform.learn.armed
    assert perform.midi_map.lookup(0, 21).address == "/z/3"
    assert MidiMap(explorer.perform.data_dir).lookup(0, 21).address == "/z/3"  # kept in the data folder
    port.turn(21, 127)
    mailman.pump()
    assert dict(latent.state.z_edits)[3] == pytest.approx(3.0)  # the Z sliders' ±3 σ
    port.turn(21, 0)
    mailman.pump()
    assert dict(latent.state.z_edits)[3] == pytest.approx(-3.0)


def test_learn_knob_then_slider_and_rebinding(knobs):
    explorer, mailman, port = knobs
    perform, latent = explorer.perform, explorer.latent
    perform.arm_learn()
    port.turn(7, 64, channel=2)
    mailman.pump()
    assert perform.learn.armed  # waiting for a slider
    latent.change(truncation_psi=0.3)
    assert perform.midi_map.lookup(2, 7).address == "/psi"
    port.turn(7, 127, channel=2)
    port.turn(8, 127, channel=2)  # not bound: ignored, not an error
    port.callback(mido.Message("note_on", note=60))  # not a control change: ignored
    mailman.pump()
    assert latent.state.truncation_psi == pytest.approx(2.0)
    assert perform.counters.dropped_total == 0
    perform.unbind(2, 7)
    assert perform.midi_map.lookup(2, 7) is None
    perform.close_midi()
    assert port.closed and not perform.midi.is_open


def test_a_port_that_cannot_open_is_one_line(performing):
    explorer, _model, _mailman = performing

    def refuse(name, callback):
        raise SystemError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")

    explorer.perform.midi.open_port = refuse
    line = explorer.perform.open_midi("x")
    assert line.startswith("MIDI port 'x' cannot be opened") and not explorer.perform.midi.is_open
    names, reason = available_ports()  # on this machine: none, and why (no ALSA sequencer)
    assert names or reason
    with pytest.raises(GanExplorerError):
        explorer.perform.midi.open("x")
