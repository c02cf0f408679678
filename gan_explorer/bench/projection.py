"""Projection speed on the built-in StyleGAN demo (64 px): optimisation steps per second.

Reference, measured in the same rounds: one explorer frame (the demo rendered at batch 1 without
autograd, noise const), what a user waits for when a slider moves. Against it: one projection
step (render with autograd + loss + backward + Adam) in W and W+ with each loss at batch 1, and
W+ with the default loss for 16 pictures projected together (per picture: the batch's gain).
The cases are timed in turn, round by round, so load drift on a shared machine hits all alike;
a step's time is read between progress callbacks (the projection's set-up is reported apart).

    gan-explorer bench projection [--quick]     (or python3 benchmarks/bench_projection.py)
"""

from __future__ import annotations

import json
import statistics
import time

import torch

from gan_explorer.bench import register_benchmark


def _step_seconds(model, target, space, loss, steps):
    """(median seconds per step, seconds before the first step) of one projection."""
    from gan_explorer.core.latent.projection import project

    stamps = []
    t0 = time.perf_counter()
    project(model, target, space=space, steps=steps, loss=loss, w_phase=0.0 if space == "w+" else 0.5,
            progress=lambda *a: stamps.append(time.perf_counter()))
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    step = statistics.median(gaps)
    # Set-up: time to the first callback less one step; a noisy first step can make it negative.
    return step, max(stamps[0] - t0 - step, 0.0)


@register_benchmark("projection")
def bench_projection(quick: bool = False) -> dict:
    from gan_explorer.core.generate import render_ws, ws_for_seeds
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.latent.losses import make_loss
    from gan_explorer.resources import demo_model

    model = open_model(demo_model()).eval()
    steps, rounds = (6, 2) if quick else (20, 5)
    ws = ws_for_seeds(model, [100], 0.7)
    target1 = render_ws(model, ws)
    target16 = render_ws(model, ws_for_seeds(model, range(100, 116), 0.7))
    default_loss = make_loss("auto").name
    cases = {
        "w, l2, 1 picture": ("w", "l2", target1),
        "w+, l2, 1 picture": ("w+", "l2", target1),
        "w+, structural, 1 picture": ("w+", "structural", target1),
        f"w+, {default_loss}, 1 picture": ("w+", default_loss, target1),
        f"w+, {default_loss}, 16 pictures": ("w+", default_loss, target16),
    }
    frames, times, setups = [], {name: [] for name in cases}, {name: [] for name in cases}
    for name, (space, loss, target) in cases.items():  # warm-up: first calls build kernels and load nets
        _step_seconds(model, target, space, loss, 3)
    for _ in range(rounds):
        with torch.no_grad():
            for _ in range(5):
                t0 = time.perf_counter()
                model.synthesize(ws, noise_mode="const")
                frames.append(time.perf_counter() - t0)
        for name, (space, loss, target) in cases.items():
            step, setup = _step_seconds(model, target, space, loss, steps)
            times[name].append(step)
            setups[name].append(setup)
    frame = statistics.median(frames)
    results = {"threads": torch.get_num_threads(), "reference": "one explorer frame (demo, batch 1, no autograd)",
               "frame_ms": frame * 1000, "steps_per_round": steps, "rounds": rounds, "cases": []}
    print(f"projection on the demo StyleGAN (64 px), {results['threads']} CPU thread(s), {rounds} interleaved "
          f"rounds of {steps} steps; reference: one explorer frame = {frame * 1000:.1f} ms")
    print(f"{'case':32s} {'steps/s':>8} {'step / frame':>13} {'500 steps':>10} {'set-up':>7}")
    for name, (space, loss, target) in cases.items():
        step = statistics.median(times[name])
        setup = statistics.median(setups[name])
        n = len(target)
        case = {"case": name, "pictures": n, "steps_per_sec": 1 / step, "step_over_frame": step / frame,
                "seconds_500_steps": 500 * step + setup, "setup_seconds": setup,
                "step_per_picture_over_frame": step / n / frame}
        results["cases"].append(case)
        print(f"{name:32s} {1 / step:>8.2f} {step / frame:>12.1f}x {case['seconds_500_steps']:>9.0f}s "
              f"{setup:>6.1f}s")
    one, many = times[f"w+, {default_loss}, 1 picture"], times[f"w+, {default_loss}, 16 pictures"]
    results["batch16_per_picture_over_batch1"] = statistics.median(many) / 16 / statistics.median(one)
    print(f"16 pictures together: {results['batch16_per_picture_over_batch1']:.2f}x the time per picture of one alone")
    return results
