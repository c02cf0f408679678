"""Feature extraction speed of the metrics' networks (images per second).

Reference: the project's feature network (gan_explorer features) on 64 px images, batch 128, in
the same run. Reported against it: the same network fed 256 px images (the resize it needs), the
random CNN, Inception-v3 as FID uses it (random-init weights of the same architecture: the speed
is the architecture's, no weights file is needed), and rendering the same number of images with
the built-in StyleGAN demo (what generating samples for a metric costs beside extracting them).
"""

from __future__ import annotations

import torch

from gan_explorer.bench import register_benchmark, time_call


@register_benchmark("features")
def bench_features(quick: bool = False) -> dict:
    from gan_explorer.core.metrics.features import FacesNetFeatures, load_features
    from gan_explorer.core.metrics.inception import InceptionFeatures, InceptionV3FID
    from gan_explorer.core.metrics.network import random_faces_net

    torch.manual_seed(0)
    repeats = 2 if quick else 5
    batch = 32 if quick else 128
    try:
        ours = load_features("gan_explorer")
        ours_name = "gan_explorer features"
    except Exception:  # a build without the shipped file: the same architecture, random weights
        ours = FacesNetFeatures(random_faces_net(0), "gan_explorer", "", "")
        ours_name = "gan_explorer architecture (shipped weights missing)"
    cases = [
        (f"{ours_name}, 64 px", ours, 64, batch),
        (f"{ours_name}, 256 px input", ours, 256, batch),
        ("random CNN, 64 px", load_features("random"), 64, batch),
        ("Inception-v3 (FID), 64 px input", InceptionFeatures(InceptionV3FID(), "bench"), 64, 8 if quick else 32),
    ]
    results = {"threads": torch.get_num_threads(), "cases": []}
    for name, extractor, res, n in cases:
        images = torch.rand(n, 3, res, res) * 2 - 1
        with torch.no_grad():
            seconds = time_call(lambda: extractor(images), repeats if "Inception" not in name else 1)
        results["cases"].append({"case": name, "batch": n, "img_per_sec": n / seconds})
    try:
        from gan_explorer.core.io.models import open_model
        from gan_explorer.resources import demo_model

        model = open_model(demo_model()).eval()
        ws = model.map(model.z_from_seeds(range(batch)))
        with torch.no_grad():
            seconds = time_call(lambda: model.synthesize(ws), repeats)
        results["cases"].append({"case": "StyleGAN demo synthesis, 64 px", "batch": batch, "img_per_sec": batch / seconds})
    except Exception as exc:  # no demo in this build: leave the case out, say why
        results["skipped"] = f"StyleGAN demo synthesis: {type(exc).__name__}: {exc}"
    ref = results["cases"][0]["img_per_sec"]
    print(f"feature extraction, CPU threads={results['threads']}, reference = {cases[0][0]}")
    print(f"{'case':52s} {'batch':>5} {'img/s':>9} {'x ref':>7}")
    for case in results["cases"]:
        case["ratio_to_reference"] = case["img_per_sec"] / ref
        print(f"{case['case']:52s} {case['batch']:>5} {case['img_per_sec']:>9.1f} {case['ratio_to_reference']:>7.3f}")
    if "skipped" in results:
        print(f"skipped: {results['skipped']}")
    return results
