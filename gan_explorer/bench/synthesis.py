"""StyleGAN2 synthesis: our render paths against the textbook formulation, same run.

Reference = the textbook formulation of the same network with the same weights, written here
as NVIDIA's reference ops write it: every sample's modulated and demodulated kernel
[n, out, in, 3, 3], one grouped convolution with groups = batch, and the zero-insertion
full-rate FIR (`upfirdn2d_reference`). Measured beside it, interleaved round by round (the
median of each): our eager path, every installed inference engine (core/backends), the
preview path (the skip architecture stopped at a lower block), and the PyPI peers where they
import. Each case also reports GFLOP per image and the fraction of this machine's fp32 matmul
rate (a 2048^2 sgemm timed within the same interleaved rounds) that the figure amounts to.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import torch

from gan_explorer.bench import interleaved_medians, register_benchmark
from gan_explorer.core.models import build_model
from gan_explorer.core.models.ops import bias_act, modulated_conv2d_reference, upfirdn2d_reference
from gan_explorer.core.models.stylegan import make_noise

PEERS = [  # (module, what it is); both are different architectures from NVIDIA's (rosinality-style)
    ("stylegan2_pytorch", "lucidrains stylegan2-pytorch (different architecture)"),
    ("stylegan2_torch", "stylegan2-torch (rosinality-derived; different architecture)"),
]


@torch.no_grad()
def textbook_synthesis(model, ws, noise_mode="const"):
    """The same StyleGAN2 synthesis in the textbook (grouped-convolution) formulation."""
    synthesis = model.synthesis
    n = ws.shape[0]
    x = img = None
    for res, op, w_index in synthesis.plan:
        block = getattr(synthesis, f"b{res}")
        w = ws[:, w_index]
        if op == "torgb":
            layer = block.torgb
            y = modulated_conv2d_reference(x, layer.weight, layer.affine(w) * layer.weight_gain, demodulate=False)
            y = bias_act(y, layer.bias, clamp=layer.conv_clamp)
            if img is not None:
                img = upfirdn2d_reference(img, block.resample_filter, up=2, padding=(2, 1, 2, 1), gain=4)
            img = y if img is None else img + y
            continue
        if op == "conv1" and block.in_channels == 0:
            x = block.const.unsqueeze(0).repeat(n, 1, 1, 1)
        layer = getattr(block, op)
        noise = make_noise(noise_mode, layer.noise_const, n)
        noise = noise * layer.noise_strength if noise is not None else None
        x = modulated_conv2d_reference(x, layer.weight, layer.affine(w), noise=noise, up=layer.up,
                                       padding=layer.padding, resample_filter=layer.resample_filter,
                                       flip_weight=(layer.up == 1))
        x = bias_act(x, layer.bias, act="lrelu", gain=layer.act_gain, clamp=layer.conv_clamp)
    return img


def peer_status() -> list[tuple[str, str]]:
    """(peer, one line): why each PyPI peer has no figure on this machine, or 'importable'."""
    out = []
    for module, label in PEERS:
        try:
            __import__(module)
            out.append((label, "importable"))
        except BaseException as exc:  # they assert a GPU or build CUDA ops at import time
            text = str(exc).strip().splitlines()
            out.append((label, f"not measured: import fails on this machine ({type(exc).__name__}: "
                               f"{text[0] if text else ''})"))
    return out


def _cases(quick):
    # NVIDIA's stylegan2 config: channel_base 32768, channel_max 512, z = w = 512, 8 mapping layers.
    yield 256, 1, (128,), (3 if quick else 7)
    yield 256, 8, (), (2 if quick else 7)
    if not quick:
        yield 1024, 1, (64, 32), 7


@register_benchmark("synthesis")
def bench_synthesis(quick: bool = False) -> dict:
    from gan_explorer.core import backends

    torch.manual_seed(0)
    results = {"threads": torch.get_num_threads(), "cases": [], "peers": []}
    print(f"StyleGAN2 synthesis, CPU threads={results['threads']}; reference = textbook formulation "
          f"(grouped conv per sample), same weights, same run")
    models = {}
    with tempfile.TemporaryDirectory() as cache_root:
        for res, batch, preview_resolutions, rounds in _cases(quick):
            if res not in models:
                models[res] = build_model("stylegan", img_resolution=res).eval()
            model = models[res]
            with torch.no_grad():
                ws = model.map(model.z_from_seeds(range(batch)))
            paths = {"textbook (reference)": lambda: textbook_synthesis(model, ws)} if res <= 256 else {}
            paths["ours eager"] = lambda: model.synthesize(ws)
            renderers = {}
            for engine in backends.ENGINES:
                if backends.engine_available(engine):
                    t0 = time.perf_counter()
                    renderers[engine] = backends.GraphRenderer(model, engine, root=cache_root)
                    print(f"  ({engine}: graph ready for {res} px in {time.perf_counter() - t0:.0f} s)")
            for engine, renderer in renderers.items():
                paths[f"ours {engine}"] = lambda r=renderer: r.synthesize(ws)
            for preview_res in preview_resolutions:
                paths[f"ours preview {preview_res} px (eager)"] = \
                    lambda r=preview_res: model.synthesize(ws, max_resolution=r)
            with torch.no_grad():
                full = model.synthesize(ws)
                diffs = {name: float((fn() - full).abs().max()) for name, fn in paths.items()
                         if "preview" not in name}
                # The matmul rate is timed within the same rounds: on a shared machine the load
                # moves, and a rate from another minute would say nothing about these figures.
                a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
                seconds = interleaved_medians({**paths, "sgemm": lambda: a @ b}, rounds)
                rate = 2 * 2048**3 / seconds.pop("sgemm") / 1e9
            macs = model.synthesis.macs()
            ref_name = "textbook (reference)" if res <= 256 else "ours eager"
            ref = seconds[ref_name] / batch
            print(f"\n{res} px, batch {batch}, {2 * macs / 1e9:.1f} GFLOP/image (full), median of {rounds} interleaved;"
                  f" reference = {ref_name}; fp32 matmul {rate:.0f} GFLOP/s in the same rounds")
            print(f"{'path':38s} {'ms/img':>8} {'speed-up':>9} {'GFLOP/s':>8} {'of matmul':>9} {'max|diff|':>10}")
            for name, sec in seconds.items():
                per_image = sec / batch
                preview_res = int(name.split()[2]) if "preview" in name else None
                flops = 2 * model.synthesis.macs(preview_res)
                case = {"resolution": res, "batch": batch, "path": name, "ms_per_image": per_image * 1000,
                        "matmul_gflops": rate,
                        "speedup_vs_reference": ref / per_image, "gflop_per_image": flops / 1e9,
                        "fraction_of_matmul_rate": flops / per_image / 1e9 / rate,
                        "max_abs_diff_vs_eager": diffs.get(name)}
                results["cases"].append(case)
                diff = f"{case['max_abs_diff_vs_eager']:.1e}" if case["max_abs_diff_vs_eager"] is not None else "-"
                print(f"{name:38s} {case['ms_per_image']:>8.0f} {case['speedup_vs_reference']:>8.2f}x "
                      f"{flops / per_image / 1e9:>8.0f} {case['fraction_of_matmul_rate']:>8.0%} {diff:>10}")
    by = {(c["resolution"], c["batch"], c["path"]): c["ms_per_image"] for c in results["cases"]}
    for path in sorted({c["path"] for c in results["cases"] if c["resolution"] == 256 and c["batch"] == 8}):
        if (256, 1, path) in by:
            print(f"256 px {path}: batch 8 per image / batch 1 = {by[(256, 8, path)] / by[(256, 1, path)]:.2f}")
    print()
    for label, status in peer_status():
        results["peers"].append({"peer": label, "status": status})
        print(f"peer {label}: {status}")
    return results


@register_benchmark("precision")
def bench_precision(quick: bool = False, fixture=None) -> dict:
    """bf16 against fp32, one table: the error (max / mean 8-bit difference, PSNR) and the speed-up
    (medians of interleaved rounds, same run) of full frames and of a preview block, on the demo,
    NVIDIA's official 64 px fixture (where the checkout has tests/) and a 256 px model of NVIDIA's
    widths (`fixture`: a model file instead of a random-init one)."""
    from pathlib import Path

    from gan_explorer.core.backends.precision import image_error, native_bf16, precision_context
    from gan_explorer.core.io.models import open_model
    from gan_explorer.resources import demo_model

    native, why = native_bf16()
    print(f"bf16 vs fp32, batch 1, CPU threads={torch.get_num_threads()}; native bf16: {native} ({why})")
    models = {"demo 64 px": lambda: open_model(demo_model())}
    official = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "stylegan_official" / "sg2ada_64.pkl"
    if official.is_file():
        models["official fixture 64 px"] = lambda: open_model(official)
    models["256 px (NVIDIA widths)"] = (lambda: open_model(fixture)) if fixture else \
        (lambda: build_model("stylegan", img_resolution=256).eval())
    rounds = 2 if quick else 3
    rows = []
    print(f"{'model':26s} {'frame':12s} {'max lvl':>7} {'mean lvl':>8} {'PSNR dB':>8} {'fp32 ms':>8} "
          f"{'bf16 ms':>8} {'speed-up':>8}")
    for label, load in models.items():
        torch.manual_seed(0)
        model = load()
        with torch.no_grad():
            ws = model.map(model.z_from_seeds([0]))
            for frame, res in (("full", None), ("preview", model.img_resolution // 4)):
                def render(precision, res=res):
                    with precision_context(precision):
                        return model.synthesize(ws, max_resolution=res)

                error = image_error(render("bf16"), render("fp32"))
                seconds = interleaved_medians({"fp32": lambda: render("fp32"), "bf16": lambda: render("bf16")}, rounds)
                row = {"model": label, "frame": frame if res is None else f"preview {res} px", **error,
                       "fp32_ms": seconds["fp32"] * 1000, "bf16_ms": seconds["bf16"] * 1000,
                       "speedup": seconds["fp32"] / seconds["bf16"]}
                rows.append(row)
                print(f"{label:26s} {row['frame']:12s} {row['max_levels']:7.0f} {row['mean_levels']:8.2f} "
                      f"{row['psnr_db']:8.1f} {row['fp32_ms']:8.0f} {row['bf16_ms']:8.0f} {row['speedup']:7.2f}x",
                      flush=True)
    below_one_level = all(r["max_levels"] <= 1 for r in rows)
    print(f"full-quality default: {'bf16' if below_one_level else 'fp32'} "
          f"(bf16 {'is' if below_one_level else 'is not'} within one 8-bit level everywhere)")
    return {"native_bf16": native, "why": why, "rows": rows}
