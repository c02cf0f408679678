"""StyleGAN3 synthesis: the textbook filtered-lrelu formulation against our polyphase one.

Reference = the same network rendered with `reference_filters()` (zero insertion, full-rate
FIR, subsampling) in the same run; figures are ms per image and speed-ups over it.

The measured pickle is the repository's official-format fixture
(tests/fixtures/stylegan_official/sg3t_64.pkl) when run from a checkout, or any StyleGAN3
pickle given with `--fixture PATH`; without either the benchmark says so in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from gan_explorer.bench import interleaved_medians, register_benchmark
from gan_explorer.core.errors import GanExplorerError, escape_text
from gan_explorer.core.models.stylegan3 import StyleGAN3, StyleGAN3Config, reference_filters

CHECKOUT = Path(__file__).resolve().parents[2]  # the repository root, when run from a checkout
CHECKOUT_FIXTURE = CHECKOUT / "tests" / "fixtures" / "stylegan_official" / "sg3t_64.pkl"


def fixture_path(path: str | os.PathLike | None = None) -> Path:
    """The pickle to measure: `path`, else the checkout's fixture; GanExplorerError (one line) without one."""
    if path is not None:
        if not Path(path).is_file():
            raise GanExplorerError(f"--fixture {escape_text(os.fspath(path), 300)}: no such file")
        return Path(path)
    if CHECKOUT_FIXTURE.is_file() and (CHECKOUT / "pyproject.toml").is_file():
        return CHECKOUT_FIXTURE
    raise GanExplorerError("bench stylegan3 measures an official StyleGAN3 pickle: run it from a checkout "
                           "(tests/fixtures/stylegan_official/sg3t_64.pkl) or give --fixture PATH")


def _models(quick, fixture):
    from gan_explorer.core.io.importers import import_nvidia_pickle

    model = import_nvidia_pickle(fixture)
    yield f"{fixture.stem} ({model.img_resolution} px)", model
    if not quick:
        # NVIDIA's 1024 px StyleGAN3-T config (stylegan3-t-ffhq-1024x1024): channel_base 32768, channel_max 512.
        yield "StyleGAN3-T 1024 px", StyleGAN3(StyleGAN3Config(img_resolution=1024)).eval()


@register_benchmark("stylegan3")
def bench_stylegan3(quick: bool = False, fixture: str | os.PathLike | None = None) -> dict:
    fixture = fixture_path(fixture)  # before anything is printed: a missing fixture is one line
    torch.manual_seed(0)
    results = {"threads": torch.get_num_threads(), "fixture": fixture.name, "cases": []}
    print(f"StyleGAN3 synthesis, batch 1, CPU threads={results['threads']}; reference = textbook filtered lrelu; "
          f"the two interleaved, median of {3 if quick else 7}")
    print(f"{'network':36s} {'reference ms':>13} {'ours ms':>9} {'speed-up':>9} {'max |diff|':>11}")
    for name, model in _models(quick, fixture):
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
