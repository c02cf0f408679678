"""How well the invisible watermark survives what happens to a picture after export (issue #30).

On N exports each of the built-in demo (64 px, exported at its default export size: upscaled to
256 px, as the writers do) and of a 256 px StyleGAN (`gan-explorer new --family stylegan
--resolution 256`, random weights): the pictures go through the writers' own hook
(core/trust/export.prepare_picture) and then through each attack; per attack, the detection rate
(mark found with the right model prefix) and the coded-bit accuracy before error correction.
False positives: unmarked pictures (procedural faces at 256 px and the sample photos scikit-image
ships, read from its own folder: nothing is downloaded). PSNR: the mark's cost against the same
picture exported without it. No timings: nothing here depends on speed.

    gan-explorer bench watermark [--quick]     (or python3 benchmarks/bench_watermark.py)
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from gan_explorer.bench import register_benchmark

SCREEN = (1366, 768)  # the screenshot attack pastes the picture into a window of this size


def _png(image, **kw):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", **kw)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _jpeg(image, quality):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _half_and_back(image):
    h, w = image.shape[:2]
    small = Image.fromarray(image).resize((w // 2, h // 2), Image.BICUBIC)
    return np.asarray(small.resize((w, h), Image.BICUBIC))


def _crop(image, rng):
    """10% of each side's length cut away, split at random between the two ends."""
    h, w = image.shape[:2]
    dy, dx = int(rng.integers(0, h // 10 + 1)), int(rng.integers(0, w // 10 + 1))
    return image[dy:dy + h - h // 10, dx:dx + w - w // 10]


def _brighter(image):
    return np.clip(image.astype(np.float64) * 1.1, 0, 255).astype(np.uint8)


def _screenshot(image, rng):
    """The picture as a window shows it: on a grey canvas with a title bar, at an odd offset, saved as PNG."""
    canvas = np.full((SCREEN[1], SCREEN[0], 3), 236, np.uint8)
    canvas[:28] = 60
    y, x = int(rng.integers(40, 300)), int(rng.integers(10, 600))
    canvas[y:y + image.shape[0], x:x + image.shape[1]] = image
    return _png(canvas)


ATTACKS = {
    "none": lambda im, rng: im,
    "metadata stripped": lambda im, rng: _png(im),  # pixels re-saved alone: no text chunk, no manifest
    "JPEG q90": lambda im, rng: _jpeg(im, 90),
    "JPEG q75": lambda im, rng: _jpeg(im, 75),
    "JPEG q50": lambda im, rng: _jpeg(im, 50),
    "resize 0.5x and back": lambda im, rng: _half_and_back(im),
    "crop 10%": _crop,
    "brightness +10%": lambda im, rng: _brighter(im),
    "screenshot-like PNG": _screenshot,
}


def _exports(model, count, identity, batch=8):
    """(marked, unmarked) pictures as the writers export them, model hash `identity`."""
    from gan_explorer.core.generate import render_ws, ws_for_seeds
    from gan_explorer.core.trust.export import _upscaled, prepare_picture

    metadata = {"model": {"sha256": identity}}
    for start in range(0, count, batch):
        ws = ws_for_seeds(model, range(start, min(count, start + batch)), 1.0)
        for image in render_ws(model, ws):
            marked, _ = prepare_picture(image, metadata)
            yield marked, _upscaled(image, {})[0]


def _measure(model, count, identity, rng):
    from gan_explorer.core.trust import watermark

    code = watermark.encode(watermark.payload_bits(identity)).astype(bool)
    rows = {name: {"found": 0, "bits": []} for name in ATTACKS}
    psnrs, side = [], 0
    for marked, plain in _exports(model, count, identity):
        side = marked.shape[0]
        psnrs.append(watermark.psnr(plain, marked))
        for name, attack in ATTACKS.items():
            picture = attack(marked, rng)
            soft, sync, shift = watermark.soft_bits(picture)
            detection = watermark.decide(soft, sync, shift)
            rows[name]["found"] += detection.found and detection.model_prefix == identity[:6]
            rows[name]["bits"].append(float(np.mean((soft > 0) == code)))
    table = {name: {"detection_rate": row["found"] / count, "bit_accuracy": float(np.mean(row["bits"]))}
             for name, row in rows.items()}
    return {"exports": count, "export_side_px": side, "psnr_db_mean": float(np.mean(psnrs)),
            "psnr_db_min": float(np.min(psnrs)), "attacks": table}


def _unmarked(count):
    """`count` unmarked pictures: scikit-image's bundled sample photos, then procedural faces."""
    import skimage

    from gan_explorer.core.data.faces import factors_for, render_face

    folder = os.path.join(os.path.dirname(skimage.__file__), "data")
    names = sorted(n for n in os.listdir(folder) if n.endswith((".png", ".jpg")))
    photos = 0
    for name in names:
        if photos >= count:
            return
        try:
            with Image.open(os.path.join(folder, name)) as image:
                picture = np.asarray(image.convert("RGB"))
        except OSError:
            continue
        if min(picture.shape[:2]) >= 64:
            photos += 1
            yield f"skimage:{name}", picture
    for i in range(count - photos):
        yield f"faces:{i}", render_face(factors_for(i, seed=30), 256)


@register_benchmark("watermark")
def bench_watermark(quick: bool = False, count: int | None = None, negatives: int | None = None) -> dict:
    """`count` exports per model and `negatives` unmarked pictures (default 200 and 1,000; quick: 12, 60)."""
    import torch

    from gan_explorer.core.io.identity import model_identity
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.models import build_model
    from gan_explorer.core.trust import watermark
    from gan_explorer.resources import demo_model

    count, negatives = count or (12 if quick else 200), negatives or (60 if quick else 1000)
    rng = np.random.default_rng(0)
    demo = open_model(demo_model()).eval()
    torch.manual_seed(0)
    big = build_model("stylegan", img_resolution=256).eval()  # what `gan-explorer new ... --resolution 256` builds
    results = {"threshold": watermark.SYNC_THRESHOLD, "models": {}}
    with torch.no_grad():
        for name, model, path in (("demo 64 px (exported at 256 px)", demo, demo_model()),
                                  ("stylegan 256 px (random weights)", big, None)):
            identity = model_identity(model, path)
            results["models"][name] = _measure(model, count, identity, rng)
    false, scores, kinds = 0, [], set()
    for label, picture in _unmarked(negatives):
        detection = watermark.detect(picture)
        false += detection.found
        scores.append(detection.sync_score)
        kinds.add(label.split(":")[0])
    results["false_positives"] = {"pictures": negatives, "found": false, "max_sync_score": float(max(scores)),
                                  "sources": sorted(kinds)}
    _print(results)
    return results


def _print(results):
    models = list(results["models"])
    counts = ", ".join(f"{m}: {results['models'][m]['exports']} exports" for m in models)
    print(f"invisible watermark: detection rate / coded-bit accuracy per attack ({counts})")
    print(f"{'attack':24s}" + "".join(f"{m[:30]:>34s}" for m in models))
    for attack in ATTACKS:
        cells = [results["models"][m]["attacks"][attack] for m in models]
        print(f"{attack:24s}" + "".join(f"{c['detection_rate'] * 100:>24.1f}% / {c['bit_accuracy']:.3f}"
                                        for c in cells))
    for m in models:
        r = results["models"][m]
        print(f"PSNR cost, {m}: mean {r['psnr_db_mean']:.1f} dB, min {r['psnr_db_min']:.1f} dB "
              f"({r['export_side_px']} px exports)")
    fp = results["false_positives"]
    print(f"false positives: {fp['found']} of {fp['pictures']} unmarked pictures ({', '.join(fp['sources'])}); "
          f"highest shift score {fp['max_sync_score']:.1f} (threshold {results['threshold']})")
