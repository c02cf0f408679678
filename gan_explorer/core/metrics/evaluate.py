"""Evaluate a model (or every snapshot of a run) against a dataset: the metrics by name.

  fd    Frechet distance                      kid   kernel distance (mean, std over subsets)
  pr    precision / recall + density / coverage (k-NN, k = 3)
  ppl   perceptual path length in W and in Z  nn    memorisation (nearest training image)

Results on the project's own features are labelled "FD/KID (gan_explorer features)", never FID.
A run directory gets one `metric` event per evaluated snapshot in events.jsonl and one line in
metrics.jsonl:

  {"Progress/kimg": 12.0, "snapshot": "network-snapshot-000012.safetensors", "features": "gan_explorer",
   "label": "FD/KID (gan_explorer features)", "num": 2000, "data": "faces:64", "timestamp": ...,
   "Metrics/fd": 31.2, "Metrics/kid_mean": 0.021, "Metrics/kid_std": 0.002, "Metrics/precision": ...,
   "Metrics/recall": ..., "Metrics/density": ..., "Metrics/coverage": ..., "Metrics/ppl_w": ...,
   "Metrics/ppl_z": ..., "Metrics/nn_ratio": ..., "Timing/metrics_sec": 14.2}

(only the keys of the metrics asked for), so a monitor plots `Metrics/*` against `Progress/kimg`
as it plots stats.jsonl.
"""

from __future__ import annotations

import math
import numbers
import time
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.metrics.report import mean_and_spread
from gan_explorer.core.progress import Steps, sub_progress

METRIC_NAMES = ("fd", "kid", "pr", "ppl", "nn")
MAX_SAMPLES = 50_000  # generated or real images: the published FID protocol's 50k
MAX_PPL_PATHS = 100_000  # StyleGAN's PPL protocol
MAX_PSI = 100.0
METRICS_FILE = "metrics.jsonl"


def parse_metrics(spec) -> tuple[str, ...]:
    """'fd,kid' (or a sequence) -> ('fd', 'kid'); 'all' -> every metric; unknown names are one error line."""
    items = spec.split(",") if isinstance(spec, str) else list(spec or ())
    names = []
    for item in (s.strip().lower() for s in items):
        if not item:
            continue
        if item == "all":
            names.extend(METRIC_NAMES)
            continue
        if item not in METRIC_NAMES:
            raise ConfigError(f"metric {item!r}: must be one of {', '.join(METRIC_NAMES)} (or all)")
        names.append(item)
    if not names:
        raise ConfigError(f"no metric named in {spec!r}: use some of {', '.join(METRIC_NAMES)}")
    return tuple(dict.fromkeys(names))


@torch.no_grad()
def generate_images(model, num: int, seed: int = 0, truncation_psi: float = 1.0, batch_size: int = 64,
                    progress=None, should_stop=None) -> np.ndarray:
    """NHWC uint8 samples for seeds seed..seed+num-1 (NVIDIA's seeds), const noise."""
    if getattr(model.capabilities, "is_translation", False):
        raise GanExplorerError(f"the {model.family} family translates images; it has no samples to evaluate")
    steps = Steps(math.ceil(num / batch_size), progress, should_stop)
    out = []
    for start in range(seed, seed + num, batch_size):
        seeds = range(start, min(start + batch_size, seed + num))
        ws = model.map(model.z_from_seeds(seeds), truncation_psi)
        out.append(to_uint8(model.synthesize(ws, noise_mode="const")))
        steps.step()
    return np.concatenate(out)


def _open_data(data, model):
    if isinstance(data, (str, Path)):
        from gan_explorer.core.data import open_dataset
        from gan_explorer.core.metrics.realdata import AreaDownsampled
        from gan_explorer.core.training.options import resolution_from_spec

        native = resolution_from_spec(str(data))
        if native and native > model.img_resolution:
            # A progressive (PGGAN) snapshot taken below the data's resolution: compare it with
            # the data as its training served it, area-downsampled (the result names the size).
            return AreaDownsampled(open_dataset(str(data), native, model.img_channels), model.img_resolution)
        return open_dataset(str(data), model.img_resolution, model.img_channels)
    return data


def evaluate_model(model, data, metrics=("fd", "kid"), num: int = 5000, features="gan_explorer",
                   num_real: int | None = None, seed: int = 0, truncation_psi: float = 1.0, batch_size: int = 64,
                   kid_subsets: int = 100, kid_subset_size: int = 1000, k: int = 3, ppl_num: int | None = None,
                   grid_path=None, use_cache: bool = True, progress=None, should_stop=None) -> dict:
    """Every asked metric of `model` against `data` (a spec such as 'faces:64' or a dataset).

    features: a spec for load_features or a FeatureExtractor. progress(done, total) and
    should_stop() (Cancelled) as everywhere in core. grid_path: where `nn` draws its closest pairs."""
    from gan_explorer.core.metrics import scores
    from gan_explorer.core.metrics.features import FeatureExtractor, load_features
    from gan_explorer.core.metrics.memorisation import closest_pairs_grid, memorisation_report
    from gan_explorer.core.metrics.ppl import perceptual_path_length
    from gan_explorer.core.metrics.realdata import dataset_images, real_features, to_tensor

    metrics = parse_metrics(metrics)
    check_evaluation(num, num_real, ppl_num, truncation_psi, seed, data)
    if getattr(model.capabilities, "is_translation", False):
        raise GanExplorerError(f"the {model.family} family translates images; it has no samples to evaluate")
    t_start = time.time()
    extractor = features if isinstance(features, FeatureExtractor) else load_features(features, model._device())
    dataset = _open_data(data, model)
    n_real = min(int(num_real or num), len(dataset))
    needs_features = any(m in metrics for m in ("fd", "kid", "pr", "nn"))
    ppl_n = int(ppl_num or min(num, 1000))
    work = [("real", n_real if needs_features else 0), ("fake", num if needs_features else 0),
            ("ppl", 2 * ppl_n if "ppl" in metrics else 0)]
    total = max(1, sum(w for _, w in work))
    offsets = dict(zip((n for n, _ in work), np.cumsum([0] + [w for _, w in work])[:-1].tolist()))

    def stage(name, units):
        sub = sub_progress(progress, offsets[name], total)
        return None if sub is None else (lambda d, t: sub(round(d / max(t, 1) * units), t))

    result = {"label": extractor.label, "features": extractor.name, "data": str(getattr(dataset, "name", data)),
              "resolution": int(model.img_resolution),
              "num": int(num), "num_real": n_real, "truncation_psi": truncation_psi, "metrics": list(metrics)}
    timing = {}
    if needs_features:
        t0 = time.time()
        real, info = real_features(dataset, extractor, n_real, use_cache=use_cache, progress=stage("real", n_real),
                                   should_stop=should_stop)
        result["real_cache"] = info["cache"]
        timing["real_sec"] = time.time() - t0
        t0 = time.time()
        fake_images = generate_images(model, num, seed, truncation_psi, batch_size, stage("fake", num), should_stop)
        timing["generate_sec"] = time.time() - t0
        t0 = time.time()
        fake = extractor.extract(to_tensor(fake_images)).numpy()
        timing["features_sec"] = time.time() - t0
        if "fd" in metrics:
            result["fd"] = scores.fd_from_features(real, fake)
        if "kid" in metrics:
            result["kid"] = scores.kid(real, fake, kid_subsets, kid_subset_size, seed)
        if "pr" in metrics:
            result["pr"] = scores.precision_recall_density_coverage(real, fake, k)
        if "nn" in metrics:
            report = memorisation_report(fake, real)
            if grid_path is not None:
                from gan_explorer.core.io.images import save_image

                pairs = report["closest_pairs"]
                reals = {p["training_image"]: dataset_images(dataset, [p["training_image"]])[0] for p in pairs}
                real_tiles = np.zeros((max(reals) + 1,) + fake_images.shape[1:], np.uint8)
                for index, image in reals.items():
                    real_tiles[index] = image
                save_image(grid_path, closest_pairs_grid(fake_images, real_tiles, pairs))
                report["grid"] = str(grid_path)
            result["nn"] = report
    if "ppl" in metrics:
        t0 = time.time()
        for i, space in enumerate(("w", "z")):
            sub = stage("ppl", 2 * ppl_n)
            part = None if sub is None else (lambda d, t, i=i: sub(i * t + d, 2 * t))
            result[f"ppl_{space}"] = perceptual_path_length(model, extractor, space, ppl_n, seed=seed,
                                                            progress=part, should_stop=should_stop)
        timing["ppl_sec"] = time.time() - t0
    timing["total_sec"] = time.time() - t_start
    result["seconds"] = {k: round(v, 2) for k, v in timing.items()}
    if progress is not None:
        progress(total, total)
    return result


def check_evaluation(num, num_real=None, ppl_num=None, truncation_psi=1.0, seed=0, data=None) -> None:
    """Every count and number of an evaluation, before any work: one ConfigError line for a count
    out of range (negative, 10**12), a NaN truncation or an unusable data spec."""
    from gan_explorer.core.limits import check_count, check_finite, check_optional_count, check_seeds
    from gan_explorer.core.training.options import check_data_spec

    if isinstance(num, numbers.Integral) and not isinstance(num, bool) and num < 2:
        raise ConfigError(f"--num {num}: need at least 2 samples")
    num = check_count("--num", num, 2, MAX_SAMPLES)
    check_optional_count("--num-real", num_real, 2, MAX_SAMPLES)
    ppl = check_optional_count("--ppl-num", ppl_num, 2, MAX_PPL_PATHS) or min(num, 1000)
    check_finite("--truncation-psi", truncation_psi, -MAX_PSI, MAX_PSI)
    check_seeds("--seed", seed, max(num, 2 * ppl))
    if isinstance(data, (str, Path)):
        check_data_spec(str(data))


def flat_metrics(result: dict) -> dict:
    """The numbers of a result under hierarchical keys (Metrics/fd, Metrics/kid_mean, ...)."""
    flat = {}
    if "fd" in result:
        flat["Metrics/fd"] = result["fd"]
    if "kid" in result:
        flat["Metrics/kid_mean"], flat["Metrics/kid_std"] = result["kid"]["mean"], result["kid"]["std"]
    if "pr" in result:
        for key in ("precision", "recall", "density", "coverage"):
            flat[f"Metrics/{key}"] = result["pr"][key]
    for space in ("w", "z"):
        if f"ppl_{space}" in result:
            flat[f"Metrics/ppl_{space}"] = result[f"ppl_{space}"]["mean"]
    if "nn" in result:
        flat["Metrics/nn_ratio"] = result["nn"]["ratio_to_reference"]
        flat["Metrics/nn_close_fraction"] = result["nn"]["close_fraction"]
    return flat


def summary_lines(result: dict) -> list[str]:
    """Human-readable lines, every FD/KID named with its feature network."""
    label = result["label"]
    fd_name, kid_name = (("FID", "KID") if result["features"] == "inception" else
                         (f"FD ({label.split('(', 1)[1]}", f"KID ({label.split('(', 1)[1]}"))
    lines = []
    if "fd" in result:
        lines.append(f"{fd_name}: {result['fd']:.4f}")
    if "kid" in result:
        # Its own digits: '0.0123 ± 0.0008', and no ± where the spread rounds to zero (was '+- 0.00000').
        lines.append(f"{kid_name}: {mean_and_spread(result['kid']['mean'], result['kid']['std'])} "
                     f"({result['kid']['subsets']} subsets of {result['kid']['subset_size']})")
    if "pr" in result:
        pr = result["pr"]
        lines.append(f"precision {pr['precision']:.3f}, recall {pr['recall']:.3f}, density {pr['density']:.3f}, "
                     f"coverage {pr['coverage']:.3f} (k = {pr['k']})")
    for space in ("w", "z"):
        if f"ppl_{space}" in result:
            p = result[f"ppl_{space}"]
            lines.append(f"PPL in {space.upper()} ({p['sampling']}, {p['num']} paths, {result['features']} features): "
                         f"{p['mean']:.2f}")
    if "nn" in result:
        nn = result["nn"]
        lines.append(f"memorisation: median distance to the nearest training image {nn['median_distance']:.4g} "
                     f"(training images to each other: {nn['reference_median_distance']:.4g}, ratio "
                     f"{nn['ratio_to_reference']:.2f}); {100 * nn['close_fraction']:.1f}% of samples closer than "
                     f"the closest 1% of training pairs" + (f"; pairs: {nn['grid']}" if "grid" in nn else ""))
    return lines


# Run directories ------------------------------------------------------------------------------

def record_metrics(run, result: dict, kimg: float, snapshot: str | None) -> dict:
    """Append one metrics.jsonl line and one `metric` event to a RunDirectory; returns the line."""
    line = {"Progress/kimg": kimg, "snapshot": snapshot, "features": result["features"], "label": result["label"],
            "num": result["num"], "data": result["data"], "metrics": result["metrics"], "timestamp": time.time(),
            **flat_metrics(result), "Timing/metrics_sec": result["seconds"]["total_sec"]}
    run._append(run.path / METRICS_FILE, line)
    run.event("metric", kimg=kimg, snapshot=snapshot, features=result["features"], label=result["label"],
              num=result["num"], values=flat_metrics(result))
    return line


def evaluate_snapshot_in_training(run, model, kimg: float, snapshot: str | None, metrics, num: int, data,
                                  dataset=None) -> dict | None:
    """The training loop's hook: evaluate the snapshot just written. A failure (no feature network in
    this build, a translation model, ...) becomes a `metric` event with `failed`, never the end of the run."""
    if not run.writer:
        return None
    was_training = model.training
    try:
        result = evaluate_model(model.eval(), dataset if dataset is not None else data, metrics, num)
        return record_metrics(run, result, kimg, snapshot)
    except Exception as exc:  # metrics are an observer: whatever fails here must not end the run
        reason = str(exc) if isinstance(exc, GanExplorerError) else f"{type(exc).__name__}: {exc}"
        run.event("metric", kimg=kimg, snapshot=snapshot, failed=reason[:2000])
        return None
    finally:
        model.train(was_training)


def evaluated_snapshots(run_dir, features: str, metrics, num: int) -> set[str]:
    from gan_explorer.core.training.run_dir import read_jsonl

    done = set()
    for line in read_jsonl(Path(run_dir) / METRICS_FILE):
        if (line.get("features") == features and line.get("num") == num
                and set(metrics) <= set(line.get("metrics") or ())):
            done.add(line.get("snapshot"))
    return done


def evaluate_run_dir(run_dir, metrics=("fd", "kid"), num: int = 5000, features="gan_explorer", data=None,
                     device="cpu", redo: bool = False, progress=None, should_stop=None, log=None, **kwargs) -> list[dict]:
    """Evaluate every snapshot of a run not yet in its metrics.jsonl; returns the new lines."""
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.metrics.features import load_features
    from gan_explorer.core.training.run_dir import RunDirectory, kimg_of, load_run_options

    check_evaluation(num, kwargs.get("num_real"), kwargs.get("ppl_num"), kwargs.get("truncation_psi", 1.0),
                     kwargs.get("seed", 0), data)
    run = RunDirectory(run_dir, writer=True)
    if not run.path.is_dir():
        raise ConfigError(f"--run-dir {run.path}: no such run directory")
    options = load_run_options(run.path)
    data = data or (options.data if options is not None else None)
    if not data:
        raise ConfigError(f"{run.path}: no options.json to say what data the run trained on; give --data")
    metrics = parse_metrics(metrics)
    extractor = load_features(features, device)
    done = set() if redo else evaluated_snapshots(run.path, extractor.name, metrics, num)
    todo = [s for s in run.snapshots() if s.name not in done]
    say = log or (lambda _m: None)
    say(f"{len(todo)} snapshot(s) to evaluate in {run.path} ({len(run.snapshots()) - len(todo)} already done)")
    lines = []
    for i, snapshot in enumerate(todo):
        model = open_model(snapshot, device=device)
        sub = sub_progress(progress, i * 1000, len(todo) * 1000)
        part = None if sub is None else (lambda d, t: sub(round(1000 * d / max(t, 1)), t))
        result = evaluate_model(model, data, metrics, num, extractor, progress=part, should_stop=should_stop,
                                **kwargs)
        lines.append(record_metrics(run, result, kimg_of(snapshot), snapshot.name))
        say(f"{snapshot.name}: " + "; ".join(summary_lines(result)))
    return lines
