"""Caps on every count a user gives (samples, paths, seeds, sizes): one ConfigError line before any
work, the same for the command line and the window, whatever the number (negative, 10**12, 400
digits).

The caps sit far above any use (a 50,000-sample FD is the published protocol) and far below what
would run for days or take the machine's memory.
"""

from __future__ import annotations

import math
import numbers

from gan_explorer.core.errors import ConfigError, shorten

SEED_END = 2**32  # NVIDIA's seeds: 0 .. 2**32-1


def check_count(flag: str, value, low: int, high: int) -> int:
    """An integer from `low` to `high`; ConfigError naming `flag` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{flag} {shorten(value, 40)}: must be a whole number from {low:,} to {high:,}")
    if not low <= int(value) <= high:
        raise ConfigError(f"{flag} {shorten(int(value), 40)}: must be from {low:,} to {high:,}")
    return int(value)


def check_optional_count(flag: str, value, low: int, high: int) -> int | None:
    return None if value is None else check_count(flag, value, low, high)


def check_seeds(flag: str, seed, count: int) -> int:
    """A first seed whose `count` seeds (seed .. seed+count-1) are all NVIDIA seeds."""
    seed = check_count(flag, seed, 0, SEED_END - 1)
    if seed + count > SEED_END:
        raise ConfigError(f"{flag} {seed:,}: with {count:,} samples the seeds would pass 2**32-1")
    return seed


def check_finite(flag: str, value, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite number (NaN and inf render black images or give no score) within [low, high]."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{flag} {shorten(value, 40)}: must be a finite number") from None
    if not math.isfinite(number) or not low <= number <= high:
        bounds = f" from {low:g} to {high:g}" if math.isfinite(low) and math.isfinite(high) else ""
        raise ConfigError(f"{flag} {shorten(value, 40)}: must be a finite number{bounds}")
    return number
