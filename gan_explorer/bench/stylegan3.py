"""StyleGAN3 synthesis: the textbook filtered-lrelu formulation against our polyphase one.

Reference = the same network rendered with `reference_filters()` (zero insertion, full-rate
FIR, subsampling) in the same run; figures are ms per image and speed-ups over it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gan_explorer.bench import interleaved_medians, register_benchmark
from gan_explorer.core.models.stylegan3 import StyleGAN3, StyleGAN3Config, reference_filters

FIXTURE = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "stylegan_official" / "sg3t_64.pkl"


def _models(quick):
    if FIXTURE.is_file():
        from gan_explorer.core.io.importers import import_nvidia_pickle
        yield "sg3t_64 fixture (64 px)", import_nvidia_pickle(FIXTURE)
    else:
        yield "StyleGAN3-T 64 px (fixture config)", StyleGAN3(StyleGAN3Config(img_resolution=64, channel_base=4096, channel_max=128)).eval()
    if not quick:
        # NVIDIA's 1024 px StyleGAN3-T config (stylegan3-t-ffhq-1024x1024): channel_base 32768, channel_max 512.
        yield "StyleGAN3-T 1024 px", StyleGAN3(StyleGAN3Config(img_resolution=1024)).eval()


@register_benchmark("stylegan3")
def bench_stylegan3(quick: bool = False) -> dict:
    torch.manual_seed(0)
    results = {"threads": torch.get_num_threads(), "cases": []}
    print(f"StyleGAN3 synthesis, batch 1, CPU threads={results['threads']}; reference = textbook filtered lrelu; "
          f"the two interleaved, median of {3 if quick else 7}")
    print(f"{'network':36s} {'reference ms':>13} {'ours ms':>9} {'speed-up':>9} {'max |diff|':>11}")
    for name, model in _models(quick):
        rounds = 3 if quick else 7
        ws = model.map(model.sample_z(1, 0), 0.7)

        def reference():
            with reference_filters():
                return model.synthesize(ws)

        with torch.no_grad():
            seconds = interleaved_medians({"ours": lambda: model.synthesize(ws), "reference": reference}, rounds)
            ours, ref = seconds["ours"], seconds["reference"]
            diff = float((model.synthesize(ws) - reference()).abs().max())
        case = {"network": name, "reference_ms": ref * 1000, "ours_ms": ours * 1000, "speedup": ref / ours,
                "max_abs_diff": diff}
        results["cases"].append(case)
        print(f"{name:36s} {case['reference_ms']:>13.0f} {case['ours_ms']:>9.0f} {case['speedup']:>8.1f}x {diff:>11.2e}")
    return results
