"""Disentanglement, measured: MIG, DCI and SAP from (factors, codes) pairs.

Given the true factors of N images ([N, K]: the procedural faces know them) and the codes a model
gives the same images ([N, D]: a VAE's encoder means), each score asks whether every factor is
carried by one code dimension alone:

- MIG (Chen et al. 2018): for each factor, the gap between the two largest mutual informations
  with a single code dimension, divided by the factor's entropy; averaged over factors. Codes and
  continuous factors are discretised into `bins` equal-width bins (as disentanglement_lib does).
- DCI (Eastwood & Williams 2018): an importance matrix R [D, K] from regressing every factor on
  all codes (here ridge regression on standardised codes, |coefficient| as importance: the
  paper's linear variant); disentanglement = 1 - entropy of each code's importances over
  factors (weighted by the code's share of all importance), completeness = the same per factor
  over codes, informativeness = the held-out R^2 of those regressions.
- SAP (Kumar et al. 2018): for each factor, the gap between the two best single-code linear
  predictors (R^2 = squared correlation, point-biserial for binary factors); averaged.

Each is 1 when codes are the factors up to permutation and scale and about 0 for codes that
carry no factor (tests/core/analysis/test_disentanglement.py checks both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from gan_explorer.core.analysis.linear import fit_ridge, r2_score, standardise, train_test_split
from gan_explorer.core.progress import Steps
from gan_explorer.core.errors import ConfigError, GanExplorerError

WHAT_AM_I_LOOKING_AT = (
    "Rows are the true factors that drew each face (skin tone, smile, glasses...), columns are the "
    "model's code dimensions, and each cell says how much that code tells about that factor "
    "(mutual information, divided by the factor's entropy). A disentangled code has one bright cell "
    "per row and per column: each factor lives in one dimension. MIG, DCI and SAP summarise the "
    "matrix in one number each (1 = perfectly disentangled, 0 = not at all); a beta-VAE with a "
    "larger beta usually scores higher and reconstructs worse, which is the trade-off to look for."
)


def discretise(x: np.ndarray, bins: int = 20) -> np.ndarray:
    """Each column to integer labels: equal-width bins, or its own values when it has few."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape, dtype=np.int64)
    for j in range(x.shape[1]):
        values, inverse = np.unique(x[:, j], return_inverse=True)
        if len(values) <= bins:
            out[:, j] = inverse
        else:
            edges = np.histogram_bin_edges(x[:, j], bins=bins)
            out[:, j] = np.digitize(x[:, j], edges[1:-1])
    return out


def _entropy(labels: np.ndarray) -> float:
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    joint = np.bincount(a * (b.max() + 1) + b).astype(np.float64)
    joint = joint[joint > 0] / len(a)
    return _entropy(a) + _entropy(b) - float(-(joint * np.log(joint)).sum())


def mutual_information_matrix(factors: np.ndarray, codes: np.ndarray, bins: int = 20) -> np.ndarray:
    """[K, D] mutual information (nats) between each discretised factor and code dimension."""
    f, c = discretise(factors, bins), discretise(codes, bins)
    return np.array([[_mutual_information(f[:, k], c[:, d]) for d in range(c.shape[1])]
                     for k in range(f.shape[1])])


def mig(factors: np.ndarray, codes: np.ndarray, bins: int = 20):
    """(score, normalised MI matrix [K, D]); factors with a single value are left out."""
    mi = mutual_information_matrix(factors, codes, bins)
    entropies = np.array([_entropy(col) for col in discretise(factors, bins).T])
    keep = entropies > 0
    normalised = np.zeros_like(mi)
    normalised[keep] = mi[keep] / entropies[keep, None]
    if codes.shape[1] < 2:
        return float(normalised[keep].max(axis=1).mean()), normalised
    top = np.sort(normalised[keep], axis=1)[:, ::-1]
    return float((top[:, 0] - top[:, 1]).mean()), normalised


def _normalised_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy of each row of p (rows sum to 1) in log base `base`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1) / np.log(base)


def dci(factors: np.ndarray, codes: np.ndarray, test_fraction: float = 0.25, alpha: float = 1e-3, seed: int = 0):
    """(disentanglement, completeness, informativeness, importance [D, K])."""
    train, test = train_test_split(len(codes), test_fraction, seed)
    x, mean, std = standardise(codes[train])
    x_test = (codes[test] - mean) / std
    y, y_mean, y_std = standardise(factors[train])
    coef, intercept = fit_ridge(x, y, alpha)                      # [D, K]
    informativeness = float(np.mean(r2_score((factors[test] - y_mean) / y_std, x_test @ coef + intercept)))
    importance = np.abs(coef)
    d, k = importance.shape
    total = importance.sum()
    if total <= 0 or d < 2 or k < 2:
        return 0.0, 0.0, informativeness, importance
    per_code = importance / importance.sum(axis=1, keepdims=True).clip(1e-12)
    code_weight = importance.sum(axis=1) / total
    disentanglement = float(((1 - _normalised_entropy(per_code, k)) * code_weight).sum())
    per_factor = (importance / importance.sum(axis=0, keepdims=True).clip(1e-12)).T
    factor_weight = importance.sum(axis=0) / total
    completeness = float(((1 - _normalised_entropy(per_factor, d)) * factor_weight).sum())
    return disentanglement, completeness, informativeness, importance


def sap(factors: np.ndarray, codes: np.ndarray):
    """(score, [K, D] single-code R^2 matrix)."""
    fc = factors - factors.mean(0)
    cc = codes - codes.mean(0)
    denom = np.sqrt(np.outer((fc**2).sum(0), (cc**2).sum(0))).clip(1e-12)
    r2 = ((fc.T @ cc) / denom) ** 2
    if codes.shape[1] < 2:
        return float(r2.max(axis=1).mean()), r2
    top = np.sort(r2, axis=1)[:, ::-1]
    return float((top[:, 0] - top[:, 1]).mean()), r2


@dataclass
class DisentanglementReport:
    factor_names: list[str]
    mig: float
    dci_disentanglement: float
    dci_completeness: float
    dci_informativeness: float   # held-out R^2 of predicting each factor from all codes (mean)
    sap: float
    mutual_information: np.ndarray   # [K, D] normalised by each factor's entropy (the matrix to show)
    importance: np.ndarray           # [D, K] DCI importance
    num_samples: int = 0
    extra: dict = field(default_factory=dict)  # e.g. reconstruction error, model, data

    def to_dict(self) -> dict:
        return {
            "mig": self.mig, "dci_disentanglement": self.dci_disentanglement,
            "dci_completeness": self.dci_completeness, "dci_informativeness": self.dci_informativeness,
            "sap": self.sap, "num_samples": self.num_samples, "factor_names": self.factor_names,
            "mutual_information": np.round(self.mutual_information, 4).tolist(),
            "importance": np.round(self.importance, 4).tolist(), **self.extra,
        }


def disentanglement_scores(factors, codes, factor_names=None, bins: int = 20, seed: int = 0) -> DisentanglementReport:
    """Every score from factors [N, K] and codes [N, D] (numpy or torch)."""
    factors = np.asarray(factors, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.float64)
    if factors.ndim != 2 or codes.ndim != 2 or len(factors) != len(codes):
        raise ConfigError(f"disentanglement: factors {list(factors.shape)} and codes {list(codes.shape)} "
                          "must be [N, K] and [N, D] with the same N")
    if len(codes) < 20:
        raise ConfigError(f"disentanglement: {len(codes)} samples; at least 20 are needed")
    names = list(factor_names) if factor_names is not None else [f"factor{k}" for k in range(factors.shape[1])]
    mig_score, mi = mig(factors, codes, bins)
    d, c, i, importance = dci(factors, codes, seed=seed)
    sap_score, _ = sap(factors, codes)
    return DisentanglementReport(names, mig_score, d, c, i, sap_score, mi, importance, len(codes))


MAX_FACES = 100_000  # faces encoded for MIG / DCI / SAP


@torch.no_grad()
def codec_disentanglement(model, data: str | None = None, num: int = 2000, batch_size: int = 100, seed: int = 1,
                          progress=None, should_stop=None) -> DisentanglementReport:
    """Encode `num` procedural faces (seed 1: not the training draw) with a VAE / autoencoder and score
    its codes (encoder means) against their true factors; the extra holds the reconstruction MSE."""
    from gan_explorer.core.data.faces import FACTOR_NAMES, FacesDataset
    from gan_explorer.core.limits import check_count
    from gan_explorer.core.training.options import check_data_spec

    check_count("--disentanglement-num", num, 2, MAX_FACES)
    if not model.capabilities.has_encoder:
        raise GanExplorerError(f"disentanglement needs an encoder (VAE or autoencoder); the {model.family} family has none")
    resolution = model.img_resolution
    if data is not None:
        check_data_spec(str(data))
        name, _, arg = str(data).partition(":")
        if name != "faces":
            raise ConfigError(f"--data {data}: disentanglement needs the procedural faces (faces:{resolution}), "
                              "whose true factors are known")
        if arg and int(arg) != resolution:
            raise ConfigError(f"--data {data}: the model draws {resolution} px images")
    dataset = FacesDataset(resolution, count=num, seed=seed, channels=model.img_channels)
    device = model._device()
    steps = Steps(num, progress, should_stop)
    codes, factors, sq_err = [], [], 0.0
    for start in range(0, num, batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, num))]
        images = torch.stack([it[0] for it in items]).to(device)
        ws = model.encode(images)
        sq_err += float(((model.synthesize(ws) - images) ** 2).mean(dim=(1, 2, 3)).sum())
        codes.append(ws[:, 0].float().cpu())
        factors.append(torch.stack([it[1] for it in items]))
        steps.step(len(items))
    report = disentanglement_scores(torch.cat(factors).numpy(), torch.cat(codes).numpy(), FACTOR_NAMES)
    report.extra = {"reconstruction_mse": sq_err / num, "data": f"faces:{resolution} (seed {seed})",
                    "family": model.family, "z_dim": model.z_dim}
    return report


def matrix_image(matrix: np.ndarray, row_labels, col_labels=None, cell: int = 16, title: str = "",
                 vmax: float | None = None) -> np.ndarray:
    """A heatmap (viridis, 0..vmax) with row labels on the left and column indices on top: HWC uint8.
    For the factor x code matrix: rows = factors, columns = code dimensions."""
    from PIL import Image, ImageDraw

    from gan_explorer.core.analysis.latent_map import colormap, label_font

    m = np.asarray(matrix, dtype=np.float64)
    rows, cols = m.shape
    col_labels = list(col_labels) if col_labels is not None else [str(j) for j in range(cols)]
    font, small = label_font(13), label_font(9)
    left, top = 130, 36 if title else 18
    width = left + cols * cell + 4
    if title:
        width = max(width, int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(title, font=font)) + 8)
    canvas = Image.new("RGB", (width, top + rows * cell + 4), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((4, 2), title, fill=(0, 0, 0), font=font)
    top_v = vmax if vmax is not None else max(float(m.max()), 1e-12)
    colours = colormap(np.concatenate([np.clip(m.ravel(), 0, top_v), [0.0, top_v]]))[:-2].reshape(rows, cols, 3)
    for i in range(rows):
        draw.text((4, top + i * cell + 1), str(row_labels[i]).replace("_", " "), fill=(0, 0, 0), font=font)
        for j in range(cols):
            x, y = left + j * cell, top + i * cell
            draw.rectangle([x, y, x + cell - 2, y + cell - 2], fill=tuple(int(v) for v in colours[i, j]))
    for j in range(0, cols, max(1, cols // 16)):
        draw.text((left + j * cell + 1, top - 12), col_labels[j], fill=(0, 0, 0), font=small)
    return np.asarray(canvas)


SPACES = ("z", "w", "w+", "s")


@torch.no_grad()
def latent_spaces_disentanglement(model, num: int = 2000, seed: int = 0, truncation_psi: float = 1.0,
                                  spaces=SPACES, batch_size: int = 100, regressor=None, progress=None,
                                  should_stop=None) -> dict[str, DisentanglementReport]:
    """MIG, DCI and SAP of a StyleGAN's latent spaces against the factors the shipped regressor reads
    off its images (the StyleSpace paper's Table 1, with the procedural faces' factors):

    - z, w and s (styles: core/latent/stylespace.py) of the same `num` images;
    - w+: other images, whose every layer takes the w of its own z (the whole of W+ that sampled
      latents reach: with one w per image W+ would be W repeated, telling nothing new).

    The regressor's background hue is an angle: it enters as its cosine and sine."""
    from gan_explorer.core.analysis.regressor import load_regressor, predict
    from gan_explorer.core.latent.stylespace import concat_styles, styles_for_ws
    from gan_explorer.core.limits import check_count

    check_count("num", num, 20, MAX_FACES)
    unknown = [s for s in spaces if s not in SPACES]
    if unknown:
        raise ConfigError(f"space {unknown[0]!r}: must be one of {', '.join(SPACES)}")
    regressor = regressor or load_regressor()
    device = model._device()
    generator = torch.Generator().manual_seed(int(seed))
    want_mixed = "w+" in spaces
    steps = Steps(num * (2 if want_mixed else 1), progress, should_stop)
    codes = {space: [] for space in spaces}
    factors = {"same": [], "mixed": []}

    def read_factors(images):
        predicted = predict(regressor, images)
        hue = 2 * np.pi * predicted.pop("background_hue")
        return np.column_stack([*predicted.values(), np.cos(hue), np.sin(hue)]), \
            [*predicted.keys(), "background_hue_cos", "background_hue_sin"]

    names = []
    for start in range(0, num, batch_size):
        n = min(batch_size, num - start)
        z = torch.randn([n, model.z_dim], generator=generator).to(device)
        ws = model.map(z, truncation_psi)
        found, names = read_factors(model.synthesize(ws, noise_mode="const"))
        factors["same"].append(found)
        for space, code in (("z", z), ("w", ws[:, 0]), ("s", None)):
            if space in codes:
                codes[space].append((concat_styles(styles_for_ws(model, ws)) if code is None else code).cpu().numpy())
        steps.step(n)
        if want_mixed:
            zs = torch.randn([n * model.num_ws, model.z_dim], generator=generator).to(device)
            mixed = model.map(zs, truncation_psi)[:, 0].reshape(n, model.num_ws, -1)
            factors["mixed"].append(read_factors(model.synthesize(mixed, noise_mode="const"))[0])
            codes["w+"].append(mixed.reshape(n, -1).cpu().numpy())
            steps.step(n)
    reports = {}
    for space in spaces:
        truth = np.concatenate(factors["mixed" if space == "w+" else "same"])
        report = disentanglement_scores(truth, np.concatenate(codes[space]), names, seed=seed)
        report.extra = {"space": space, "dims": int(np.concatenate(codes[space]).shape[1]),
                        "factors": "read by the shipped regressor", "truncation_psi": truncation_psi}
        reports[space] = report
    return reports
