"""StyleGAN synthesis speed at 64 and 256 px, batch 1 and 8 (ms per image).

The reference is the 64 px batch-1 case of the same run; every other case is reported
as a ratio of ms per image against it, so figures from noisy shared machines compare.
"""

from __future__ import annotations

import torch

from gan_explorer.bench import register_benchmark, time_call
from gan_explorer.core.models import build_model

CASES = [(64, 1), (64, 8), (256, 1), (256, 8)]


@register_benchmark("synthesis")
def bench_synthesis(quick: bool = False) -> dict:
    torch.manual_seed(0)
    repeats = 2 if quick else 5
    results = {"threads": torch.get_num_threads(), "cases": []}
    models = {}
    for res, batch in CASES:
        if res not in models:
            # NVIDIA's stylegan2 config (channel_base 32768, channel_max 512), full width.
            models[res] = build_model("stylegan", img_resolution=res).eval()
        model = models[res]
        ws = model.map(model.z_from_seeds(range(batch)))
        with torch.no_grad():
            seconds = time_call(lambda: model.synthesize(ws), repeats)
        results["cases"].append({"resolution": res, "batch": batch, "ms_per_image": 1000 * seconds / batch})
    ref = results["cases"][0]["ms_per_image"]
    print(f"StyleGAN2 synthesis, CPU threads={results['threads']}, reference = 64 px batch 1")
    print(f"{'res':>5} {'batch':>5} {'ms/img':>9} {'x ref':>7}")
    for case in results["cases"]:
        case["ratio_to_reference"] = case["ms_per_image"] / ref
        print(f"{case['resolution']:>5} {case['batch']:>5} {case['ms_per_image']:>9.1f} {case['ratio_to_reference']:>7.2f}")
    return results
