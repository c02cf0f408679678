"""Pivotal tuning on held-out faces (issue #28): how close W, W+ and W + tuning come to faces the
demo never saw, what each costs, how small the stored tuning is, and whether the tuned model still
renders other latents as before.

Faces: the procedural faces of dataset seed 1 (the demo was trained on seed 0), 64 px, the demo
StyleGAN. W and W+ project all faces together (batched, as `project` on a folder does; seconds
per face = the batch's time / faces); each face is then tuned from its W result (the pivot).
PSNR and SSIM are of the uint8 reconstruction a re-render gives (the tuning as stored) against the
face. Storage: the same trained change stored as float32, float16 and at ranks 8/16/64 (PSNR of
each). Locality: 64 random latents (seeds 1000..1063, psi 0.7) rendered by the untuned and the
tuned model, PSNR of one against the other, per tuning.

    gan-explorer bench tuning [--quick]   (or python3 benchmarks/bench_tuning.py --faces 16 ...)
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from gan_explorer.bench import register_benchmark

STORAGE_VARIANTS = (("full", 0), ("half", 0), ("rank", 8), ("rank", 16), ("rank", 64))


def _ssim_uint8(a: np.ndarray, b: np.ndarray) -> float:
    from gan_explorer.core.latent.losses import ssim

    def t(x):
        return torch.from_numpy(np.asarray(x, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    return float(ssim(t(a), t(b))[0])


def _render_with(model, ws, tuning):
    from gan_explorer.core.generate import render_ws
    from gan_explorer.core.latent.tuning import swapped_parameters

    with swapped_parameters(model.synthesis, tuning.tuned_parameters(model.synthesis)):
        return render_ws(model, ws)


def _summary(values) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


@register_benchmark("tuning")
def bench_tuning(quick: bool = False, faces: int | None = None, w_steps: int | None = None,
                 tune_steps: int | None = None, threads: int | None = 1) -> dict:
    from gan_explorer.core.data.faces import FacesDataset
    from gan_explorer.core.generate import ws_for_seeds
    from gan_explorer.core.io.identity import model_identity
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.latent.losses import psnr_uint8
    from gan_explorer.core.latent.projection import project
    from gan_explorer.core.latent.tuning import Tuning, compress, tune, tuning_bytes
    from gan_explorer.resources import demo_model

    if threads:
        torch.set_num_threads(threads)  # small nets: one intra-op thread per process is fastest on a busy CPU
    faces = faces or (4 if quick else 16)
    w_steps = w_steps or (100 if quick else 500)
    tune_steps = tune_steps or (60 if quick else 300)
    path = demo_model()
    model = open_model(path).eval()
    model_identity(model, path)
    dataset = FacesDataset(model.img_resolution, seed=1)
    photos = np.stack([dataset.image(i) for i in range(faces)])
    results = {"faces": faces, "w_steps": w_steps, "tune_steps": tune_steps, "threads": torch.get_num_threads(),
               "model": str(path.name if hasattr(path, "name") else path), "rows": {}}
    print(f"pivotal tuning on {faces} held-out faces (seed 1), demo StyleGAN 64 px, {results['threads']} thread(s); "
          f"W and W+ {w_steps} steps (batched), tuning {tune_steps} steps per face")
    rows = {}
    pivots = None
    for space in ("w", "w+"):
        t0 = time.perf_counter()
        projection = project(model, photos, space=space, steps=w_steps, preview_every=0)
        seconds = (time.perf_counter() - t0) / faces
        rows[space.upper()] = {"psnr": [float(v) for v in projection.psnr],
                               "ssim": [_ssim_uint8(a, b) for a, b in zip(projection.images, projection.target)],
                               "seconds": seconds}
        if space == "w":
            pivots = projection.ws
        print(f"  {space.upper():3s} median {statistics.median(rows[space.upper()]['psnr']):.2f} dB, "
              f"{seconds:.1f} s per face", flush=True)
    tuned = {"psnr": [], "ssim": [], "seconds": [], "bytes": [], "unstored": []}
    storage = {f"{s}{r or ''}": {"psnr": [], "bytes": []} for s, r in STORAGE_VARIANTS}
    locality = []
    seeds_ws = ws_for_seeds(model, range(1000, 1064), 0.7)
    from gan_explorer.core.generate import render_ws

    untuned_images = render_ws(model, seeds_ws)
    for i in range(faces):
        result = tune(model, photos[i], pivots[i:i + 1], steps=tune_steps, preview_every=0, seed=i)
        tuned["psnr"].append(result.psnr)
        tuned["ssim"].append(_ssim_uint8(result.images[0], result.target[0]))
        tuned["seconds"].append(result.seconds)
        tuned["bytes"].append(result.stored_bytes)
        tuned["unstored"].append(result.psnr_unstored)
        for kind, rank in STORAGE_VARIANTS:
            variant = Tuning(base="bench", base_tensors="", photo=str(i),
                             tensors=compress(result.differences, kind, rank or 1))
            image = _render_with(model, torch.from_numpy(pivots[i:i + 1]), variant)[0]
            storage[f"{kind}{rank or ''}"]["psnr"].append(psnr_uint8(image, result.target[0]))
            storage[f"{kind}{rank or ''}"]["bytes"].append(len(tuning_bytes(variant)))
        images = _render_with(model, seeds_ws, result.tuning)
        locality.append([psnr_uint8(a, b) for a, b in zip(images, untuned_images)])
        print(f"  face {i}: W {rows['W']['psnr'][i]:.2f} dB, W+ {rows['W+']['psnr'][i]:.2f} dB, tuned "
              f"{result.psnr:.2f} dB ({result.psnr_unstored:.2f} as trained) in {result.seconds:.0f} s; "
              f"64 other latents: median {statistics.median(locality[-1]):.1f} dB", flush=True)
    rows["W + tuning"] = {"psnr": tuned["psnr"], "ssim": tuned["ssim"], "seconds": statistics.median(tuned["seconds"])}
    results["rows"] = rows
    results["tuning_bytes"] = statistics.median(tuned["bytes"])
    results["storage"] = {k: {"median_psnr": statistics.median(v["psnr"]), "bytes": statistics.median(v["bytes"])}
                          for k, v in storage.items()}
    flat = [v for per_face in locality for v in per_face]
    results["locality_psnr"] = {"median": statistics.median(flat), "min": min(flat),
                                "median_per_tuning": [statistics.median(v) for v in locality]}
    print(f"\n{'':12s} {'PSNR median (range)':>22} {'>= 33 dB':>9} {'SSIM median':>12} {'s per face':>11}")
    for name, row in rows.items():
        seconds = row["seconds"] + (rows["W"]["seconds"] if name == "W + tuning" else 0)  # the pivot's share too
        print(f"{name:12s} {_summary(row['psnr']):>22} {sum(v >= 33 for v in row['psnr']):>5}/{faces:<3d} "
              f"{statistics.median(row['ssim']):>12.3f} {seconds:>11.0f}")
    print("storage of the same trained change (median PSNR, bytes):")
    for name, value in results["storage"].items():
        print(f"  {name:7s} {value['median_psnr']:.2f} dB  {value['bytes'] / 1024:.0f} KB")
    print(f"locality: 64 random latents, tuned vs untuned: median {results['locality_psnr']['median']:.1f} dB, "
          f"lowest {results['locality_psnr']['min']:.1f} dB")
    return results
