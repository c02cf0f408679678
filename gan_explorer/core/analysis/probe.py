"""Factor probe: which directions of W (or Z) carry which factors of the procedural faces.

InterFaceGAN (Shen et al. 2020), with the project's factor regressor as the labeller:

1. ``label_samples``: sample latents, render them, and let the regressor predict every factor.
2. ``fit_factor_directions``: one linear direction per factor: L2 logistic regression on the
   regressor's 0/1 decision for binary factors (glasses), ridge regression for continuous ones;
   the unit normal of the fit is the direction, its held-out accuracy / R^2 says how linear the
   factor is in that space. ``conditional`` projects out other factors' directions (InterFaceGAN's
   conditional manipulation: moving along it leaves those factors' linear predictions unchanged).
3. ``measure_effects``: render seeds moved along any directions (-2..+2 sigma) and ask the
   regressor what changed: for a factor direction its own factor should move monotonically and
   the others far less; for PCA / SeFa directions, which factor each moves most.
4. ``cosine_table``: the cosine between every discovered direction and every factor direction.

``probe_model`` runs all of it and returns a JSON-ready report (``gan-explorer probe``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from gan_explorer.core.analysis.linear import (
    fit_logistic, fit_ridge, r2_score, train_test_split,
)
from gan_explorer.core.progress import Steps
from gan_explorer.core.analysis.regressor import factor_kinds, load_regressor, predict
from gan_explorer.core.errors import ConfigError, GanExplorerError

WHAT_AM_I_LOOKING_AT = (
    "A small network trained on the procedural faces looks at images the model draws and guesses "
    "their factors (skin tone, smile, glasses...). Fitting a plane through the latents that "
    "separates 'glasses' from 'no glasses' (or a line that predicts the smile) gives one direction "
    "per factor: the slider that changes that factor. The held-out score says how well one straight "
    "direction explains the factor (accuracy for yes/no factors, R\u00b2 for the others; 1 is "
    "perfect). 'Conditional' removes other chosen factors from the direction, so turning on a "
    "smile does not also lighten the skin. The table compares these named directions with the ones "
    "found without labels (PCA, SeFa): a cosine near \u00b11 means they are the same direction, and "
    "'moves most' is the factor that changes most when the image is pushed along it."
)

DEFAULT_STRENGTHS = (-2.0, -1.0, 0.0, 1.0, 2.0)


@dataclass
class LabelledSamples:
    space: str                      # 'w' or 'z'
    latents: np.ndarray             # [N, D]
    labels: dict                    # factor -> [N] predicted values
    seeds: np.ndarray               # [N]
    truncation_psi: float = 1.0


@dataclass
class FactorDirection:
    name: str
    kind: str                       # 'binary' or 'continuous'
    space: str                      # 'w' or 'z'
    direction: np.ndarray           # [D] unit vector; + increases the factor
    sigma: float                    # std of the sampled latents along it (slider unit)
    score: float                    # held-out accuracy (binary) or R^2 (continuous)
    metric: str                     # 'accuracy' or 'r2'
    conditioned_on: tuple = ()      # factors projected out
    num_train: int = 0
    num_test: int = 0
    positive_fraction: float | None = None  # binary: share of samples with the factor

    def to_dict(self, with_vector: bool = False) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "direction"}
        d["conditioned_on"] = list(self.conditioned_on)
        if with_vector:
            d["direction"] = np.round(self.direction.astype(np.float64), 7).tolist()
        return d


def _space_of(model, space: str) -> str:
    if space not in ("w", "z"):
        raise ConfigError(f"--space {space}: use w or z")
    if space == "w" and not model.capabilities.has_mapping:
        return "z"  # without a mapping network, w is z
    return space


def _ws_from_latents(model, latents: torch.Tensor, space: str, truncation_psi: float) -> torch.Tensor:
    if space == "z":
        return model.map(latents, truncation_psi)
    return latents.unsqueeze(1).repeat(1, model.num_ws, 1)


@torch.no_grad()
def label_samples(model, num: int = 2000, space: str = "w", seed: int = 0, truncation_psi: float = 1.0,
                  regressor=None, batch_size: int = 50, progress=None, should_stop=None) -> LabelledSamples:
    """Render seeds seed..seed+num-1 and label each image with the regressor's factor predictions."""
    if model.capabilities.is_translation:
        raise GanExplorerError(f"the {model.family} family translates images; it has no latent space to probe")
    space = _space_of(model, space)
    regressor = regressor or load_regressor(model._device())
    seeds = np.arange(seed, seed + num, dtype=np.int64)
    batches = math.ceil(num / batch_size)
    steps = Steps(batches, progress, should_stop)
    latents, labels = [], []
    for b in range(batches):
        z = model.z_from_seeds(seeds[b * batch_size:(b + 1) * batch_size].tolist())
        ws = model.map(z, truncation_psi)
        latents.append((z if space == "z" else ws[:, 0]).float().cpu().numpy())
        labels.append(predict(regressor, model.synthesize(ws).clamp(-1, 1)))
        steps.step()
    return LabelledSamples(space, np.concatenate(latents),
                           {k: np.concatenate([p[k] for p in labels]) for k in labels[0]}, seeds, truncation_psi)


def project_out(direction: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """`direction` minus its component in the span of `others`, normalised (conditional direction)."""
    if not others:
        return direction / max(np.linalg.norm(direction), 1e-12)
    basis = np.stack(others, axis=1)                      # [D, m]
    coef, *_ = np.linalg.lstsq(basis, direction, rcond=None)
    rest = direction - basis @ coef
    norm = np.linalg.norm(rest)
    if norm < 1e-6 * max(np.linalg.norm(direction), 1e-12):
        raise GanExplorerError("the conditional direction vanishes: the factor's direction lies in the span "
                               "of the factors projected out")
    return rest / norm


def meaningful(fd: FactorDirection, min_r2: float = 0.3, margin: float = 0.05) -> bool:
    """Whether a factor has a direction worth projecting out: held-out R^2 >= min_r2, or an
    accuracy at least `margin` above always answering the majority class."""
    if fd.metric == "accuracy":
        majority = max(fd.positive_fraction or 0.0, 1 - (fd.positive_fraction or 0.0))
        return fd.score >= majority + margin
    return fd.score >= min_r2


def fit_factor_directions(latents, labels: dict, kinds: dict | None = None, names=None, test_fraction: float = 0.25,
                          conditional: dict | str | None = None, seed: int = 0, ridge_alpha: float = 1.0,
                          logistic_c: float = 1.0, threshold: float = 0.5, subspace: int | None = 32,
                          space: str = "w", skipped: dict | None = None) -> dict[str, FactorDirection]:
    """One direction per factor from latents [N, D] and labels {factor: [N]}.

    kinds: {factor: 'binary' | 'continuous'} (binary labels are thresholded at `threshold`).
    subspace: fit within the top principal components of the latents (None: all dimensions).
      Directions of little variance lead out of the region the generator was trained on, where a
      direction that predicts a factor need not change it: on the demo StyleGAN (w_dim 128) the
      skin-tone direction fitted in all dimensions moved skin tone by 1.3 data standard deviations
      over -2..+2 sigma, fitted in the top 32 components by 2.9 (64 seeds, the shipped regressor).
    conditional: {factor: [other factors]} to project out (their unconditional directions), or
      'all': every factor conditioned on every other factor that has a meaningful direction.
    skipped: a dict to collect {factor: reason} for factors that cannot be fitted (a binary factor
      the model never, or always, shows) instead of raising."""
    latents = np.asarray(latents, dtype=np.float64)
    kinds = kinds or {}
    names = list(names or labels)
    unknown = [n for n in names if n not in labels]
    if unknown:
        raise ConfigError(f"factor(s) {', '.join(unknown)}: known are {', '.join(labels)}")
    train, test = train_test_split(len(latents), test_fraction, seed)
    centred = latents - latents.mean(axis=0)
    if subspace is not None and subspace < latents.shape[1]:
        basis = np.linalg.svd(centred, full_matrices=False)[2][:subspace]     # [k, D] principal axes
    else:
        basis = np.eye(latents.shape[1])
    coords = centred @ basis.T
    x_train, x_test = coords[train], coords[test]
    result: dict[str, FactorDirection] = {}
    for name in names:
        y = np.asarray(labels[name], dtype=np.float64)
        if kinds.get(name, "continuous") == "binary":
            cls = (y >= threshold).astype(np.float64)
            if cls[train].min() == cls[train].max():
                reason = (f"every one of the {len(train)} training samples is {'on' if cls[train][0] else 'off'} "
                          "(the model does not draw both kinds, or more samples are needed)")
                if skipped is None:
                    raise GanExplorerError(f"factor {name}: {reason}")
                skipped[name] = reason
                continue
            w, b = fit_logistic(x_train, cls[train], c=logistic_c)
            score = float(((x_test @ w + b >= 0) == (cls[test] > 0.5)).mean())
            metric, positive = "accuracy", float(cls.mean())
        else:
            w, b = fit_ridge(x_train, y[train], ridge_alpha)
            score = float(r2_score(y[test], x_test @ w + b))
            metric, positive = "r2", None
        direction = basis.T @ w
        direction = direction / max(np.linalg.norm(direction), 1e-12)
        result[name] = FactorDirection(name, kinds.get(name, "continuous"), space, direction, 0.0, score, metric,
                                       (), len(train), len(test), positive)
    if conditional == "all":
        conditional = {n: [o for o in result if o != n and meaningful(result[o])] for n in result}
    elif isinstance(conditional, str):
        raise ConfigError(f"conditional {conditional!r}: give {{factor: [others]}} or 'all'")
    unconditional = dict(result)
    for name, others in (conditional or {}).items():
        missing = [o for o in [name, *others] if o not in unconditional]
        if missing:
            raise ConfigError(f"conditional {name}: factor(s) {', '.join(missing)} were not fitted")
        base = unconditional[name]
        direction = project_out(base.direction, [unconditional[o].direction for o in others])
        result[name] = FactorDirection(**{**asdict(base), "direction": direction, "conditioned_on": tuple(others)})
    for fd in result.values():
        fd.direction = fd.direction.astype(np.float32)
        fd.sigma = float((centred @ fd.direction).std())
    return result


def cosine_table(discovered: np.ndarray, factor_directions: dict[str, FactorDirection]) -> np.ndarray:
    """[k, F] signed cosines between k discovered unit directions and each factor direction."""
    d = np.asarray(discovered, dtype=np.float64)
    d = d / np.linalg.norm(d, axis=1, keepdims=True).clip(1e-12)
    f = np.stack([fd.direction for fd in factor_directions.values()]).astype(np.float64)
    return d @ f.T


def circular_factors() -> tuple:
    """Factors that are angles in [0, 1) (the background hue): 0.99 and 0.01 are neighbours."""
    try:
        from gan_explorer.core.metrics.factors import CIRCULAR_FACTORS

        return tuple(CIRCULAR_FACTORS)
    except ImportError:
        return ("background_hue",)


def data_std(name: str) -> float | None:
    """A procedural-face factor's standard deviation in the dataset (uniform over its range;
    glasses: 1 in 4), or None for a factor the faces do not define."""
    from gan_explorer.core.data.faces import FACTOR_RANGES

    if name == "glasses":
        return float(np.sqrt(0.25 * 0.75))
    if name in FACTOR_RANGES:
        lo, hi = FACTOR_RANGES[name]
        return float((hi - lo) / np.sqrt(12))
    return None


@dataclass
class Effects:
    """What the regressor sees when seeds move along directions."""

    strengths: list                 # in units of each direction's sigma
    factor_names: list
    mean: np.ndarray                # [m, S, F] mean predicted factor over the seeds
    per_seed: np.ndarray            # [m, S, F, n] every prediction
    factor_scale: np.ndarray        # [F] each factor's standard deviation in the data (the unit of change)
    circular: tuple = ()            # factors that are angles in [0, 1) (hue): means and changes around the circle

    @classmethod
    def from_predictions(cls, strengths, names, per_seed: np.ndarray) -> "Effects":
        """From every prediction [m, S, F, n]: means over the seeds (circular for hues)."""
        strengths = [float(s) for s in strengths]
        zero = strengths.index(0.0) if 0.0 in strengths else len(strengths) // 2
        spread = per_seed[0, zero].std(axis=-1)
        scale = np.array([data_std(n) or spread[k] for k, n in enumerate(names)])
        circular = tuple(n for n in names if n in circular_factors())
        mean = per_seed.mean(axis=-1)
        for k, name in enumerate(names):
            if name in circular:  # the mean of angles: the direction of the mean unit vector
                angle = 2 * np.pi * per_seed[:, :, k, :]
                mean[:, :, k] = np.arctan2(np.sin(angle).mean(-1), np.cos(angle).mean(-1)) / (2 * np.pi) % 1.0
        return cls(strengths, list(names), mean, per_seed, scale, circular)

    def _per_seed_steps(self) -> np.ndarray:
        """Each seed's prediction differences between consecutive strengths [m, S-1, F, n]; around the
        circle for hues (a seed's hue going 0.98 -> 0.02 moved by +0.04)."""
        steps = np.diff(self.per_seed, axis=1)
        for k, name in enumerate(self.factor_names):
            if name in self.circular:
                steps[:, :, k] = (steps[:, :, k] + 0.5) % 1.0 - 0.5
        return steps

    def steps_of_mean(self, direction: int, factor: int) -> np.ndarray:
        """How the seeds' mean prediction moves between consecutive strengths (per-seed steps averaged)."""
        return self._per_seed_steps()[direction, :, factor].mean(axis=-1)

    def change(self) -> np.ndarray:
        """[m, F] how far each factor moves from the first strength to the last, in data standard
        deviations: the seeds' mean of their own changes (for hues, each taken around the circle)."""
        return self._per_seed_steps().sum(axis=1).mean(axis=-1) / self.factor_scale.clip(1e-6)

    def monotonic_fraction(self, direction: int, factor: int) -> float:
        """Share of seeds whose prediction of `factor` rises (or falls) at every step along `direction`."""
        steps = self._per_seed_steps()[direction, :, factor, :]
        overall = np.sign(self.change()[direction, factor]) or 1.0
        return float((np.all(steps * overall > 0, axis=0)).mean())


@torch.no_grad()
def measure_effects(model, directions, sigmas, space: str = "w", seeds=range(64),
                    strengths=DEFAULT_STRENGTHS, truncation_psi: float = 1.0, regressor=None,
                    batch_size: int = 64, return_images: bool = False, progress=None, should_stop=None):
    """Move each seed along each direction by strength * sigma and predict every factor.

    directions [m, D] (unit), sigmas [m]; returns Effects (and images [m, S, n, H, W, C] uint8 when
    return_images)."""
    from gan_explorer.core.io.images import to_uint8

    space = _space_of(model, space)
    regressor = regressor or load_regressor(model._device())
    directions = torch.as_tensor(np.asarray(directions, dtype=np.float32)).to(model._device())
    sigmas = np.asarray(sigmas, dtype=np.float32).reshape(-1)
    seeds = list(seeds)
    z = model.z_from_seeds(seeds)
    base = z if space == "z" else model.map(z, truncation_psi)[:, 0]
    steps = Steps(len(directions) * len(strengths), progress, should_stop)
    per_seed, images = [], []
    names = None
    for m, direction in enumerate(directions):
        rows, row_images = [], []
        for s in strengths:
            moved = base + float(s) * float(sigmas[m]) * direction
            preds, imgs = [], []
            for i in range(0, len(seeds), batch_size):
                out = model.synthesize(_ws_from_latents(model, moved[i:i + batch_size], space, truncation_psi))
                preds.append(predict(regressor, out.clamp(-1, 1)))
                if return_images:
                    imgs.append(to_uint8(out))
            names = names or list(preds[0])
            rows.append(np.stack([np.concatenate([p[k] for p in preds]) for k in names]))   # [F, n]
            if return_images:
                row_images.append(np.concatenate(imgs))
            steps.step()
        per_seed.append(np.stack(rows))                                                    # [S, F, n]
        if return_images:
            images.append(np.stack(row_images))
    effects = Effects.from_predictions(strengths, names, np.stack(per_seed))               # [m, S, F, n]
    return (effects, np.stack(images)) if return_images else effects


@dataclass
class ProbeReport:
    factor_directions: dict                       # name -> FactorDirection
    effects: Effects | None = None                # of the factor directions
    discovered: dict = field(default_factory=dict)  # method -> {"cosines": [k, F], "effects": Effects, "sigma": [k]}
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        names = list(self.factor_directions)
        out = {"info": self.info,
               "factors": {n: fd.to_dict() for n, fd in self.factor_directions.items()}}
        if self.effects is not None:
            change = self.effects.change()
            factors = self.effects.factor_names
            for i, n in enumerate(names):
                own = factors.index(n) if n in factors else None
                entry = out["factors"][n]
                entry["mean_prediction_by_strength"] = {f: np.round(self.effects.mean[i, :, k], 4).tolist()
                                                        for k, f in enumerate(factors)}
                entry["change_in_data_std"] = {f: round(float(change[i, k]), 3) for k, f in enumerate(factors)}
                if own is not None:
                    others = np.abs(np.delete(change[i], own))
                    entry["own_change"] = round(float(change[i, own]), 3)
                    entry["largest_other_change"] = round(float(others.max()), 3) if len(others) else 0.0
                    entry["largest_other_factor"] = ([f for f in factors if f != n][int(others.argmax())]
                                                     if len(others) else None)
                    entry["median_other_change"] = round(float(np.median(others)), 3) if len(others) else 0.0
                    entry["monotonic_mean"] = bool(np.all(self.effects.steps_of_mean(i, own) > 0))
                    entry["monotonic_seed_fraction"] = round(self.effects.monotonic_fraction(i, own), 3)
            out["strengths_sigma"] = self.effects.strengths
        for method, d in self.discovered.items():
            rows = []
            cos = d["cosines"]
            eff = d.get("effects")
            change = eff.change() if eff is not None else None
            for j in range(len(cos)):
                row = {"index": j, "sigma": round(float(d["sigma"][j]), 4),
                       "cosine": {n: round(float(cos[j, k]), 3) for k, n in enumerate(names)},
                       "closest_factor_direction": names[int(np.argmax(np.abs(cos[j])))]}
                if change is not None:
                    k = int(np.argmax(np.abs(change[j])))
                    row["moves_most"] = eff.factor_names[k]
                    row["moves_most_change"] = round(float(change[j, k]), 3)
                rows.append(row)
            out[f"{method}_directions"] = rows
        return out


MAX_PROBE_SAMPLES = 100_000     # labelled samples (each one rendered and labelled)
MAX_DISCOVERED = 512            # PCA / SeFa directions compared (w has at most this many in practice)
MAX_EFFECT_SEEDS = 10_000       # seeds moved along each direction, at every strength
MAX_SUBSPACE = 65536


def check_probe(num, num_discovered=10, effect_seeds=64, subspace=None, seed=0, truncation_psi=1.0) -> None:
    """Every count of a probe, before any work: one ConfigError line (negative, 10**12, NaN)."""
    from gan_explorer.core.limits import check_count, check_finite, check_optional_count, check_seeds

    num = check_count("--num", num, 10, MAX_PROBE_SAMPLES)
    check_count("--num-discovered", num_discovered, 1, MAX_DISCOVERED)
    effect_seeds = check_count("--effect-seeds", effect_seeds, 1, MAX_EFFECT_SEEDS)
    check_optional_count("--subspace", subspace, 1, MAX_SUBSPACE)
    check_seeds("--seed", seed, num + effect_seeds)  # the effect seeds follow the labelled ones
    check_finite("--truncation-psi", truncation_psi, -100, 100)


def probe_model(model, num: int = 2000, space: str = "w", seed: int = 0, truncation_psi: float = 1.0,
                factors=None, conditional: dict | str | None = "all", subspace: int | None = 32,
                discovered=("pca", "sefa"), num_discovered: int = 10,
                effect_seeds: int = 64, strengths=DEFAULT_STRENGTHS, regressor=None,
                progress=None, should_stop=None) -> ProbeReport:
    """Label `num` samples, fit factor directions, measure them and compare PCA / SeFa directions.

    conditional defaults to 'all': each factor's direction with every other meaningful factor's
    projected out, so a slider changes its factor alone (on the demo the smile direction moved
    face width 1.6 data sd unconditioned, 0.08 conditioned; None gives InterFaceGAN's plain ones)."""
    from gan_explorer.core.latent.directions import METHODS

    check_probe(num, num_discovered, effect_seeds, subspace, seed, truncation_psi)
    space = _space_of(model, space)
    regressor = regressor or load_regressor(model._device())
    kinds = factor_kinds(regressor)

    def stage(offset, size):
        def report(done, n):
            if progress is not None:
                progress(offset + int(size * done / max(n, 1)), 100)
        return report

    samples = label_samples(model, num, space, seed, truncation_psi, regressor,
                            progress=stage(0, 40), should_stop=should_stop)
    names = list(factors or samples.labels)
    skipped: dict = {}
    fitted = fit_factor_directions(samples.latents, samples.labels, kinds, names, conditional=conditional,
                                   subspace=subspace, seed=seed, space=space, skipped=skipped)
    if not fitted:
        raise GanExplorerError(f"no factor could be fitted: {skipped}")
    directions = np.stack([fd.direction for fd in fitted.values()])
    sigmas = np.array([fd.sigma for fd in fitted.values()])
    effect_seed_list = range(seed + num, seed + num + effect_seeds)   # seeds the fit never saw
    effects = measure_effects(model, directions, sigmas, space, effect_seed_list, strengths, truncation_psi,
                              regressor, progress=stage(40, 30), should_stop=should_stop)
    report = ProbeReport(fitted, effects, info={
        "family": model.family, "space": space, "num_samples": num, "seed": seed,
        "truncation_psi": truncation_psi, "effect_seeds": effect_seeds, "subspace": subspace,
        "conditional": conditional if isinstance(conditional, str) else {k: list(v) for k, v in (conditional or {}).items()},
        "labels": "factor regressor predictions on rendered images", "skipped": skipped,
        "positive_fraction": {n: fd.positive_fraction for n, fd in fitted.items() if fd.kind == "binary"}})
    for i, method in enumerate(discovered):
        if space == "z" and model.capabilities.has_mapping:
            break  # PCA / SeFa directions live in W for mapped families
        found, sigma = METHODS[method](model, k=num_discovered)
        eff = measure_effects(model, found, sigma, space, effect_seed_list, strengths, truncation_psi, regressor,
                              progress=stage(70 + 15 * i, 15), should_stop=should_stop)
        report.discovered[method] = {"cosines": cosine_table(found, fitted), "effects": eff, "sigma": sigma,
                                     "directions": found}
    if progress is not None:
        progress(100, 100)
    return report


@torch.no_grad()
def probe_figure(model, report: ProbeReport, factors=None, seeds=(0, 1), strengths=DEFAULT_STRENGTHS,
                 truncation_psi: float | None = None, cell: int | None = None) -> np.ndarray:
    """Rows = factors (one row per seed), columns = strengths in sigma; each row is a seed moved
    along that factor's direction. Labels on the left and the top; HWC uint8."""
    from PIL import Image, ImageDraw

    from gan_explorer.core.analysis.latent_map import label_font
    from gan_explorer.core.io.images import to_uint8

    fitted = report.factor_directions
    names = list(factors or fitted)
    missing = [n for n in names if n not in fitted]
    if missing:
        raise ConfigError(f"factor(s) {', '.join(missing)}: the report has {', '.join(fitted)}")
    space = report.info.get("space", "w")
    psi = report.info.get("truncation_psi", 1.0) if truncation_psi is None else truncation_psi
    cell = cell or max(model.img_resolution, 96)
    label_w, top = 150, 28
    font = label_font(14)
    rows = [(n, s) for n in names for s in seeds]
    canvas = Image.new("RGB", (label_w + cell * len(strengths), top + cell * len(rows)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for j, s in enumerate(strengths):
        draw.text((label_w + j * cell + cell // 2 - 24, 6), f"{s:+g} sigma", fill=(0, 0, 0), font=font)
    z = model.z_from_seeds(list(seeds))
    base = z if space == "z" else model.map(z, psi)[:, 0]
    for r, (name, seed) in enumerate(rows):
        fd = fitted[name]
        direction = torch.as_tensor(fd.direction).to(base.device)
        i = list(seeds).index(seed)
        moved = torch.stack([base[i] + float(s) * fd.sigma * direction for s in strengths])
        images = to_uint8(model.synthesize(_ws_from_latents(model, moved, space, psi)))
        for j, image in enumerate(images):
            tile = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).convert("RGB")
            canvas.paste(tile.resize((cell, cell), Image.NEAREST), (label_w + j * cell, top + r * cell))
        label = name.replace("_", " ") + (f"\nseed {seed}" if len(seeds) > 1 else "")
        draw.multiline_text((6, top + r * cell + cell // 2 - 16), label, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
