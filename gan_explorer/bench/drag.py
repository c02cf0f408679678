"""DragGAN's face-landmark experiment (Pan et al. 2023, sec. 4.2) on the built-in 64 px demo, and drag speed.

Pairs of generated faces (seeds A, B listed in the output): the shipped landmark regressor finds
the landmarks of both; A's landmarks are dragged toward B's (1 point: the nose tip; 5 points:
eye centres, nose tip, mouth corners; all 19). MD = mean distance, in pixels of the 64 px image,
from the landmarks found on the edited A to B's, for the drag, against two baselines in the same
run: no edit, and the same W+ optimisation without point tracking (the handles stay where they
started). KID (gan_explorer features) of the edited images against unedited samples says whether
the edits keep faces looking like the model's faces. Speed: seconds per drag step at 64 px (the
demo) and on a 256 px StyleGAN2 (`new --family stylegan --resolution 256`, random weights), each
beside one render of the same model (batch 1, no autograd) timed in the same rounds.

    gan-explorer bench drag [--quick]       (or python3 benchmarks/bench_drag.py)
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from gan_explorer.bench import register_benchmark

SUBSETS = {
    "1 point": ("nose_tip",),
    "5 points": ("eye_left_centre", "eye_right_centre", "nose_tip", "mouth_left", "mouth_right"),
}


def _subsets():
    from gan_explorer.core.data.faces import LANDMARK_NAMES

    named = {k: [LANDMARK_NAMES.index(n) for n in v] for k, v in SUBSETS.items()}
    named["all 19 points"] = list(range(len(LANDMARK_NAMES)))
    return named


def _step_times(model, steps: int) -> tuple[float, float]:
    """(median seconds per drag step, median seconds per render at batch 1) on `model`."""
    from gan_explorer.core.drag import DragConfig, Dragger

    res = int(model.config.img_resolution)
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([0]))
    dragger = Dragger(model, ws, [(res * 0.4, res * 0.5)], [(res * 0.2, res * 0.5)],
                      config=DragConfig(steps=steps + 2, stop_distance=0.0))
    step_times, render_times = [], []
    dragger.step()  # the first step sets up (templates, Adam state)
    for _ in range(steps):
        t0 = time.perf_counter()
        dragger.step()
        step_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with torch.no_grad():
            model.synthesize(ws)
        render_times.append(time.perf_counter() - t0)
    return statistics.median(step_times), statistics.median(render_times)


@register_benchmark("drag")
def bench_drag(quick: bool = False) -> dict:
    from gan_explorer.core.analysis.landmarks import load_landmark_net, predict_landmarks
    from gan_explorer.core.drag import DragConfig, run_drag
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.metrics.features import load_features
    from gan_explorer.core.metrics.scores import fd_from_features, kid
    from gan_explorer.core.models.registry import build_model
    from gan_explorer.resources import demo_model

    pairs = 2 if quick else 6
    budget = 20 if quick else 80
    model = open_model(demo_model())
    net, net_report = load_landmark_net()
    seeds = [(1000 + 2 * i, 1001 + 2 * i) for i in range(pairs)]
    with torch.no_grad():
        ws_all = model.map(model.z_from_seeds([s for pair in seeds for s in pair]))
        images = model.synthesize(ws_all)
    found = predict_landmarks(net, images)
    md = {name: {"no edit": [], "W+ without tracking": [], "drag": []} for name in _subsets()}
    seconds = {name: [] for name in _subsets()}
    steps_used = {name: [] for name in _subsets()}
    edited_images = []
    config = DragConfig(steps=budget)
    for i, (a, b) in enumerate(seeds):
        ws_a, marks_a, marks_b = ws_all[2 * i:2 * i + 1], found[2 * i], found[2 * i + 1]
        lo, hi = 0, model.config.img_resolution - 1
        for name, index in _subsets().items():
            handles, targets = np.clip(marks_a[index], lo, hi), np.clip(marks_b[index], lo, hi)
            md[name]["no edit"].append(float(np.linalg.norm(handles - targets, axis=1).mean()))
            for label, cfg in (("drag", config), ("W+ without tracking", DragConfig(steps=budget, tracking=False))):
                t0 = time.perf_counter()
                last = run_drag(model, ws_a, handles, targets, config=cfg)
                if label == "drag":
                    seconds[name].append(time.perf_counter() - t0)
                    steps_used[name].append(last.index)
                    edited_images.append(last.image)
                with torch.no_grad():
                    image = model.synthesize(last.ws)
                after = predict_landmarks(net, image)[0][index]
                md[name][label].append(float(np.linalg.norm(after - targets, axis=1).mean()))
    table = {}
    for name in md:
        row = {k: round(float(np.mean(v)), 2) for k, v in md[name].items()}
        row["drag cut vs no edit"] = round(1 - row["drag"] / max(row["no edit"], 1e-9), 3)
        row["seconds per edit"] = round(float(np.mean(seconds[name])), 2)
        row["steps per edit"] = round(float(np.mean(steps_used[name])), 1)
        table[name] = row
    # Realism: KID of the edited images against unedited samples of the same model.
    extractor = load_features("gan_explorer")
    with torch.no_grad():
        reference = model.synthesize(model.map(model.z_from_seeds(list(range(5000, 5000 + (100 if quick else 500))))))
        unedited_a = images[0::2]
    edited = torch.cat(edited_images)
    feats_ref, feats_edit, feats_unedit = (extractor.extract(x).numpy() for x in (reference, edited, unedited_a.repeat(3, 1, 1, 1)))
    realism = {"edited images": len(edited), "reference samples": len(reference),
               "FD edited vs samples": round(fd_from_features(feats_edit, feats_ref), 3),
               "FD unedited A (same count) vs samples": round(fd_from_features(feats_unedit, feats_ref), 3),
               "KID edited vs samples": round(kid(feats_edit, feats_ref)["mean"], 5),
               "KID unedited A (same count) vs samples": round(kid(feats_unedit, feats_ref)["mean"], 5)}
    speed64 = _step_times(model, 5 if quick else 15)
    big = build_model("stylegan", img_resolution=256).eval()
    speed256 = _step_times(big, 2 if quick else 5)
    out = {"pairs (A, B seeds)": seeds, "step budget": budget, "layers": config.layers,
           "learning_rate": config.learning_rate, "landmark net held-out error px": net_report.get(
               "held_out_mean_error_px"),
           "MD px": table, "realism": realism,
           "64 px": {"seconds per step": round(speed64[0], 4), "steps per second": round(1 / speed64[0], 1),
                     "render seconds (reference)": round(speed64[1], 4),
                     "step / render": round(speed64[0] / speed64[1], 2)},
           "256 px StyleGAN2": {"seconds per step": round(speed256[0], 3),
                                "render seconds (reference)": round(speed256[1], 3),
                                "step / render": round(speed256[0] / speed256[1], 2)},
           "threads": torch.get_num_threads()}
    _print(out)
    return out


def _print(out):
    print(f"drag on the demo (64 px), {len(out['pairs (A, B seeds)'])} pairs, budget {out['step budget']} steps, "
          f"first {out['layers']} W+ rows, landmark net error {out['landmark net held-out error px']} px")
    print(f"{'points':14s} {'no edit':>8s} {'no track':>9s} {'drag':>6s} {'cut':>6s} {'s/edit':>7s} {'steps':>6s}")
    for name, row in out["MD px"].items():
        print(f"{name:14s} {row['no edit']:8.2f} {row['W+ without tracking']:9.2f} {row['drag']:6.2f} "
              f"{row['drag cut vs no edit']:6.1%} {row['seconds per edit']:7.2f} {row['steps per edit']:6.1f}")
    print("realism:", out["realism"])
    print("64 px:", out["64 px"])
    print("256 px:", out["256 px StyleGAN2"])
