"""Performing with a model (no Qt): control from outside (OSC, MIDI) through one address table,
and presets for a show. See addresses.py for the table, control.py for how values reach the state."""
