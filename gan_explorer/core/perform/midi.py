"""MIDI control change mapped to the address table (no Qt): bindings, learn, and an input port.

A binding ties one knob (MIDI channel, controller number) to one address (core/perform/addresses):
a control change 0..127 sweeps the address's range in the units its slider shows (±3 σ for an
edit, -1..2 for ψ, ...). Learn: arm it, then move a slider in the window and turn a knob, in either
order; the pair becomes a binding. Bindings are kept in the data folder (`midi.json`), for every
model alike (an address names a parameter, not a model's number).

Ports are opened with mido (python-rtmidi as its backend). Where the platform has no MIDI system
(a container without ALSA's sequencer, /dev/snd/seq) `available_ports()` says so in one line and
the window shows it; `MidiInput` takes another `open_port` (tests hand it a fake port that calls the
callback with real mido messages).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gan_explorer.core.errors import GanExplorerError, OutputError, escape_text, shorten

log = logging.getLogger("gan_explorer.midi")

MAX_BINDINGS = 2048          # 16 channels x 128 controllers
MAX_MIDI_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Binding:
    channel: int   # 0..15 (mido counts from 0; a device's "channel 1" is 0)
    control: int   # 0..127
    address: str   # "/psi", "/z/4", "/direction/smile", ...


class MidiLearn:
    """Learn mode: the next slider moved and the next knob turned, in either order, become a binding."""

    def __init__(self):
        self.armed = False
        self.address: str | None = None
        self.knob: tuple[int, int] | None = None

    def arm(self):
        self.armed, self.address, self.knob = True, None, None

    def cancel(self):
        self.armed, self.address, self.knob = False, None, None

    def slider_moved(self, address: str | None) -> Binding | None:
        if self.armed and address:
            self.address = address
        return self._complete()

    def knob_turned(self, channel: int, control: int) -> Binding | None:
        if self.armed:
            self.knob = (int(channel), int(control))
        return self._complete()

    def _complete(self) -> Binding | None:
        if not (self.armed and self.address and self.knob):
            return None
        binding = Binding(self.knob[0], self.knob[1], self.address)
        self.cancel()
        return binding


class MidiMap:
    """(channel, control) -> address, saved as JSON in the data folder."""

    def __init__(self, data_dir=None):
        from gan_explorer.core.paths import default_data_dir

        self.path = Path(data_dir or default_data_dir()) / "midi.json"
        self.bindings: dict[tuple[int, int], Binding] = {}
        self.warning = ""
        if os.path.lexists(self.path):
            try:
                self.bindings = self._read()
            except GanExplorerError as exc:  # a damaged file is ignored, never overwritten without a word
                self.warning = f"{exc}; starting with no MIDI bindings (the file is replaced by the next binding)"
                log.warning(self.warning)

    def lookup(self, channel: int, control: int) -> Binding | None:
        return self.bindings.get((int(channel), int(control)))

    def bind(self, binding: Binding):
        """One knob drives one address; binding it again replaces the old binding."""
        bindings = dict(self.bindings)  # swapped whole: the MIDI thread reads it without a lock
        bindings[(binding.channel, binding.control)] = binding
        self.bindings = bindings
        self._save()

    def unbind(self, channel: int, control: int):
        bindings = dict(self.bindings)
        if bindings.pop((int(channel), int(control)), None) is not None:
            self.bindings = bindings
            self._save()

    def _save(self):
        from gan_explorer.core.io.atomic import atomic_write_text

        data = {"bindings": [[b.channel, b.control, b.address] for b in self.bindings.values()]}
        try:
            atomic_write_text(self.path, json.dumps(data))
        except (GanExplorerError, OSError) as exc:
            raise OutputError(f"MIDI bindings not saved: {escape_text(str(exc), 300)}; they are kept in this "
                              f"session") from None

    def _read(self) -> dict:
        from gan_explorer.core.io.reading import read_user_json

        data = read_user_json(self.path, MAX_MIDI_FILE_BYTES, "MIDI bindings file")
        try:
            items = data["bindings"]
            if not isinstance(items, list) or len(items) > MAX_BINDINGS:
                raise ValueError("'bindings' is not a list of at most 2048")
            out = {}
            for item in items:
                channel, control, address = item
                if not (isinstance(channel, int) and 0 <= channel < 16 and isinstance(control, int)
                        and 0 <= control < 128 and isinstance(address, str) and address.startswith("/")
                        and len(address) < 256):
                    raise ValueError(f"binding {shorten(item, 60)} is not [channel 0-15, control 0-127, address]")
                out[(channel, control)] = Binding(channel, control, address)
            return out
        except (ValueError, TypeError, KeyError) as exc:
            raise GanExplorerError(f"{escape_text(str(self.path), 300)}: not a usable MIDI bindings file "
                                   f"({escape_text(str(exc), 200)})") from None


def available_ports() -> tuple[list[str], str]:
    """(input port names, '') or ([], why there are none) where no MIDI system can be reached."""
    try:
        import mido
    except ImportError:
        return [], "MIDI needs the mido package (pip install mido python-rtmidi)"
    try:
        names = list(mido.get_input_names())
    except Exception as exc:  # rtmidi raises SystemError without ALSA's sequencer; ImportError without rtmidi
        return [], f"no MIDI system on this machine ({shorten(str(exc).strip() or type(exc).__name__, 120)})"
    return names, "" if names else "no MIDI input ports (connect a controller, then Refresh)"


def _mido_open(name: str, callback):
    import mido

    return mido.open_input(name, callback=callback)


class MidiInput:
    """One open input port; `sink(channel, control, value)` gets each control change on the port's
    own thread (mido's callback). Other messages (notes, clock) are ignored."""

    def __init__(self, sink, open_port=_mido_open):
        self.sink = sink
        self.open_port = open_port
        self.port = None
        self.name = ""

    def open(self, name: str):
        """Open port `name` (closing the one open); GanExplorerError, one line, where it cannot."""
        self.close()
        try:
            self.port = self.open_port(name, self._message)
        except Exception as exc:
            raise GanExplorerError(f"MIDI port {shorten(repr(name), 60)} cannot be opened: "
                                   f"{shorten(str(exc).strip() or type(exc).__name__, 150)}") from None
        self.name = name

    def close(self):
        port, self.port = self.port, None
        self.name = ""
        if port is not None:
            try:
                port.close()
            except Exception:
                log.exception("closing MIDI port")

    @property
    def is_open(self) -> bool:
        return self.port is not None

    def _message(self, message):
        if getattr(message, "type", None) == "control_change":
            self.sink(int(message.channel), int(message.control), int(message.value))
