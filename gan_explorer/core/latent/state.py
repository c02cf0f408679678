"""The latent state of an image and the edits in it (how a state becomes ws: core/latent/ws.py).

The explorer, the renderer, exports and the Python API share this vocabulary. The state is frozen
and made of plain Python data, so history can hold states as they are,
requests can cross threads, and a state can be written to JSON (bookmarks, exported PNGs) and read
back equal.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, replace
from typing import NamedTuple

from gan_explorer.core.errors import ConfigError, shorten


class WOffset(NamedTuple):
    """One slider's edit in W: `amount` along a raw w dimension or a unit direction, over a layer range."""

    key: str                   # which slider made it ("w:12", "d:3", "lib:smile"); one offset per key
    layer_start: int           # first layer of ws that moves
    layer_end: int             # last layer (inclusive)
    dim: int = -1              # a raw w dimension, or -1 to move along `direction`
    direction: tuple = ()      # unit vector [w_dim] when dim == -1
    amount: float = 0.0        # how far, in w units (sliders convert from sigma)


class SEdit(NamedTuple):
    """One StyleSpace channel's edit: `amount` added to channel `channel` of the style vector that
    modulated convolution `layer` receives (its index among the synthesis network's affines)."""

    layer: int
    channel: int
    amount: float


class Bend(NamedTuple):
    """One network-bending transform: `op` applied to the feature maps after synthesis layer `layer`
    (`params` are the op's numbers, e.g. a scale factor, a translation, channel indices)."""

    layer: int
    op: str
    params: tuple = ()


@dataclass(frozen=True)
class LatentState:
    """Everything that decides the current image; immutable, so history can hold it as is."""

    seed: int = 0
    z: tuple = ()                          # the z vector; empty = z for `seed`
    z_edits: tuple = ()                    # ((dim, delta), ...) added to z
    truncation_psi: float = 1.0
    truncation_cutoff: int | None = None
    noise_mode: str = "const"
    noise_seed: int = 0
    w_offsets: tuple[WOffset, ...] = ()
    ws: tuple = ()                         # explicit ws (interpolation frame, mixing cell, loaded latent)
    transform: tuple = (0.0, 0.0, 0.0)     # StyleGAN3: translate x, translate y, rotate (degrees)
    mix_seed: int = -1                     # style mixing: take `mix_layers` from this seed's ws
    mix_layers: tuple = ()
    condition: tuple = ()                  # c of a conditional model (one-hot class or factor values);
                                           # empty, or a width the model does not take: its default
    mix_condition: tuple = ()              # the condition `mix_seed`'s styles are drawn under (empty: ours)
    # Edits that act inside synthesis, not on ws (applied by core/synthesis_edits.py):
    s_edits: tuple[SEdit, ...] = ()        # StyleSpace: deltas added to the styles modulated convs receive
    bends: tuple[Bend, ...] = ()           # network bending: transforms of feature maps during synthesis
    tuning: str = ""                       # a pivotal tuning of the weights: its content hash ("" = none)
    blend: tuple = ()                      # a blended network: (other model's content hash, weight per
                                           # resolution, ...); empty = the model alone

    def with_changes(self, **changes) -> "LatentState":
        return replace(self, **changes)

    def with_w_offset(self, key: str, start: int, end: int, dim: int = -1, direction=(), amount: float = 0.0):
        """Set (or with amount 0, remove) the offset named `key`: one slider's edit in W."""
        kept = tuple(o for o in self.w_offsets if o.key != key)
        if amount:
            kept += (WOffset(key, int(start), int(end), int(dim), tuple(float(v) for v in direction),
                             float(amount)),)
        return replace(self, w_offsets=kept)

    def without_offsets(self, prefix: str) -> "LatentState":
        return replace(self, w_offsets=tuple(o for o in self.w_offsets if not o.key.startswith(prefix)))

    def offset(self, key: str) -> WOffset | None:
        return next((o for o in self.w_offsets if o.key == key), None)

    def with_z_edit(self, dim: int, delta: float):
        kept = tuple(e for e in self.z_edits if e[0] != dim)
        if delta:
            kept += ((int(dim), float(delta)),)
        return replace(self, z_edits=kept)

    def label(self) -> str:
        """A short human name: "seed 12", "seed 3 × 5 (mix)", "seed 12 (edited)", "latent"."""
        if self.ws:
            return "latent"
        text = f"seed {self.seed}"
        if self.mix_seed >= 0 and self.mix_layers:
            text += f" × {self.mix_seed} (mix)"
        if self.z_edits or self.w_offsets or self.z or self.s_edits or self.bends:
            text += " (edited)"
        return text

    def base(self, **changes) -> "LatentState":
        """The seed, truncation, noise and transform of this state without any edit (the network it
        renders through, tuned or blended, stays)."""
        kept = LatentState(seed=self.seed, truncation_psi=self.truncation_psi,
                           truncation_cutoff=self.truncation_cutoff, noise_mode=self.noise_mode,
                           noise_seed=self.noise_seed, transform=self.transform, condition=self.condition,
                           tuning=self.tuning, blend=self.blend)
        return replace(kept, **changes)


def state_to_dict(state: LatentState) -> dict:
    data = dataclasses.asdict(state)
    data["w_offsets"] = [list(o) for o in state.w_offsets]
    data["s_edits"] = [list(e) for e in state.s_edits]
    data["bends"] = [[b[0], b[1], list(b[2]) if len(b) > 2 else []] for b in state.bends]
    return data


def state_from_dict(data: dict) -> LatentState:
    """The inverse of state_to_dict; unknown keys (from a newer version) are ignored. Every value is
    checked as a typed one is (validate_state): StateError, one line, for anything else."""
    if not isinstance(data, dict):
        raise StateError(f"a latent state must be a JSON object, not {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(LatentState)}
    return _checked_state({k: v for k, v in data.items() if k in names})


def validate_state(state: LatentState) -> LatentState:
    """`state` with every value checked (integers in range, finite numbers, a known noise mode,
    bounded sizes): the one validator for typed, restored (a PNG's provenance, a bookmark) and
    loaded states. Returns the state with plain Python values; StateError otherwise."""
    return _checked_state({f.name: getattr(state, f.name) for f in dataclasses.fields(LatentState)})


# --- the validator ---------------------------------------------------------------------------------
SEED_RANGE = (0, 2**32 - 1)         # NVIDIA's seeds (numpy RandomState)
NOISE_SEED_RANGE = (0, 2**63 - 1)   # as --noise-seed
MAX_LAYERS = 1024                   # ws rows, layer indices, truncation cutoff
MAX_WIDTH = 65536                   # z, w, a direction, a condition
MAX_EDITS = 4096                    # z edits, W offsets
MAX_PSI = 100.0                     # |truncation psi|: far beyond any use, far below overflow
MAX_BEND_PARAMS = 4096             # numbers one bend takes (channel lists included)
MAX_HASH = 128                      # a content hash's hex digits (sha256 is 64)
NOISE_MODES = ("const", "random", "none")  # the renderers' (models/stylegan.py), named here without torch


class StateError(ConfigError, ValueError):
    """A latent state that cannot be used (restored or typed): one line naming the value."""


def _show(value) -> str:
    return shorten(repr(value) if isinstance(value, str) else value, 60)


def _int(name, value, low, high) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise StateError(f"latent state: {name} {_show(value)} is not an integer")
    if not low <= int(value) <= high:
        shown = f"2**{high.bit_length()}-1" if high == 2**high.bit_length() - 1 and high > 2**20 else high
        raise StateError(f"latent state: {name} {_show(value)} must be from {low} to {shown}")
    return int(value)


def _float(name, value, limit: float = 1e30) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StateError(f"latent state: {name} {_show(value)} is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > limit:
        raise StateError(f"latent state: {name} {_show(value)} must be a finite number"
                         + (f" from {-limit:g} to {limit:g}" if limit < 1e30 else ""))
    return number


def _sequence(name, value, limit: int) -> list | tuple:
    if not isinstance(value, (list, tuple)):
        raise StateError(f"latent state: {name} must be a list, not {type(value).__name__}")
    if len(value) > limit:
        raise StateError(f"latent state: {name} has {len(value):,} entries, more than {limit:,}")
    return value


def _floats(name, value, limit: int = MAX_WIDTH) -> tuple:
    return tuple(_float(f"{name}[{i}]", v) for i, v in enumerate(_sequence(name, value, limit)))


def _offset(i, item) -> WOffset:
    name = f"w_offsets[{i}]"
    item = _sequence(name, item, len(WOffset._fields))
    if len(item) < 3:
        raise StateError(f"latent state: {name} needs at least a key and a layer range")
    values = dict(zip(WOffset._fields, item))
    key = values["key"]
    if not isinstance(key, str) or len(key) > 200:
        raise StateError(f"latent state: {name} has no usable key")
    offset = WOffset(key, _int(f"{name} layer_start", values["layer_start"], -1, MAX_LAYERS),
                     _int(f"{name} layer_end", values["layer_end"], -1, MAX_LAYERS),
                     _int(f"{name} dim", values.get("dim", -1), -1, MAX_WIDTH - 1),
                     _floats(f"{name} direction", values.get("direction", ())),
                     _float(f"{name} amount", values.get("amount", 0.0)))
    if offset.dim < 0 and not offset.direction:
        raise StateError(f"latent state: {name} has neither a dimension nor a direction")
    return offset


def _s_edit(i, item) -> SEdit:
    name = f"s_edits[{i}]"
    item = _sequence(name, item, 3)
    if len(item) != 3:
        raise StateError(f"latent state: {name} is not a (layer, channel, amount) triple")
    return SEdit(_int(f"{name} layer", item[0], 0, MAX_LAYERS - 1), _int(f"{name} channel", item[1], 0, MAX_WIDTH - 1),
                 _float(f"{name} amount", item[2]))


def _bend(i, item) -> Bend:
    name = f"bends[{i}]"
    item = _sequence(name, item, 3)
    if len(item) < 2 or not isinstance(item[1], str) or not 0 < len(item[1]) <= 40:
        raise StateError(f"latent state: {name} is not a (layer, operation, parameters) triple")
    params = _floats(f"{name} parameters", item[2] if len(item) > 2 else (), MAX_BEND_PARAMS)
    return Bend(_int(f"{name} layer", item[0], 0, MAX_LAYERS - 1), item[1], params)


def _hash(name, value) -> str:
    if not isinstance(value, str) or len(value) > MAX_HASH or any(ch not in "0123456789abcdef" for ch in value):
        raise StateError(f"latent state: {name} {_show(value)} is not a content hash (lower-case hex)")
    return value


def _ws(value) -> tuple:
    rows = _sequence("ws", value, MAX_LAYERS)
    out = tuple(_floats(f"ws[{i}]", row) for i, row in enumerate(rows))
    if len({len(row) for row in out}) > 1 or (out and not out[0]):
        raise StateError("latent state: ws is not a rectangular [num_ws, w_dim] array")
    return out


def _checked_state(values: dict) -> LatentState:
    out = {}
    if "seed" in values:
        out["seed"] = _int("seed", values["seed"], *SEED_RANGE)
    if "z" in values:
        out["z"] = _floats("z", values["z"])
    if "z_edits" in values:
        edits = []
        for i, edit in enumerate(_sequence("z_edits", values["z_edits"], MAX_EDITS)):
            if not isinstance(edit, (list, tuple)) or len(edit) != 2:
                raise StateError(f"latent state: z_edits[{i}] is not a (dimension, amount) pair")
            edits.append((_int(f"z_edits[{i}] dimension", edit[0], 0, MAX_WIDTH - 1),
                          _float(f"z_edits[{i}] amount", edit[1])))
        out["z_edits"] = tuple(edits)
    if "truncation_psi" in values:
        out["truncation_psi"] = _float("truncation_psi", values["truncation_psi"], MAX_PSI)
    if values.get("truncation_cutoff") is not None:
        out["truncation_cutoff"] = _int("truncation_cutoff", values["truncation_cutoff"], 0, MAX_LAYERS)
    if "noise_mode" in values:
        mode = values["noise_mode"]
        if mode not in NOISE_MODES:
            raise StateError(f"latent state: noise mode {_show(mode)} must be one of {', '.join(NOISE_MODES)}")
        out["noise_mode"] = str(mode)
    if "noise_seed" in values:
        out["noise_seed"] = _int("noise_seed", values["noise_seed"], *NOISE_SEED_RANGE)
    if "w_offsets" in values:
        out["w_offsets"] = tuple(_offset(i, o) for i, o in enumerate(_sequence("w_offsets", values["w_offsets"],
                                                                                 MAX_EDITS)))
    if "ws" in values:
        out["ws"] = _ws(values["ws"])
    if "transform" in values:
        transform = _floats("transform", values["transform"], 3)
        if len(transform) != 3:
            raise StateError("latent state: transform must be (translate x, translate y, rotate)")
        out["transform"] = transform
    if "mix_seed" in values:
        out["mix_seed"] = _int("mix_seed", values["mix_seed"], -1, SEED_RANGE[1])
    if "mix_layers" in values:
        out["mix_layers"] = tuple(_int(f"mix_layers[{i}]", v, 0, MAX_LAYERS - 1)
                                  for i, v in enumerate(_sequence("mix_layers", values["mix_layers"], MAX_LAYERS)))
    for name in ("condition", "mix_condition"):
        if name in values:
            out[name] = _floats(name, values[name])
    if "s_edits" in values:
        out["s_edits"] = tuple(_s_edit(i, e) for i, e in enumerate(_sequence("s_edits", values["s_edits"], MAX_EDITS)))
    if "bends" in values:
        out["bends"] = tuple(_bend(i, b) for i, b in enumerate(_sequence("bends", values["bends"], MAX_EDITS)))
    if "tuning" in values:
        out["tuning"] = _hash("tuning", values["tuning"])
    if "blend" in values:
        blend = _sequence("blend", values["blend"], MAX_LAYERS + 1)
        if blend:
            out["blend"] = (_hash("blend model", blend[0]),) + _floats("blend weights", blend[1:], MAX_LAYERS)
    return LatentState(**out)
