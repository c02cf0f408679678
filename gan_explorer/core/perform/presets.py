"""Presets for a show (no Qt): a whole latent state with the ws it renders with, and a few settings;
kept per model (by its identity) as JSON in the data folder; recalled, and morphed one into another.

A preset keeps the ws its state rendered with, so a morph is a pure function of two presets: the
lerp of their ws (what the image is made of, edits included) with the nearer preset's other settings
(noise, network edits); the numbers both have (ψ, the transform, S-channel amounts, blend weights)
are interpolated too. A morph at 0 is preset a and at 1 preset b, exactly.

A damaged presets file is set aside (never overwritten) and the model starts with none, as the
bookmarks and the direction library do.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import ConfigError, GanExplorerError, OutputError, escape_text, shorten
from gan_explorer.core.latent.state import LatentState, SEdit, state_from_dict, state_to_dict

log = logging.getLogger("gan_explorer.presets")

FORMAT = "gan_explorer presets 1"
MAX_PRESETS = 512            # presets a file holds
MAX_PRESETS_BYTES = 64 << 20  # a presets file read back (each preset holds its ws: 18 x 512 floats at 1024 px)
MAX_NAME_CHARS = 80
SETTING_TYPES = (int, float, str, bool)  # settings are plain scalars (the output window's size, ...)


@dataclass(frozen=True, eq=False)
class Preset:
    name: str
    state: LatentState
    ws: np.ndarray | None = None                   # [num_ws, w_dim] the state rendered with
    settings: dict = field(default_factory=dict)   # plain scalars: how the show was set up


def _lerp(a: float, b: float, t: float) -> float:
    return float(a + (b - a) * t)


def can_morph(a: Preset, b: Preset) -> str:
    """'' when the two presets can be morphed, else the one-line reason."""
    if a.ws is None or b.ws is None:
        return f"preset {shorten(a.name if a.ws is None else b.name, 40)} has no latent saved (save it again)"
    if a.ws.shape != b.ws.shape:
        return f"presets {shorten(a.name, 40)} and {shorten(b.name, 40)} were made on models of other shapes"
    return ""


def morph(a: Preset, b: Preset, t: float) -> LatentState:
    """The state `t` of the way from preset a (t <= 0) to preset b (t >= 1); see the module docstring."""
    t = float(t)
    if t <= 0.0:
        return a.state
    if t >= 1.0:
        return b.state
    reason = can_morph(a, b)
    if reason:
        raise ConfigError(reason)
    near = a.state if t < 0.5 else b.state
    ws = np.asarray(a.ws, np.float32) + (np.asarray(b.ws, np.float32) - np.asarray(a.ws, np.float32)) * t
    s_a = {(e.layer, e.channel): e.amount for e in a.state.s_edits}
    s_b = {(e.layer, e.channel): e.amount for e in b.state.s_edits}
    s_edits = tuple(SEdit(layer, channel, _lerp(s_a.get((layer, channel), 0.0), s_b.get((layer, channel), 0.0), t))
                    for layer, channel in sorted(set(s_a) | set(s_b)))
    blend = near.blend
    if a.state.blend and b.state.blend and a.state.blend[0] == b.state.blend[0] \
            and len(a.state.blend) == len(b.state.blend):  # the same second network: its weights glide
        blend = (a.state.blend[0],) + tuple(_lerp(x, y, t) for x, y in zip(a.state.blend[1:], b.state.blend[1:]))
    return near.base(ws=tuple(map(tuple, ws.tolist())),
                     truncation_psi=_lerp(a.state.truncation_psi, b.state.truncation_psi, t),
                     transform=tuple(_lerp(x, y, t) for x, y in zip(a.state.transform, b.state.transform)),
                     s_edits=tuple(e for e in s_edits if e.amount), bends=near.bends, blend=blend)


# --- the store --------------------------------------------------------------------------------------
class PresetStore:
    """The presets of one model (by its identity), in `<data>/presets/<key>.json`."""

    def __init__(self, content_hash: str, data_dir=None):
        from gan_explorer.core.io.identity import identity_key
        from gan_explorer.core.paths import default_data_dir

        self.path = Path(data_dir or default_data_dir()) / "presets" / f"{identity_key(content_hash)}.json"
        self.content_hash = content_hash
        self.presets: dict[str, Preset] = {}
        self.warning = ""
        self._kept_in_place = False
        if os.path.lexists(self.path):
            try:
                self.presets = self._read(self.path)
            except GanExplorerError as exc:
                self._set_aside(exc)

    def names(self) -> list[str]:
        return list(self.presets)

    def get(self, name: str) -> Preset | None:
        return self.presets.get(name)

    def add(self, preset: Preset) -> Preset:
        name = str(preset.name).strip()
        if not name or len(name) > MAX_NAME_CHARS or "/" in name:
            raise ConfigError(f"preset name {shorten(repr(preset.name), 60)}: 1 to {MAX_NAME_CHARS} characters, "
                              f"no '/' (it is part of an OSC address)")
        if name not in self.presets and len(self.presets) >= MAX_PRESETS:
            raise ConfigError(f"{MAX_PRESETS} presets is the most a model keeps: remove one first")
        try:
            settings = _settings(preset.settings)
        except ValueError as exc:
            raise ConfigError(f"preset {shorten(repr(name), 60)}: {exc}") from None
        self.presets[name] = Preset(name, preset.state, preset.ws, settings)
        self._save()
        return self.presets[name]

    def remove(self, name: str):
        if self.presets.pop(name, None) is not None:
            self._save()

    def _save(self):
        if self._kept_in_place:
            raise OutputError(f"{escape_text(str(self.path), 400)}: the damaged presets file there could not be set "
                              f"aside; not overwriting it (move it away; the presets are kept in this session)")
        from gan_explorer.core.io.atomic import atomic_write_text

        data = {"format": FORMAT, "model_sha256": self.content_hash,
                "presets": [{"name": p.name, "state": state_to_dict(p.state), "settings": p.settings,
                             "ws": None if p.ws is None else np.asarray(p.ws, np.float32).tolist()}
                            for p in self.presets.values()]}
        try:
            atomic_write_text(self.path, json.dumps(data))
        except (GanExplorerError, OSError) as exc:
            raise OutputError(f"Presets not saved: {escape_text(str(exc), 400)}; they are kept in this session and "
                              f"saved with the next change") from None

    def _read(self, path: Path) -> dict[str, Preset]:
        from gan_explorer.core.io.reading import read_user_json

        data = read_user_json(path, MAX_PRESETS_BYTES, "presets file")
        try:
            if not isinstance(data, dict) or not isinstance(data.get("presets"), list):
                raise ValueError("no 'presets' list")
            if len(data["presets"]) > MAX_PRESETS:
                raise ValueError(f"{len(data['presets']):,} presets, more than {MAX_PRESETS}")
            presets = {}
            for item in data["presets"]:
                preset = _preset(item)
                presets[preset.name] = preset
            return presets
        except (ValueError, TypeError, KeyError, GanExplorerError) as exc:
            raise GanExplorerError(f"{escape_text(str(path), 400)}: not a usable presets file "
                                   f"({escape_text(str(exc), 300)})") from None

    def _set_aside(self, exc: GanExplorerError):
        aside = self.path.with_name(f"{self.path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
        try:
            os.replace(self.path, aside)
            kept = f"kept as {aside.name}"
        except OSError as move_error:
            self._kept_in_place = True
            kept = f"it could not be set aside ({escape_text(str(move_error), 100)}) and is left as it is"
        self.warning = f"{exc}; {kept}, starting with no presets"
        log.warning(self.warning)


def _settings(settings) -> dict:
    if not isinstance(settings, dict) or len(settings) > 64:
        raise ValueError("settings must be an object of at most 64 entries")
    out = {}
    for key, value in settings.items():
        if not isinstance(key, str) or len(key) > 64 or not isinstance(value, SETTING_TYPES):
            raise ValueError(f"setting {shorten(key, 40)} is not a plain value")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"setting {shorten(key, 40)} is not a finite number")
        out[key] = value if not isinstance(value, str) else value[:200]
    return out


def _preset(item) -> Preset:
    if not isinstance(item, dict):
        raise ValueError("a preset is not a JSON object")
    name = item["name"]
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS or "/" in name:
        raise ValueError(f"preset name {shorten(repr(name), 60)} is not a short text without '/'")
    state = state_from_dict(item["state"])
    ws = item.get("ws")
    if ws is not None:
        array = np.asarray(ws, dtype=np.float64)  # a ragged or non-numeric list raises ValueError
        if array.ndim != 2 or not array.size or not np.isfinite(array).all():
            raise ValueError(f"preset {shorten(repr(name), 60)}: its ws is not a finite [num_ws, w_dim] array")
        ws = array.astype(np.float32)
    return Preset(name, state, ws, _settings(item.get("settings", {})))
