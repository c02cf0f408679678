"""The performer's address space (no Qt): every parameter the window has, by an OSC-style address.

An address names a parameter the way the window's controls do, and takes the value in the units
that control shows. Each one is a pure function `(state, target, args, value) -> new state`, so a
value arriving over OSC or MIDI becomes a LatentState that goes through the latent model and the
same latest-wins render path as a slider drag (core/perform/control.py does that).

    /seed                  int     the seed (z of that seed; W edits are kept, as the Seed box does)
    /psi                   float   truncation psi, -1 .. 2 as the slider (any value up to ±100 is taken)
    /cutoff                int     truncate the first N layers; 0 = all layers (the box's "all layers")
    /noise                 int|str noise mode: 0 const, 1 random, 2 none (or the name)
    /noise/seed            int     the seed of the random noise
    /z/<i>                 float   edit of z[i], in σ of z (the Z tab's sliders)
    /w/<i>                 float   edit of w[i] over every layer, in σ of sampled w (the W tab's sliders)
    /direction/<name>      float   a named library direction, in its σ (the Library tab's sliders)
    /s/<layer>/<channel>   float   a StyleSpace channel edit (LatentState.s_edits), in style units
    /keyframe              float   position along the interpolation keyframes: 0 = the first, 1.5 =
                                   halfway from the second to the third (lerp in W+)
    /move/<axis>           float   StyleGAN3: translate x or y (-1 .. 1) or rotate (angle, degrees)
    /condition/<factor>    float   a factor of a conditional model, by name or number, as its slider
    /class                 int     the class of a class-conditional model
    /mix/<group>           int     style mixing: coarse, middle, fine or all layers from this seed (-1: off)
    /preset/<name>         (none)  recall a preset (a number, if sent, must be > 0.5: a MIDI button)
    /morph/<a>/<b>         float   morph from preset a (0) to preset b (1)
    /reset                 (none)  remove every edit, as Edit > Reset edits

Names in an address (directions, presets) are matched as written, or with each space written as
'_'. A feature that adds a parameter adds an address with `register_address` and, for MIDI learn,
a `register_change_finder` (its module is then imported where the window is composed); the table
in the README is `describe_table()` (a test checks that the README lists every address).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gan_explorer.core.latent.state import (
    MAX_LAYERS, MAX_PSI, MAX_WIDTH, NOISE_MODES, NOISE_SEED_RANGE, SEED_RANGE, LatentState, SEdit,
)

MAX_EDIT_SIGMA = 100.0    # |value| an edit address takes, in σ: beyond any slider, far below overflow
MAX_ADDRESS_CHARS = 256   # longer addresses are refused before they are parsed
CC_SPAN_SIGMA = 3.0       # a MIDI knob sweeps an edit over ±3 σ: the slider banks' default range


class AddressError(ValueError):
    """A message that cannot be applied: `reason` is the counter it goes to (unknown, type, range)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class LibraryEntry:
    """A named direction as the address table needs it (from core/latent/library.NamedDirection)."""

    vector: tuple             # unit vector [w_dim]
    sigma: float              # its σ: a value of 1 moves this far
    layers: tuple[int, int]   # first and last layer of ws it moves


@dataclass(frozen=True)
class Keyframe:
    state: LatentState
    ws: np.ndarray            # [num_ws, w_dim] the keyframe renders with


@dataclass(frozen=True, eq=False)
class Target:
    """What the addresses act on besides the state: the open model's sizes, its library, the
    keyframes and the presets. Immutable: the receiving thread reads one while the window builds
    the next (a new model, a library change) and swaps it in."""

    z_dim: int = 0
    w_dim: int = 0
    num_ws: int = 0
    w_sigma: tuple = ()                               # σ of sampled w per dimension (W sliders)
    library: dict = field(default_factory=dict)       # name -> LibraryEntry
    keyframes: tuple = ()                             # Keyframe, in order
    presets: dict = field(default_factory=dict)       # name -> core.perform.presets.Preset
    c_kind: str = ""                                  # a conditional model: "class" or "factors"
    c_names: tuple = ()                               # its class or factor names
    c_default: tuple = ()                             # the condition it renders with when given none
    blend_partner: str = ""                           # the model opened to blend with (content hash)
    blend_stages: int = 0                             # how many stages a blend weighs

    def find(self, names: dict, name: str):
        """`names[name]`, or the entry whose name with spaces as '_' is `name`."""
        if name in names:
            return names[name]
        return next((v for k, v in names.items() if k.replace(" ", "_") == name), None)


@dataclass(frozen=True)
class Address:
    pattern: str                  # "/z/<i>": fixed parts and <placeholders>
    meaning: str                  # one line for the table
    units: str                    # what a value means, as the control shows it
    apply: Callable               # (state, target, args, value) -> LatentState
    kind: str = "float"           # the value taken: float, int, noise, trigger
    continuous: bool = True       # a stream of values is one gesture (one undo step, preview frames)
    cc_range: Callable | None = None  # (target, args) -> (low, high) a MIDI CC 0..127 sweeps; None: no knob
    check: Callable | None = None     # (target, args, value) -> None or raises AddressError("range", ...)

    @property
    def parts(self) -> list[str]:
        return self.pattern.strip("/").split("/")


_ADDRESSES: list[Address] = []


def register_address(address: Address) -> Address:
    """Add an address to the table (a feature that adds a parameter calls this once, at import)."""
    if any(a.pattern == address.pattern for a in _ADDRESSES):
        raise ValueError(f"address {address.pattern} is registered twice")
    _ADDRESSES.append(address)
    return address


def addresses() -> tuple[Address, ...]:
    return tuple(_ADDRESSES)


# --- matching and values -------------------------------------------------------------------------
_INT_PARTS = ("<i>", "<layer>", "<channel>")


def match(address: str) -> tuple[Address, tuple]:
    """The table entry for `address` and its arguments (ints for indices, names as written).
    AddressError('unknown') when nothing matches."""
    if not isinstance(address, str) or not address.startswith("/") or len(address) > MAX_ADDRESS_CHARS:
        raise AddressError("unknown", "not an address")
    parts = address.strip("/").split("/")
    for entry in _ADDRESSES:
        pattern = entry.parts
        if len(pattern) != len(parts):
            continue
        args = []
        for want, got in zip(pattern, parts):
            if want.startswith("<"):
                if want in _INT_PARTS:
                    if not got.isdigit() or len(got) > 9:
                        break
                    args.append(int(got))
                elif got:
                    args.append(got)
                else:
                    break
            elif want != got:
                break
        else:
            return entry, tuple(args)
    raise AddressError("unknown", f"unknown address {address[:80]}")


def value_of(entry: Address, params) -> object:
    """The one value a message carries, checked for the address's kind: AddressError('type') for a
    wrong count or type, ('range') for NaN, infinity or a number beyond what a state takes."""
    params = tuple(params)
    if entry.kind == "trigger":
        if not params:
            return 1.0
        if len(params) != 1 or not _is_number(params[0]):
            raise AddressError("type", f"{entry.pattern} takes no value or one number")
        value = float(params[0])
        if not math.isfinite(value):
            raise AddressError("range", f"{entry.pattern}: {value} is not a finite number")
        return value
    if len(params) != 1:
        raise AddressError("type", f"{entry.pattern} takes one value, got {len(params)}")
    value = params[0]
    if entry.kind == "noise" and isinstance(value, str):
        if value not in NOISE_MODES:
            raise AddressError("range", f"{entry.pattern}: noise mode must be one of {', '.join(NOISE_MODES)}")
        return value
    if not _is_number(value):
        raise AddressError("type", f"{entry.pattern} takes a number, not {type(value).__name__}")
    if entry.kind in ("int", "noise"):
        if isinstance(value, numbers.Integral):
            return int(value)
        number = float(value)
        if not math.isfinite(number) or number != round(number):
            raise AddressError("type" if math.isfinite(number) else "range",
                               f"{entry.pattern} takes a whole number, not {number}")
        return int(number)
    number = float(value)
    if not math.isfinite(number):
        raise AddressError("range", f"{entry.pattern}: {number} is not a finite number")
    return number


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def checked(entry: Address, target: Target, args: tuple, value) -> object:
    """`value` if the address can take it for `target` (index in range, named thing known)."""
    if entry.check is not None:
        entry.check(target, args, value)
    return value


def apply_message(state: LatentState, target: Target, address: str, params) -> LatentState:
    """The state after one message: match, value, check, apply (AddressError where it cannot)."""
    entry, args = match(address)
    value = checked(entry, target, args, value_of(entry, params))
    return entry.apply(state, target, args, value)


def cc_value(entry: Address, target: Target, cc: int, args: tuple = ()) -> object:
    """A MIDI control change 0..127 as a value of `entry` (its cc_range, or 0/1 for a trigger)."""
    if entry.kind == "trigger":
        return 1.0 if cc >= 64 else 0.0
    low, high = entry.cc_range(target, args)
    value = low + (high - low) * (int(cc) / 127.0)
    return int(round(value)) if entry.kind in ("int", "noise") else value


def describe_table() -> str:
    """The address table as Markdown (the README's performer section)."""
    rows = ["| address | value | meaning |", "|---|---|---|"]
    for a in _ADDRESSES:
        rows.append(f"| `{a.pattern}` | {a.units} | {a.meaning} |")
    return "\n".join(rows)


# --- the window's parameters ---------------------------------------------------------------------
def _range(low, high, name):
    def check(target, args, value):
        if not low <= value <= high:
            raise AddressError("range", f"{name} {value} must be from {low:g} to {high:g}")
    return check


def _edit_range(target, args, value):
    if abs(value) > MAX_EDIT_SIGMA:
        raise AddressError("range", f"an edit of {value:g} σ is beyond ±{MAX_EDIT_SIGMA:g} σ")


def _index_below(size_of, what):
    def check(target, args, value):
        size = size_of(target)
        if not 0 <= args[0] < size:
            raise AddressError("range", f"{what} {args[0]} is out of range (the model has {size})")
        _edit_range(target, args, value)
    return check


def _named(names_of, what):
    def check(target, args, value):
        if target.find(names_of(target), args[0]) is None:
            raise AddressError("range", f"no {what} named {args[0][:60]}")
    return check


def _edit_span(_target, _args):
    return (-CC_SPAN_SIGMA, CC_SPAN_SIGMA)


def _seed(state, target, args, value):
    return state.with_changes(seed=int(value), z=(), ws=(), z_edits=())


def _cutoff_check(target, args, value):
    if not 0 <= value <= max(target.num_ws, 0):
        raise AddressError("range", f"cutoff {value} must be from 0 (all layers) to {target.num_ws}")


def _noise(state, target, args, value):
    mode = value if isinstance(value, str) else NOISE_MODES[value]
    return state.with_changes(noise_mode=mode)


def _noise_check(target, args, value):
    if not isinstance(value, str) and not 0 <= value < len(NOISE_MODES):
        raise AddressError("range", f"noise mode {value} must be 0 (const), 1 (random) or 2 (none)")


def _w(state, target, args, value):
    dim = args[0]
    sigma = float(target.w_sigma[dim]) if dim < len(target.w_sigma) else 1.0
    return state.with_w_offset(f"w:{dim}", 0, max(target.num_ws - 1, 0), dim=dim, amount=value * sigma)


def _direction(state, target, args, value):
    name = args[0]
    real = name if name in target.library else next(k for k in target.library if k.replace(" ", "_") == name)
    entry = target.library[real]
    return state.with_w_offset(f"lib:{real}", *entry.layers, direction=entry.vector, amount=value * entry.sigma)


def _s_edit(state, target, args, value):
    layer, channel = args
    kept = tuple(e for e in state.s_edits if (e.layer, e.channel) != (layer, channel))
    if value:
        kept += (SEdit(layer, channel, float(value)),)
    return state.with_changes(s_edits=kept)


def _s_check(target, args, value):
    layer, channel = args
    if not (0 <= layer < MAX_LAYERS and 0 <= channel < MAX_WIDTH):
        raise AddressError("range", f"S channel {layer}/{channel} is out of range")
    _edit_range(target, args, value)


def _blend_weights(state, target) -> list[float]:
    blend = state.blend
    if not blend or blend[0] != target.blend_partner:
        return [0.0] * target.blend_stages
    weights = list(blend[1:])
    return weights * target.blend_stages if len(weights) == 1 else weights


def _blend(state, target, args, value):
    weights = _blend_weights(state, target)
    weights[args[0]] = min(max(float(value), 0.0), 1.0)
    return state.with_changes(blend=(target.blend_partner, *weights) if any(weights) else ())


def _blend_check(target, args, value):
    if not target.blend_partner:
        raise AddressError("range", "/blend: no second model is open (Animate > Blend > Blend with…)")
    if not 0 <= args[0] < target.blend_stages:
        raise AddressError("range", f"/blend/{args[0]}: this model blends stages 0 to {target.blend_stages - 1}")
    if not math.isfinite(float(value)):
        raise AddressError("range", f"/blend/{args[0]}: {value} is not a finite number")


def _blend_change(before: LatentState, after: LatentState) -> str | None:
    """MIDI learn: a blend slider moved (one stage's weight changed)."""
    if before.blend == after.blend or before.with_changes(blend=after.blend) != after:
        return None
    count = max(len(before.blend), len(after.blend)) - 1
    old = list(before.blend[1:]) + [0.0] * count
    new = list(after.blend[1:]) + [0.0] * count
    moved = [i for i in range(count) if old[i] != new[i]]
    return f"/blend/{moved[0]}" if len(moved) == 1 else None


def keyframe_state(target: Target, position: float) -> LatentState:
    """The state at `position` along the keyframes: a keyframe itself at a whole number, between
    two the lerp of their ws (W+) as an explicit latent on the earlier one's seed and settings."""
    frames = target.keyframes
    position = min(max(float(position), 0.0), len(frames) - 1.0)
    index = int(math.floor(position))
    fraction = position - index
    if fraction == 0.0 or index + 1 >= len(frames):
        return frames[index].state
    a, b = frames[index], frames[index + 1]
    ws = a.ws + (b.ws - a.ws) * fraction
    return a.state.base(ws=tuple(map(tuple, np.asarray(ws, np.float32).tolist())))


def _keyframe_check(target, args, value):
    if len(target.keyframes) < 1:
        raise AddressError("range", "there are no keyframes (Interpolation tab: add some)")
    if not -MAX_EDIT_SIGMA <= value <= len(target.keyframes) + MAX_EDIT_SIGMA:
        raise AddressError("range", f"keyframe position {value:g} is far outside 0..{len(target.keyframes) - 1}")


def _preset_name(target, name):
    real = name if name in target.presets else next((k for k in target.presets if k.replace(" ", "_") == name), None)
    return target.presets[real]


def _recall(state, target, args, value):
    if value <= 0.5:
        return state  # a button released
    return _preset_name(target, args[0]).state


def _morph(state, target, args, value):
    from gan_explorer.core.perform.presets import morph

    return morph(_preset_name(target, args[0]), _preset_name(target, args[1]), value)


def _morph_check(target, args, value):
    for name in args:
        if target.find(target.presets, name) is None:
            raise AddressError("range", f"no preset named {name[:60]}")
    if not -MAX_EDIT_SIGMA <= value <= MAX_EDIT_SIGMA:
        raise AddressError("range", f"morph {value:g} is far outside 0..1")
    from gan_explorer.core.perform.presets import can_morph

    reason = can_morph(_preset_name(target, args[0]), _preset_name(target, args[1]))
    if reason:
        raise AddressError("range", reason)


def _reset(state, target, args, value):
    if value <= 0.5:
        return state
    return state.with_changes(z_edits=(), w_offsets=(), mix_seed=-1, mix_layers=(), mix_condition=(), s_edits=())


MOVE_AXES = {"x": (0, 1.0), "y": (1, 1.0), "angle": (2, 180.0)}  # index in transform, the box's reach


def _move(state, target, args, value):
    transform = list(state.transform)
    transform[MOVE_AXES[args[0]][0]] = float(value)
    return state.with_changes(transform=tuple(transform))


def _move_check(target, args, value):
    if args[0] not in MOVE_AXES:
        raise AddressError("unknown", f"move axis {args[0][:20]} (x, y or angle)")
    reach = MOVE_AXES[args[0]][1] * MAX_EDIT_SIGMA
    if abs(value) > reach:
        raise AddressError("range", f"move {args[0]} {value:g} is beyond ±{reach:g}")


def _factor_index(target, name) -> int:
    if name.isdigit() and int(name) < len(target.c_names):
        return int(name)
    names = [n.replace(" ", "_") for n in target.c_names]
    return names.index(name) if name in names else -1


def _condition(state, target, args, value):
    c = list(state.condition if len(state.condition) == len(target.c_default) else target.c_default)
    c[_factor_index(target, args[0])] = float(value)
    return state.with_changes(condition=tuple(c))


def _condition_check(target, args, value):
    if target.c_kind != "factors" or _factor_index(target, args[0]) < 0:
        raise AddressError("range", f"no condition factor {args[0][:40]} (the model's factors: "
                                    f"{', '.join(target.c_names[:8]) or 'none'})")
    _edit_range(target, args, value)


def _factor_span(target, args):
    from gan_explorer.core.explorer.conditions import factor_range

    index = _factor_index(target, args[0])
    return factor_range(target.c_names[index]) if index >= 0 else (0.0, 1.0)


def _class(state, target, args, value):
    return state.with_changes(condition=tuple(1.0 if i == value else 0.0 for i in range(len(target.c_names))))


def _class_check(target, args, value):
    if target.c_kind != "class" or not 0 <= value < len(target.c_names):
        raise AddressError("range", f"class {value}: this model has {len(target.c_names) if target.c_kind == 'class' else 'no'} "
                                    f"classes")


MIX_GROUPS = ("coarse", "middle", "fine", "all")


def _mix_layers(group: str, num_ws: int) -> tuple:
    from gan_explorer.core.latent.ops import layer_groups

    return tuple(range(num_ws)) if group == "all" else tuple(layer_groups(num_ws)[group])


def _mix(state, target, args, value):
    if value < 0:
        return state.with_changes(mix_seed=-1, mix_layers=(), mix_condition=())
    return state.with_changes(mix_seed=int(value), mix_layers=_mix_layers(args[0], target.num_ws), mix_condition=())


def _mix_check(target, args, value):
    if args[0] not in MIX_GROUPS:
        raise AddressError("unknown", f"layer group {args[0][:40]} (coarse, middle, fine or all)")
    _range(-1, SEED_RANGE[1], "mixing seed")(target, args, value)


def _noise_seed_check(target, args, value):
    _range(*NOISE_SEED_RANGE, "noise seed")(target, args, value)


for _address in (
    Address("/seed", "the seed (W edits are kept)", "integer", _seed, kind="int", continuous=False,
            cc_range=lambda t, a: (0, 127), check=_range(*SEED_RANGE, "seed")),
    Address("/psi", "truncation ψ", "ψ, -1 to 2", lambda s, t, a, v: s.with_changes(truncation_psi=float(v)),
            cc_range=lambda t, a: (-1.0, 2.0), check=_range(-MAX_PSI, MAX_PSI, "ψ")),
    Address("/cutoff", "truncation cutoff", "layers, 0 = all", kind="int", continuous=False,
            apply=lambda s, t, a, v: s.with_changes(truncation_cutoff=int(v) or None),
            cc_range=lambda t, a: (0, t.num_ws), check=_cutoff_check),
    Address("/noise", "noise mode", "0 const, 1 random, 2 none (or the name)", _noise, kind="noise",
            continuous=False, cc_range=lambda t, a: (0, len(NOISE_MODES) - 1), check=_noise_check),
    Address("/noise/seed", "seed of the random noise", "integer", kind="int", continuous=False,
            apply=lambda s, t, a, v: s.with_changes(noise_seed=int(v)), cc_range=lambda t, a: (0, 127),
            check=_noise_seed_check),
    Address("/z/<i>", "edit of z[i] (Z tab)", "σ of z", lambda s, t, a, v: s.with_z_edit(a[0], float(v)),
            cc_range=_edit_span, check=_index_below(lambda t: t.z_dim, "z dimension")),
    Address("/w/<i>", "edit of w[i] over every layer (W tab)", "σ of sampled w[i]", _w,
            cc_range=_edit_span, check=_index_below(lambda t: t.w_dim, "w dimension")),
    Address("/direction/<name>", "a named library direction (Library tab)", "σ of the direction", _direction,
            cc_range=_edit_span, check=lambda t, a, v: (_named(lambda t: t.library, "library direction")(t, a, v),
                                                        _edit_range(t, a, v))),
    Address("/s/<layer>/<channel>", "a StyleSpace channel edit", "style units", _s_edit,
            cc_range=_edit_span, check=_s_check),
    Address("/keyframe", "position along the interpolation keyframes (lerp in W+)",
            "0 = first keyframe, 1.5 = halfway from the 2nd to the 3rd", lambda s, t, a, v: keyframe_state(t, v),
            cc_range=lambda t, a: (0.0, max(len(t.keyframes) - 1.0, 0.0)), check=_keyframe_check),
    Address("/move/<axis>", "StyleGAN3: translate (x, y) or rotate (angle) the image", "image units, -1 to 1; "
            "angle in degrees", _move, cc_range=lambda t, a: (-MOVE_AXES[a[0]][1], MOVE_AXES[a[0]][1]),
            check=_move_check),
    Address("/condition/<factor>", "a conditional model's factor (by name or number)", "the factor's value, "
            "as its slider", _condition, cc_range=_factor_span, check=_condition_check),
    Address("/class", "a class-conditional model's class", "class number", _class, kind="int", continuous=False,
            cc_range=lambda t, a: (0, max(len(t.c_names) - 1, 0)), check=_class_check),
    Address("/mix/<group>", "style mixing: the layer group (coarse, middle, fine, all) taken from this seed's styles",
            "a seed, -1 = no mixing", _mix, kind="int", continuous=False, cc_range=lambda t, a: (-1, 126),
            check=_mix_check),
    Address("/preset/<name>", "recall a preset", "none (or a number > 0.5)", _recall, kind="trigger",
            continuous=False, cc_range=None, check=_named(lambda t: t.presets, "preset")),
    Address("/morph/<a>/<b>", "morph between two presets", "0 = a, 1 = b", _morph,
            cc_range=lambda t, a: (0.0, 1.0), check=_morph_check),
    Address("/reset", "remove every edit (Reset edits)", "none (or a number > 0.5)", _reset, kind="trigger",
            continuous=False),
    Address("/blend/<i>", "a blend stage's weight (Animate > Blend, once a second model is open)",
            "0 = this model, 1 = the other", _blend, cc_range=lambda t, a: (0.0, 1.0), check=_blend_check),
):
    register_address(_address)


# --- which address a control's move changed (MIDI learn: move a slider, turn a knob) ---------------
_CHANGE_FINDERS: list = []


def register_change_finder(finder) -> None:
    """A feature whose addresses act on state fields of its own (blend weights, bends) adds
    `finder(before, after) -> address or None`, so MIDI learn knows its sliders too."""
    _CHANGE_FINDERS.append(finder)


register_change_finder(_blend_change)


def address_of_change(before: LatentState, after: LatentState) -> str | None:
    """The address whose value differs between two states one control move apart, or None when the
    change is not one parameter (an undo, a bookmark, a new model)."""
    found = _window_change(before, after)
    for finder in _CHANGE_FINDERS if found is None else ():
        found = finder(before, after)
        if found is not None:
            break
    return found


def _window_change(before: LatentState, after: LatentState) -> str | None:
    changed = [name for name in ("seed", "truncation_psi", "truncation_cutoff", "noise_mode", "noise_seed")
               if getattr(before, name) != getattr(after, name)]
    if changed == ["seed"]:
        return "/seed"
    simple = {"truncation_psi": "/psi", "truncation_cutoff": "/cutoff", "noise_mode": "/noise",
              "noise_seed": "/noise/seed"}
    if len(changed) == 1 and before.w_offsets == after.w_offsets and before.z_edits == after.z_edits:
        return simple.get(changed[0])
    if changed:
        return None
    if before.transform != after.transform:
        moved = [axis for axis, (i, _) in MOVE_AXES.items() if before.transform[i] != after.transform[i]]
        return f"/move/{moved[0]}" if len(moved) == 1 else None
    if before.condition != after.condition and len(after.condition):
        old = before.condition if len(before.condition) == len(after.condition) else (None,) * len(after.condition)
        moved = [i for i, (x, y) in enumerate(zip(old, after.condition)) if x != y]
        if len(moved) == 1:
            return f"/condition/{moved[0]}"
        return "/class" if sorted(after.condition)[-1:] == [1.0] and sum(after.condition) == 1.0 else None
    if (before.mix_seed, before.mix_layers) != (after.mix_seed, after.mix_layers) and after.mix_seed >= 0:
        num_ws = max(after.mix_layers, default=0) + 1
        return next((f"/mix/{g}" for g in MIX_GROUPS[:3] if after.mix_layers == _mix_layers(g, max(num_ws, 1))
                     and after.mix_layers), None)
    z = dict(before.z_edits), dict(after.z_edits)
    moved_z = [d for d in set(z[0]) | set(z[1]) if z[0].get(d) != z[1].get(d)]
    w = {o.key: o for o in before.w_offsets}, {o.key: o for o in after.w_offsets}
    moved_w = [k for k in set(w[0]) | set(w[1]) if w[0].get(k) != w[1].get(k)]
    s = ({(e.layer, e.channel): e for e in before.s_edits}, {(e.layer, e.channel): e for e in after.s_edits})
    moved_s = [k for k in set(s[0]) | set(s[1]) if s[0].get(k) != s[1].get(k)]
    if len(moved_z) + len(moved_w) + len(moved_s) != 1:
        return None
    if moved_z:
        return f"/z/{moved_z[0]}"
    if moved_s:
        return f"/s/{moved_s[0][0]}/{moved_s[0][1]}"
    kind, _, name = moved_w[0].partition(":")
    if kind == "w":
        return f"/w/{name}"
    if kind == "lib":
        return f"/direction/{name.replace(' ', '_')}"
    return None
