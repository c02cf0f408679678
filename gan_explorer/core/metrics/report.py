"""How metric values read: as many digits as they carry, and no ± that rounds to zero.

KID is a small number (0.0123) with a smaller spread over subsets (0.0008, or 4e-06 on a model
that barely changes); printing both with a fixed `.5f` gave "0.01230 +- 0.00000". Here a value
keeps three significant digits, its spread one (two when it starts with a 1), the value is
rounded to the spread's last digit, and a spread that rounds to zero at the value's precision
is left out. No numpy, no torch: the monitor and the CLI both read it.
"""

from __future__ import annotations

import math

VALUE_DIGITS = 3  # significant digits of a value shown alone


def _decimals(value: float, digits: int) -> int:
    """Decimal places that show `digits` significant digits of `value` (0 for large values)."""
    if value == 0 or not math.isfinite(value):
        return digits - 1
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def mean_and_spread(mean: float, spread: float | None = None, digits: int = VALUE_DIGITS) -> str:
    """'0.0123 ± 0.0008', '31.2 ± 0.4', '0.0123' (a spread of 4e-06 rounds to zero), 'nan'."""
    mean = float(mean)
    if not math.isfinite(mean):
        return str(mean)
    places = _decimals(mean, digits)
    if spread is None or not math.isfinite(float(spread)) or float(spread) <= 0:
        return f"{mean:.{places}f}"
    spread = float(spread)
    if round(spread, places) == 0:
        return f"{mean:.{places}f}"
    spread_places = _decimals(spread, 1)
    if f"{spread:.{spread_places}f}".lstrip("0.").startswith("1"):
        spread_places += 1  # 0.0012, not 0.001: a leading 1 keeps its second digit
    places = min(places, spread_places)
    return f"{mean:.{places}f} ± {spread:.{places}f}"


def metrics_text(values: dict) -> str:
    """One short line for a metrics.jsonl line or a `metric` event's values ('Metrics/fd': 41.0,
    'Metrics/kid_mean': 0.0123, 'Metrics/kid_std': 0.0008, ...): 'FD 41.0, KID 0.0123 ± 0.0008, ...'."""
    values = {k.split("/", 1)[-1]: v for k, v in values.items() if isinstance(v, (int, float))}
    parts = []
    if "fd" in values:
        parts.append(f"FD {mean_and_spread(values['fd'])}")
    if "kid_mean" in values:
        parts.append(f"KID {mean_and_spread(values['kid_mean'], values.get('kid_std'))}")
    for key in ("precision", "recall", "density", "coverage"):
        if key in values:
            parts.append(f"{key} {values[key]:.3f}")
    for space in ("w", "z"):
        if f"ppl_{space}" in values:
            parts.append(f"PPL {space.upper()} {mean_and_spread(values[f'ppl_{space}'])}")
    if "nn_ratio" in values:
        parts.append(f"NN ratio {values['nn_ratio']:.2f}")
    return ", ".join(parts)
