"""Control from outside (no Qt): OSC and MIDI values, presets, into the latent model.

The PerformModel is one of the explorer's small models. Values arrive on other threads (the OSC
receiver's, a MIDI port's); each is matched and checked against the address table at once (a bad
one is counted by reason and dropped) and put in a coalescing mailbox: the latest value per address
wins, and the first value into an empty mailbox asks `deliver` for one call on the window's thread.
That call takes everything waiting, applies it to the current state (pure functions of
core/perform/addresses.py) and sets the state once on the latent model, so a frame is requested
through the same latest-wins path as a slider drag. However fast messages come, the window's thread
gets at most one call per turn of its event loop and the mailbox holds at most one entry per address.
While the frame asked for is not shown yet, values wait in the mailbox (the frame shown takes them):
the window then does one state change per frame, however many messages came in between, as a slider
dragged faster than frames render does.

Continuous values (ψ, z, w, directions, morph, keyframe position) form one gesture, as a slider drag
does (one undo step; preview frames where the model has them); `rest()` ends it and renders the full
frame (the window calls it when values stop coming). Seeds, presets, noise and cutoff are steps.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from gan_explorer.core.errors import ConfigError, GanExplorerError, one_line
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.requests import ModelInfo
from gan_explorer.core.perform.addresses import (
    AddressError, Keyframe, LibraryEntry, Target, address_of_change, cc_value, checked, match, value_of,
)
from gan_explorer.core.perform.midi import Binding, MidiInput, MidiLearn, MidiMap
from gan_explorer.core.perform.osc import DEFAULT_HOST, DEFAULT_PORT, OscReceiver
from gan_explorer.core.perform.presets import Preset, PresetStore, morph

log = logging.getLogger("gan_explorer.perform")

MAX_PENDING = 4096        # distinct addresses waiting at once; beyond this a message counts as a flood
GESTURE = "perform"       # the history's gesture key of a stream of continuous values
FRAME_WAIT_S = 1.0        # values wait for the frame in flight at most this long (a frame that never comes)
DROP_REASONS = ("unknown", "type", "range", "malformed", "flood", "no model")


@dataclass
class Counters:
    """What arrived and what became of it; read by the panel, written on several threads."""

    received: int = 0      # messages and knob turns that named an address
    applied: int = 0       # values applied to the state
    coalesced: int = 0     # values replaced by a newer one for the same address before they were applied
    updates: int = 0       # state changes made (each asks for one frame)
    dropped: dict = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def line(self) -> str:
        drops = ", ".join(f"{k} {v:,}" for k, v in self.dropped.items() if v)
        return (f"{self.received:,} received · {self.applied:,} applied · {self.coalesced:,} coalesced · "
                f"{self.dropped_total:,} dropped" + (f" ({drops})" if drops else ""))


class PerformModel:
    """OSC, MIDI and presets for the open model; see the module docstring."""

    def __init__(self, viewer, latent, directions, keyframes, data_dir=None, deliver=None):
        self.viewer, self.latent, self.directions, self.keyframes = viewer, latent, directions, keyframes
        self.data_dir = data_dir
        self.deliver = deliver or viewer.session.deliver  # the window passes its GUI-thread queue
        self.events = EventGroup("changed", "message", "presets_changed", "bindings_changed", "applied")
        self.target = Target()
        self.counters = Counters()
        self.osc: OscReceiver | None = None
        self.presets: PresetStore | None = None
        self.midi_map = MidiMap(data_dir)
        self.midi = MidiInput(self._knob)
        self.learn = MidiLearn()
        self._lock = threading.Lock()
        self._pending: dict[str, tuple] = {}
        self._scheduled = False
        self._applying = False
        self._in_gesture = False
        self._previous = latent.state
        self._keyframe_job = None
        self._keyframes: tuple = ()
        self._frame_asked = 0.0  # when the frame of the latest values was asked for; 0: none in flight
        viewer.events.model_opened.connect(self._model_opened)
        viewer.events.image_shown.connect(self._frame_done)
        viewer.events.render_failed.connect(self._frame_done)
        directions.events.library_changed.connect(lambda _library: self._rebuild_target())
        keyframes.events.changed.connect(lambda _items: self._refresh_keyframes())
        latent.events.changed.connect(self._state_changed)
        self._unsaid = self.midi_map.warning  # said with the first model (nobody listens yet)

    # --- switching on and off -----------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return (self.osc is not None and self.osc.running) or self.midi.is_open

    def start_osc(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
        """Listen for OSC on host:port; '' or the one line saying why it cannot."""
        self.stop_osc()
        receiver = OscReceiver(self.receive, self._malformed, host, port)
        try:
            receiver.start()
        except ConfigError as exc:
            self.events.message.emit(str(exc))
            self.events.changed.emit(self)
            return str(exc)
        self.osc = receiver
        self._refresh_keyframes()
        self.events.message.emit("OSC on {}:{}".format(*receiver.address))
        self.events.changed.emit(self)
        return ""

    def stop_osc(self):
        receiver, self.osc = self.osc, None
        if receiver is not None:
            receiver.stop()
            self.events.changed.emit(self)

    def open_midi(self, name: str) -> str:
        try:
            self.midi.open(name)
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
            self.events.changed.emit(self)
            return str(exc)
        self._refresh_keyframes()
        self.events.changed.emit(self)
        return ""

    def close_midi(self):
        self.midi.close()
        self.learn.cancel()
        self.events.changed.emit(self)

    def shutdown(self):
        self.stop_osc()
        self.midi.close()

    def status(self) -> str:
        parts = []
        if self.osc is not None and self.osc.running:
            parts.append("OSC on {}:{}".format(*self.osc.address))
        if self.midi.is_open:
            parts.append(f"MIDI {self.midi.name}")
        return (" · ".join(parts) or "off") + " · " + self.counters.line()

    # --- values in (any thread) -----------------------------------------------------------------------
    def receive(self, address, params):
        """One message (an OSC address and its arguments): checked now, applied on the window's turn."""
        with self._lock:
            self.counters.received += 1
        try:
            entry, args = match(address)
            value = checked(entry, self.target, args, value_of(entry, params))
        except AddressError as exc:
            self._drop(exc.reason)
            return
        self._post(address, entry, args, value)

    def _malformed(self, _reason: str):
        with self._lock:
            self.counters.received += 1
        self._drop("malformed")

    def _drop(self, reason: str, count: int = 1):
        with self._lock:
            self.counters.dropped[reason] = self.counters.dropped.get(reason, 0) + count

    def _post(self, key: str, entry, args, value):
        with self._lock:
            if key in self._pending:
                self.counters.coalesced += 1
                del self._pending[key]  # re-inserted last: the order values are applied in is their latest
            elif len(self._pending) >= MAX_PENDING:
                self.counters.dropped["flood"] += 1
                return
            self._pending[key] = (entry, args, value)
            stuck = self._frame_asked and time.monotonic() - self._frame_asked > FRAME_WAIT_S
            schedule, self._scheduled = not self._scheduled or stuck, True
        if schedule:
            self.deliver(self._drain, None)

    def _knob(self, channel: int, control: int, value: int):
        """A MIDI control change (on the port's thread): learnt, or sent to its bound address."""
        if self.learn.armed:
            self.deliver(self._knob_learnt, (channel, control))
            return
        binding = self.midi_map.lookup(channel, control)
        if binding is None:
            return  # a knob nobody bound: not an error
        with self._lock:
            self.counters.received += 1
        try:
            entry, args = match(binding.address)
            if entry.cc_range is None and entry.kind != "trigger":
                raise AddressError("range", f"{binding.address} cannot be driven by a knob")
            converted = checked(entry, self.target, args, cc_value(entry, self.target, value, args))
        except AddressError as exc:
            self._drop(exc.reason)
            return
        self._post(binding.address, entry, args, converted)

    # --- values applied (the window's thread) ---------------------------------------------------------
    def _drain(self, _value=None):
        with self._lock:
            if self._frame_asked and time.monotonic() - self._frame_asked <= FRAME_WAIT_S:
                return  # the frame in flight takes what is waiting when it is shown (_frame_done)
            items = list(self._pending.values())
            self._pending.clear()
            self._scheduled = False
        if not items:
            return
        if not self.viewer.explorable:
            self._drop("no model", len(items))
            return
        state, continuous, target = self.latent.state, True, self.target
        for entry, args, value in items:
            try:
                checked(entry, target, args, value)  # the target may have changed since it arrived
                state = entry.apply(state, target, args, value)
            except AddressError as exc:
                self._drop(exc.reason)
                continue
            except (ConfigError, ValueError) as exc:
                log.info("perform value not applied: %s", one_line(exc))
                self._drop("range")
                continue
            self.counters.applied += 1
            continuous = continuous and entry.continuous
        self._applying = True
        self._frame_asked = time.monotonic()  # before: a synchronous session shows the frame inside set_state
        try:
            if continuous:
                changed = self.latent.set_state(state, GESTURE)
                self._in_gesture = self._in_gesture or changed
            else:
                self.rest()
                changed = self.latent.set_state(state)
        finally:
            self._applying = False
        if changed:
            self.counters.updates += 1
        else:
            self._frame_asked = 0.0
        self.events.applied.emit(self.counters)

    def _frame_done(self, _result=None):
        """A frame was shown (or failed): values that came meanwhile are applied now, in one change."""
        if not self._frame_asked:
            return
        self._frame_asked = 0.0
        with self._lock:
            waiting = bool(self._pending)
            self._scheduled = waiting
        if waiting:
            self.deliver(self._drain, None)  # (never from inside a change being applied)

    def rest(self):
        """Values stopped coming: end the gesture, so the full frame renders (as a slider's release)."""
        if self._in_gesture:
            self._in_gesture = False
            self.latent.end_gesture()

    # --- MIDI learn (the window's thread) -----------------------------------------------------------
    def arm_learn(self):
        self.learn.arm()
        self.events.message.emit("MIDI learn: move a slider and turn a knob (either first)")
        self.events.changed.emit(self)

    def cancel_learn(self):
        self.learn.cancel()
        self.events.changed.emit(self)

    def _state_changed(self, state):
        previous, self._previous = self._previous, state
        if self._applying:
            return
        self._in_gesture = False  # the user took over: their change starts its own undo step
        if self.learn.armed:
            self._learnt(self.learn.slider_moved(address_of_change(previous, state)))

    def _knob_learnt(self, knob):
        self._learnt(self.learn.knob_turned(*knob))

    def _learnt(self, binding: Binding | None):
        if binding is not None:
            try:
                self.midi_map.bind(binding)
            except GanExplorerError as exc:
                self.events.message.emit(str(exc))
            self.events.message.emit(f"MIDI channel {binding.channel + 1} control {binding.control} → "
                                     f"{binding.address}")
            self.events.bindings_changed.emit(self.midi_map)
        self.events.changed.emit(self)

    def unbind(self, channel: int, control: int):
        try:
            self.midi_map.unbind(channel, control)
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
        self.events.bindings_changed.emit(self.midi_map)

    # --- presets ---------------------------------------------------------------------------------------
    def save_preset(self, name: str, settings: dict | None = None):
        """Keep the current state (and, from the worker, the ws it renders with) as preset `name`;
        returns the job's handle (None without a model that keeps presets)."""
        from gan_explorer.core.perform.jobs import LatentWs

        if self.presets is None:
            self.events.message.emit("Presets need an open model with a file (its identity keys them)")
            return None
        state = self.latent.state
        handle = self.viewer.submit(LatentWs(states=(state,)))
        store = self.presets
        handle.on_done(lambda h: self._preset_made(h, store, name, state, dict(settings or {})))
        return handle

    def _preset_made(self, handle, store, name, state, settings):
        if not handle.ok or store is not self.presets:
            return
        try:
            store.add(Preset(name, state, handle.result[0], settings))
        except (GanExplorerError, ValueError) as exc:
            self.events.message.emit(str(exc))
        self._presets_changed()

    def recall(self, name: str) -> bool:
        preset = self.presets.get(name) if self.presets is not None else None
        if preset is None:
            return False
        self.rest()
        return self.latent.set_state(preset.state)

    def morph(self, a: str, b: str, t: float) -> bool:
        """The state `t` of the way from preset a to b (a drag of the morph slider is one gesture)."""
        try:
            state = morph(self.presets.get(a), self.presets.get(b), t)
        except (ConfigError, AttributeError) as exc:
            self.events.message.emit(str(exc) if isinstance(exc, ConfigError) else "pick two presets")
            return False
        return self.latent.set_state(state, "morph")

    def remove_preset(self, name: str):
        if self.presets is not None:
            try:
                self.presets.remove(name)
            except GanExplorerError as exc:
                self.events.message.emit(str(exc))
            self._presets_changed()

    def preset_names(self) -> list[str]:
        return self.presets.names() if self.presets is not None else []

    def _presets_changed(self):
        self._rebuild_target()
        self.events.presets_changed.emit(self)

    # --- the target the addresses act on ------------------------------------------------------------
    def _model_opened(self, info: ModelInfo):
        if self._unsaid:
            self.events.message.emit(self._unsaid)
            self._unsaid = ""
        self.presets, self._keyframes, self._keyframe_job = None, (), None
        if not info.is_translation and info.content_hash:
            try:
                self.presets = PresetStore(info.content_hash, self.data_dir)
            except (ValueError, GanExplorerError) as exc:
                self.events.message.emit(f"Presets unavailable: {one_line(exc)}")
            if self.presets is not None and self.presets.warning:
                self.events.message.emit(self.presets.warning)
        self._previous = self.latent.state
        self._presets_changed()
        self._refresh_keyframes()

    def _refresh_keyframes(self):
        """The keyframes' ws (for /keyframe), computed on the worker while control from outside is on."""
        from gan_explorer.core.perform.jobs import LatentWs

        states = self.keyframes.states()
        if not self.active or not self.viewer.explorable or not states:
            self._keyframes = ()
            self._rebuild_target()
            return
        if tuple(k.state for k in self._keyframes) == states:
            return
        handle = self._keyframe_job = self.viewer.submit(LatentWs(states=states))
        handle.on_done(lambda h: self._keyframes_ready(h, states))

    def _keyframes_ready(self, handle, states):
        if handle is not self._keyframe_job or not handle.ok:
            return
        self._keyframes = tuple(Keyframe(s, ws) for s, ws in zip(states, handle.result))
        self._rebuild_target()

    def _rebuild_target(self):
        info = self.viewer.info
        if info is None or info.is_translation:
            self.target = Target()
            return
        library = {}
        if self.directions.library is not None:
            library = {d.name: LibraryEntry(tuple(d.vector), float(d.sigma), d.layers(info.num_ws))
                       for d in self.directions.library.directions}
        sigma = tuple(float(s) for s in info.w_std) if info.w_std is not None else ()
        presets = dict(self.presets.presets) if self.presets is not None else {}
        network = getattr(self, "_network", None)
        partner = network.partner.content_hash if network is not None and network.partner is not None else ""
        stages = len(network.layout.stages) if network is not None and network.layout is not None else 0
        self.target = Target(info.z_dim, info.w_dim, info.num_ws, sigma, library, self._keyframes, presets,
                             info.c_kind, tuple(info.c_names), tuple(info.c_default), partner, stages)

    def follow_network(self, network):
        """Blend addresses act on the partner the network model opened (core/explorer/network.py)."""
        self._network = network
        network.events.partner_opened.connect(lambda _partner: self._rebuild_target())
        network.events.layout.connect(lambda _layout: self._rebuild_target())
