"""Conditions of a conditional model as the window handles them: plain tuples built from ModelInfo.

The model's own Conditioning lives with the model in the worker thread; the window has only the
ModelInfo (class or factor names and the default vector), which is all it needs to turn a class
choice, a factor slider or a typed "glasses=1" into the c that LatentState.condition holds.
"""

from __future__ import annotations

from gan_explorer.core.data.faces import FACTOR_RANGES
from gan_explorer.core.errors import ConfigError, quote
from gan_explorer.core.explorer.requests import ModelInfo


def factor_range(name: str) -> tuple[float, float]:
    """The range a factor was trained over: the procedural faces' own, else [0, 1]."""
    return FACTOR_RANGES.get(name, (0.0, 1.0))


def class_condition(info: ModelInfo, index: int) -> tuple:
    """One-hot c for class `index`."""
    if not 0 <= index < info.c_dim:
        raise ConfigError(f"class {index}: this model has classes 0 to {info.c_dim - 1}")
    return tuple(1.0 if i == index else 0.0 for i in range(info.c_dim))


def current_condition(info: ModelInfo, condition: tuple) -> tuple:
    """The condition a state renders with: its own, or the model's default."""
    return tuple(condition) if len(condition) == info.c_dim else tuple(info.c_default)


def class_of(info: ModelInfo, condition: tuple) -> int:
    """The class a one-hot (or soft) c stands for: its largest entry."""
    c = current_condition(info, condition)
    return max(range(len(c)), key=lambda i: c[i]) if c else -1


def with_factor(info: ModelInfo, condition: tuple, name: str, value: float) -> tuple:
    c = list(current_condition(info, condition))
    c[info.c_names.index(name)] = float(value)
    return tuple(c)


def describe_condition(info: ModelInfo, condition: tuple, max_factors: int = 4) -> str:
    """"class cat" or "glasses 1, smile 0.8": what the status line and tooltips show (with many
    factors, the ones away from their default first, then "…")."""
    if not info.c_dim:
        return ""
    c = current_condition(info, condition)
    if info.c_kind == "class":
        name = info.c_names[class_of(info, c)]
        return name if name.startswith("class ") else f"class {name}"
    named = list(zip(info.c_names, c, info.c_default))
    named.sort(key=lambda item: item[1] == item[2])  # stable: changed factors first, in model order
    text = ", ".join(f"{n} {v:.2g}" for n, v, _ in named[:max_factors])
    return text + (", …" if len(named) > max_factors else "")


def parse_condition(info: ModelInfo, text: str) -> tuple:
    """A class (index or name) for a class model; "name=value, ..." for a factor model (factors not
    named keep the model's default). The model's own Conditioning parses it, as for the CLI's
    --class / --condition: one-line ConfigError naming the text otherwise (NaN and inf included)."""
    from gan_explorer.core.models.conditioning import Conditioning

    if not info.c_dim:
        raise ConfigError(f"{quote(text, 40)}: this model is not conditional")
    conditioning = Conditioning(info.c_kind, info.c_dim, tuple(info.c_names))
    return tuple(float(v) for v in conditioning.parse(text.strip()).tolist())


def parse_condition_list(info: ModelInfo, text: str, limit: int = 16) -> list[tuple]:
    """Columns of a grid: classes separated by commas ("0, 3, cat"; "all" for every class), or
    factor settings separated by semicolons ("glasses=0; glasses=1")."""
    text = text.strip()
    if info.c_kind == "class":
        if text.lower() in ("", "all"):
            items = [str(i) for i in range(min(info.c_dim, limit))]
        else:
            items = [t for t in (t.strip() for t in text.split(",")) if t]
    else:
        items = [t for t in (t.strip() for t in text.split(";")) if t]
    if not items:
        raise ConfigError("no condition given")
    if len(items) > limit:
        raise ConfigError(f"{len(items)} conditions: at most {limit}")
    return [parse_condition(info, t) for t in items]
