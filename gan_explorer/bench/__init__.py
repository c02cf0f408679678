"""Benchmarks: figures reported as ratios against a named reference measured in the same run."""

from __future__ import annotations

import statistics
import time

from gan_explorer.core.errors import GanExplorerError

_BENCHMARKS = {}


def register_benchmark(name):
    def wrap(fn):
        _BENCHMARKS[name] = fn
        return fn
    return wrap


def time_call(fn, repeats: int, warmup: int = 1) -> float:
    """Median wall seconds of fn() over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_medians(paths: dict, rounds: int, warmup: int = 1) -> dict:
    """Median wall seconds per path, the paths timed in turn within each round, so a change
    in the machine's load hits every path alike."""
    for _ in range(warmup):
        for fn in paths.values():
            fn()
    times = {name: [] for name in paths}
    for _ in range(rounds):
        for name, fn in paths.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}


def run_benchmark(name: str, quick: bool = False, fixture=None) -> dict:
    """Run benchmark `name`; `fixture` (a model file) goes to the benchmarks that measure one."""
    import inspect

    from gan_explorer.bench import (  # noqa: F401  (each module registers its benchmarks)
        curves, features, lab2d, latency, osc, projection, stylegan3, stylespace, synthesis, training,
    )
    from gan_explorer.bench import watermark  # noqa: F401  (issue #30)
    from gan_explorer.bench import tuning  # noqa: F401  (issue #28)
    from gan_explorer.bench import parts  # noqa: F401  (issue #29)
    from gan_explorer.bench import drag  # noqa: F401  (issue #27)

    if name not in _BENCHMARKS:
        raise GanExplorerError(f"unknown benchmark {name!r} (known: {', '.join(sorted(_BENCHMARKS))})")
    function = _BENCHMARKS[name]
    if fixture is None:
        return function(quick=quick)
    if "fixture" not in inspect.signature(function).parameters:
        raise GanExplorerError(f"benchmark {name!r} takes no --fixture")
    return function(quick=quick, fixture=fixture)
