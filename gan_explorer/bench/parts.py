"""Part classifier and dissection on the built-in StyleGAN demo (64 px), against the faces' true parts.

Faces of the procedural dataset are projected into the demo (W+, cached in the data folder); a
classifier trained on N of them (seed 0) labels held-out projected faces (seed 1), scored per part
by IoU against the faces' exact part maps (N = 4, 16, 64; quick: 4). Then dissection of generated
samples against the N=16 (quick: 4) classifier's parts, the best unit IoU per part and layer, and
the effect of switching off the 8 best hair units of the layer where hair scores best. Timings are
reported as ratios against one render of the samples (the reference, measured in the same run).

    gan-explorer bench parts [--quick]     (or python3 benchmarks/bench_parts.py)
"""

from __future__ import annotations

import time

import numpy as np
import torch

from gan_explorer.bench import register_benchmark


def measure_parts(train_counts=(4, 16, 64), held_out: int = 16, samples: int = 200, ablate_units: int = 8,
                  cache_dir=None, progress=print) -> dict:
    from gan_explorer.core.analysis.dissection import ablation_effect, dissect
    from gan_explorer.core.analysis.parts import (
        PartsConfig, default_cache_dir, feature_layers, part_iou, pixel_features, projected_faces, train_classifier,
    )
    from gan_explorer.core.data.faces import PART_NAMES
    from gan_explorer.core.io.models import open_model
    from gan_explorer.resources import resource

    model = open_model(resource("demo") / "stylegan-faces64.safetensors")
    cache_dir = cache_dir or default_cache_dir()
    layers = feature_layers(model)
    test = projected_faces(model, held_out, seed=1, cache_dir=cache_dir)
    test_features, _ = pixel_features(model, test.ws, layers)
    out = dict(held_out=held_out, held_out_psnr_db=round(float(test.psnr.mean()), 2), classifier={})
    kept = None
    for n in train_counts:
        train = projected_faces(model, n, seed=0, cache_dir=cache_dir)
        features, _ = pixel_features(model, train.ws, layers)
        t0 = time.perf_counter()
        classifier = train_classifier(features, train.truth, PART_NAMES, layers, PartsConfig())
        seconds = time.perf_counter() - t0
        iou = part_iou(classifier.predict(test_features), test.truth, len(PART_NAMES))
        out["classifier"][n] = dict(miou=round(float(np.nanmean(iou)), 4), train_psnr_db=round(float(train.psnr.mean()), 2),
                                    train_seconds=round(seconds, 1),
                                    per_part={p: round(float(v), 4) for p, v in zip(PART_NAMES, iou)})
        progress(f"N={n}: mIoU {np.nanmean(iou):.3f}")
        if kept is None or n <= 16:
            kept = classifier
        del features
    if samples:
        with torch.no_grad():
            ws = model.map(model.sample_z(samples, 0)).numpy()
            t0 = time.perf_counter()
            model.synthesize(torch.from_numpy(ws))
            render = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = dissect(model, kept, ws)
        out["dissection"] = dict(samples=samples, best=report.best_table(), seconds_per_render=round(
            (time.perf_counter() - t0) / max(render, 1e-9), 1))
        hair = PART_NAMES.index("hair")
        layer = max(report.layers, key=lambda name: float(report.layer_iou(name)[:, hair].max()))
        units = [u for u, _ in report.top_units(layer, "hair", ablate_units)]
        effect = ablation_effect(model, kept, ws[:64], layer, units)
        out["ablation"] = dict(layer=layer, units=units, samples=min(64, samples), **effect.to_json())
        progress(f"hair units {units} of {layer}: hair area {effect.before[hair]:.3f} -> {effect.after[hair]:.3f}")
    return out


@register_benchmark("parts")
def bench_parts(quick: bool = False) -> dict:
    if quick:
        return measure_parts(train_counts=(4,), held_out=8, samples=32, ablate_units=8)
    return measure_parts()
