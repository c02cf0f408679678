"""The Perform dock: OSC and MIDI control from outside, presets, and the full-screen output window.
It shows the core perform model (core/perform/control.py) and forwards intent; the model does the rest."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QSlider, QSpinBox,
    QVBoxLayout, QWidget,
)

from gan_explorer.core.perform.addresses import describe_table
from gan_explorer.core.perform.osc import DEFAULT_HOST, DEFAULT_PORT
from gan_explorer.gui.session_bridge import subscribe
from gan_explorer.gui.widgets.show_window import FILL, ShowWindow

REST_MS = 150          # no value for this long: the stream rests and the full frame renders (as a slider's release)
REFRESH_MS = 500       # the counters line is redrawn this often while control from outside is on
OUTPUT_SIZES = ((FILL, "fill the screen"), (256, "256 px"), (512, "512 px"), (768, "768 px"), (1024, "1024 px"))
MORPH_STEPS = 100


class PerformPanel(QWidget):
    def __init__(self, perform, viewer, parent=None):
        super().__init__(parent)
        self.perform, self.viewer = perform, viewer
        self.show_window: ShowWindow | None = None
        layout = QVBoxLayout(self)

        # --- OSC ---------------------------------------------------------------------------------
        box = QGroupBox("OSC")
        form = QFormLayout(box)
        self.host = QLineEdit(DEFAULT_HOST)
        self.host.setToolTip("The address to listen on: 127.0.0.1 takes messages from this computer only; "
                             "0.0.0.0 from any computer on the network")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.port.setSpecialValueText("any free port")
        self.osc_btn = QPushButton("OSC on")
        self.osc_btn.setCheckable(True)
        self.osc_btn.setToolTip("Listen for OSC messages (off until you switch it on). The addresses:\n"
                                + describe_table().replace("`", ""))
        row = QHBoxLayout()
        row.addWidget(self.host, 1)
        row.addWidget(self.port)
        row.addWidget(self.osc_btn)
        form.addRow("Listen on", row)
        self.osc_state = QLabel("off")
        self.osc_state.setWordWrap(True)
        self.osc_state.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addRow(self.osc_state)
        self.osc_btn.toggled.connect(self._osc_toggled)
        layout.addWidget(box)

        # --- MIDI --------------------------------------------------------------------------------
        box = QGroupBox("MIDI")
        column = QVBoxLayout(box)
        row = QHBoxLayout()
        self.midi_ports = QComboBox()
        self.midi_ports.setToolTip("MIDI input ports")
        self.refresh_btn = QPushButton("Refresh")
        self.refresh_btn.setToolTip("Look for MIDI input ports again")
        self.midi_btn = QPushButton("Open")
        self.midi_btn.setCheckable(True)
        self.midi_btn.setToolTip("Take control changes from this port")
        row.addWidget(self.midi_ports, 1)
        row.addWidget(self.refresh_btn)
        row.addWidget(self.midi_btn)
        column.addLayout(row)
        self.midi_state = QLabel("")
        self.midi_state.setWordWrap(True)
        column.addWidget(self.midi_state)
        row = QHBoxLayout()
        self.learn_btn = QPushButton("Learn")
        self.learn_btn.setCheckable(True)
        self.learn_btn.setToolTip("Move a slider in the window and turn a knob (either first): the knob then "
                                  "drives that slider")
        self.unbind_btn = QPushButton("Remove binding")
        row.addWidget(self.learn_btn)
        row.addWidget(self.unbind_btn)
        column.addLayout(row)
        self.bindings = QListWidget()
        self.bindings.setMaximumHeight(70)
        column.addWidget(self.bindings)
        self.refresh_btn.clicked.connect(self.refresh_ports)
        self.midi_btn.toggled.connect(self._midi_toggled)
        self.learn_btn.toggled.connect(self._learn_toggled)
        self.unbind_btn.clicked.connect(self._unbind)
        layout.addWidget(box)

        # --- presets -----------------------------------------------------------------------------
        box = QGroupBox("Presets")
        column = QVBoxLayout(box)
        row = QHBoxLayout()
        self.preset_name = QLineEdit()
        self.preset_name.setPlaceholderText("name")
        self.save_btn = QPushButton("Save preset")
        self.save_btn.setToolTip("Keep the whole latent state (and the output size) under this name; "
                                 "OSC /preset/<name> recalls it")
        row.addWidget(self.preset_name, 1)
        row.addWidget(self.save_btn)
        column.addLayout(row)
        self.presets = QListWidget()
        self.presets.setMaximumHeight(90)
        column.addWidget(self.presets)
        row = QHBoxLayout()
        self.recall_btn, self.remove_btn = QPushButton("Recall"), QPushButton("Remove")
        row.addWidget(self.recall_btn)
        row.addWidget(self.remove_btn)
        column.addLayout(row)
        row = QHBoxLayout()
        self.morph_a, self.morph_b = QComboBox(), QComboBox()
        self.morph = QSlider(Qt.Horizontal)
        self.morph.setRange(0, MORPH_STEPS)
        self.morph.setToolTip("Morph from the first preset (left) to the second (right); OSC /morph/<a>/<b>")
        row.addWidget(self.morph_a, 1)
        row.addWidget(self.morph, 2)
        row.addWidget(self.morph_b, 1)
        column.addLayout(row)
        self.save_btn.clicked.connect(self.save_preset)
        self.preset_name.returnPressed.connect(self.save_preset)
        self.recall_btn.clicked.connect(self._recall)
        self.presets.itemDoubleClicked.connect(lambda _item: self._recall())
        self.remove_btn.clicked.connect(self._remove)
        self.morph.valueChanged.connect(self._morph)
        self.morph.sliderReleased.connect(perform.latent.end_gesture)
        layout.addWidget(box)

        # --- output window -----------------------------------------------------------------------
        box = QGroupBox("Output window")
        row = QHBoxLayout(box)
        self.screens = QComboBox()
        self.screens.setToolTip("The screen the output fills (a projector, a second monitor, or this one)")
        self.output_size = QComboBox()
        for size, label in OUTPUT_SIZES:
            self.output_size.addItem(label, size)
        self.output_size.setToolTip("How large the image is drawn, centred on black")
        self.show_btn = QPushButton("Show")
        self.show_btn.setCheckable(True)
        self.show_btn.setToolTip("Only the image, full screen; Esc or a double click closes it")
        row.addWidget(self.screens, 1)
        row.addWidget(self.output_size)
        row.addWidget(self.show_btn)
        self.show_btn.toggled.connect(self._show_toggled)
        layout.addWidget(box)
        layout.addStretch(1)

        self.rest_timer = QTimer(self)
        self.rest_timer.setSingleShot(True)
        self.rest_timer.timeout.connect(perform.rest)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.timeout.connect(self._refresh_state)
        subscribe(self, perform.events.applied, lambda _c: self.rest_timer.start(REST_MS))
        subscribe(self, perform.events.changed, lambda _p: self._refresh_state())
        subscribe(self, perform.events.presets_changed, lambda _p: self._presets_changed())
        subscribe(self, perform.events.bindings_changed, lambda _m: self._bindings_changed())
        subscribe(self, viewer.events.model_opened, lambda _info: self._update_enabled())
        self.refresh_ports()
        self.refresh_screens()
        self._bindings_changed()
        self._presets_changed()
        self._refresh_state()

    # --- OSC --------------------------------------------------------------------------------------
    def _osc_toggled(self, on: bool):
        if on:
            error = self.perform.start_osc(self.host.text().strip() or DEFAULT_HOST, self.port.value())
            if error:
                _set_quietly(self.osc_btn, False)
                self.osc_state.setText(error)
                return
        else:
            self.perform.stop_osc()
        self._refresh_state()

    def _refresh_state(self):
        osc = self.perform.osc
        on = osc is not None and osc.running
        for w in (self.host, self.port):
            w.setEnabled(not on)
        if on:
            host, port = osc.address
            self.osc_state.setText(f"Listening on {host}:{port} · {self.perform.counters.line()}")
        elif not self.osc_state.text().startswith("OSC cannot"):
            self.osc_state.setText("off")
        learning = self.perform.learn.armed
        _set_quietly(self.learn_btn, learning)
        self.learn_btn.setEnabled(self.perform.midi.is_open or learning)  # knobs turn only on an open port
        if learning:
            waiting = "turn a knob" if self.perform.learn.address else "move a slider"
            got = self.perform.learn.address or ""
            self.midi_state.setText(f"Learning: {got + ' — ' if got else ''}{waiting}")
        elif self.perform.midi.is_open:
            self.midi_state.setText(f"Open: {self.perform.midi.name}")
        if self.perform.active and not self.refresh_timer.isActive():
            self.refresh_timer.start(REFRESH_MS)
        elif not self.perform.active:
            self.refresh_timer.stop()

    # --- MIDI -------------------------------------------------------------------------------------
    def refresh_ports(self):
        from gan_explorer.core.perform.midi import available_ports

        names, reason = available_ports()
        self.midi_ports.clear()
        self.midi_ports.addItems(names)
        self.midi_ports.setEnabled(bool(names))
        self.midi_btn.setEnabled(bool(names) or self.perform.midi.is_open)
        self.midi_state.setText(reason)

    def _midi_toggled(self, on: bool):
        if on:
            error = self.perform.open_midi(self.midi_ports.currentText())
            if error:
                _set_quietly(self.midi_btn, False)
                self.midi_state.setText(error)
                return
        else:
            self.perform.close_midi()
            self.midi_state.setText("")
        self._refresh_state()

    def _learn_toggled(self, on: bool):
        if on:
            self.perform.arm_learn()
        else:
            self.perform.cancel_learn()

    def _bindings_changed(self):
        self.bindings.clear()
        for (channel, control), binding in sorted(self.perform.midi_map.bindings.items()):
            self.bindings.addItem(f"ch {channel + 1} cc {control} → {binding.address}")
            self.bindings.item(self.bindings.count() - 1).setData(Qt.UserRole, (channel, control))
        self.unbind_btn.setEnabled(self.bindings.count() > 0)
        self._refresh_state()

    def _unbind(self):
        item = self.bindings.currentItem() or self.bindings.item(0)
        if item is not None:
            self.perform.unbind(*item.data(Qt.UserRole))

    # --- presets ----------------------------------------------------------------------------------
    def save_preset(self):
        name = self.preset_name.text().strip()
        if not name:
            self.perform.events.message.emit("Name the preset first")
            return None
        return self.perform.save_preset(name, {"output_size": int(self.output_size.currentData())})

    def _selected_preset(self) -> str | None:
        item = self.presets.currentItem()
        return item.text() if item is not None else None

    def _recall(self):
        name = self._selected_preset()
        if name is None:
            return
        self.perform.recall(name)
        preset = self.perform.presets.get(name) if self.perform.presets is not None else None
        size = preset.settings.get("output_size") if preset is not None else None
        index = self.output_size.findData(size)
        if index >= 0:
            self.output_size.setCurrentIndex(index)
            self._apply_output()

    def _remove(self):
        name = self._selected_preset()
        if name is not None:
            self.perform.remove_preset(name)

    def _morph(self, value: int):
        a, b = self.morph_a.currentText(), self.morph_b.currentText()
        if a and b:
            self.perform.morph(a, b, value / MORPH_STEPS)

    def _presets_changed(self):
        names = self.perform.preset_names()
        current = self._selected_preset()
        self.presets.clear()
        self.presets.addItems(names)
        if current in names:
            self.presets.setCurrentRow(names.index(current))
        elif names:
            self.presets.setCurrentRow(len(names) - 1)
        for combo, pick in ((self.morph_a, 0), (self.morph_b, 1)):
            kept = combo.currentText()
            if combo is self.morph_b and kept == self.morph_a.currentText():
                kept = None  # two different presets to morph between, where there are two
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            combo.setCurrentIndex(names.index(kept) if kept in names else min(pick, len(names) - 1))
            combo.blockSignals(False)
        self._update_enabled()

    def _update_enabled(self):
        has_store = self.perform.presets is not None
        count = len(self.perform.preset_names())
        self.save_btn.setEnabled(has_store)
        self.preset_name.setEnabled(has_store)
        self.recall_btn.setEnabled(count > 0)
        self.remove_btn.setEnabled(count > 0)
        for w in (self.morph, self.morph_a, self.morph_b):
            w.setEnabled(count > 1)

    # --- the output window ------------------------------------------------------------------------
    def refresh_screens(self):
        self.screens.clear()
        for screen in QGuiApplication.screens():
            geometry = screen.geometry()
            self.screens.addItem(f"{screen.name() or 'screen'} {geometry.width()}x{geometry.height()}", screen)
        if self.screens.count() > 1:
            self.screens.setCurrentIndex(1)  # a second screen, where there is one: the show's
        self.screens.currentIndexChanged.connect(lambda _i: self._apply_output())
        self.output_size.currentIndexChanged.connect(lambda _i: self._apply_output())

    def _show_toggled(self, on: bool):
        if on:
            if self.show_window is None:
                self.show_window = ShowWindow(self.viewer, self.window())  # closes with the main window
                self.show_window.sigClosed.connect(lambda: self.show_btn.setChecked(False))
            self._apply_output()
        elif self.show_window is not None:
            window, self.show_window = self.show_window, None
            window.close()
            window.deleteLater()

    def _apply_output(self):
        if self.show_window is None:
            return
        screen = self.screens.currentData() or QGuiApplication.primaryScreen()
        self.show_window.show_on(screen, int(self.output_size.currentData()))

    def shutdown(self):
        self.rest_timer.stop()
        self.refresh_timer.stop()
        if self.show_window is not None:
            self.show_btn.setChecked(False)
        self.perform.shutdown()


def _set_quietly(button, checked: bool):
    """Show a toggle's state without acting on it (the model said how things are)."""
    button.blockSignals(True)
    button.setChecked(checked)
    button.blockSignals(False)
