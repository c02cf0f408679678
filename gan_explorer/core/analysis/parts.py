"""Which part of the picture each pixel of a generated image is (DatasetGAN, Zhang et al., CVPR 2021).

The generator's own intermediate feature maps, upsampled to the output size and stacked, describe
every pixel; a small per-pixel classifier on them, trained from a handful of labelled generated
images, segments every other image the generator makes:

    layers = feature_layers(model)
    features, images = pixel_features(model, ws, layers)          # [n, F, H, W] float16
    classifier = train_classifier(features, labels, PART_NAMES, layers)
    parts = segment(model, classifier, other_ws)                    # [n, H, W] uint8
    per_part = part_iou(parts, truth, len(PART_NAMES))              # [K] (NaN: absent in both)

Labels come from masks a user paints on a few samples (any model), or, for models trained on the
procedural faces, from the faces' exact part maps: `projected_faces` projects dataset faces into
the model (core/latent/projection.py) and pairs each projection's ws with the face's part map;
the projections are cached, as they are the slow step on a CPU.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import Cancelled, ConfigError, GanExplorerError

MAX_FEATURE_CHANNELS = 1024  # above this, only the last feature layer of each resolution is kept
FORMAT_NAME = "gan_explorer.part_classifier"


@dataclass(frozen=True)
class PartsConfig:
    hidden: int = 64                  # width of the classifier's hidden layer (0: a linear classifier)
    steps: int = 300                  # Adam steps
    batch_pixels: int = 8192          # pixels per step, drawn from every labelled pixel
    learning_rate: float = 3e-3       # Adam's rate, cosine-decayed to 0
    class_balance: float = 0.5        # loss weight of a part ~ frequency ** -class_balance (0: none)
    seed: int = 0                     # pixel sampling and initial weights

    def validate(self) -> "PartsConfig":
        for name in ("hidden", "steps", "batch_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "hidden" else 1):
                raise ConfigError(f"parts {name}={value!r}: must be a whole number >= {0 if name == 'hidden' else 1}")
        for name in ("learning_rate", "class_balance"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"parts {name}={value!r}: must be a finite number >= 0")
        return self


# --- features ------------------------------------------------------------------------------------
def feature_layers(model) -> list[str]:
    """The layers whose outputs describe pixels: every spatial layer with more channels than the
    picture, but the output itself (and to-RGB layers); where they add up to more than
    MAX_FEATURE_CHANNELS, only the last of each resolution."""
    from gan_explorer.core.analysis.layers import list_layers

    infos = list_layers(model)
    if not infos:
        raise GanExplorerError(f"the {model.family} generator shows no layers to take features from")
    output = infos[-1]
    chosen = [i for i in infos if i.is_spatial and i.shape[0] > model.img_channels and i.name != output.name
              and "rgb" not in i.kind.lower() and i.shape[1] > 1]
    if not chosen:
        raise GanExplorerError(f"the {model.family} generator has no spatial feature maps to classify pixels with")
    if sum(i.shape[0] for i in chosen) > MAX_FEATURE_CHANNELS:
        last = {}
        for info in chosen:
            last[info.shape[1:]] = info
        chosen = list(last.values())
    return [i.name for i in chosen]


def upsample(activation: torch.Tensor, size: int) -> torch.Tensor:
    """[n, C, h, w] -> [n, C, size, size], bilinear (DatasetGAN upsamples its feature maps likewise)."""
    if activation.shape[-1] == size and activation.shape[-2] == size:
        return activation
    return F.interpolate(activation, size=(size, size), mode="bilinear", align_corners=False)


@torch.no_grad()
def pixel_features(model, ws, layers, noise_mode: str = "const", batch: int = 8, edit=None,
                   should_stop=None) -> tuple[torch.Tensor, np.ndarray]:
    """Each pixel's features: the `layers`' outputs upsampled to the output size and stacked
    ([n, F, H, W] float16 on CPU), and the images (NHWC uint8). `edit(model)` (optional): a context
    manager around each run (an ablation), whose changes the features then see."""
    from gan_explorer.core.analysis.layers import capture_activations
    from gan_explorer.core.io.images import to_uint8

    ws = torch.as_tensor(np.asarray(ws, np.float32))
    device = next(model.parameters()).device
    size = model.img_resolution
    features, images = [], []
    for start in range(0, len(ws), batch):
        if should_stop is not None and should_stop():
            raise Cancelled("feature extraction cancelled")
        chunk = ws[start:start + batch].to(device)
        if edit is None:
            acts, out = capture_activations(model, chunk, layers, noise_mode)
        else:
            with edit(model):
                acts, out = capture_activations(model, chunk, layers, noise_mode)
        features.append(torch.cat([upsample(acts[name], size) for name in layers], dim=1).half())
        images.append(to_uint8(out))
    return torch.cat(features), np.concatenate(images)


# --- the classifier ------------------------------------------------------------------------------
class PartClassifier(nn.Module):
    """Per-pixel features -> part logits: standardise, then an MLP (DatasetGAN uses an ensemble of
    such MLPs; one is enough for the few parts here)."""

    def __init__(self, feature_count: int, part_names, layers, hidden: int = 64):
        super().__init__()
        self.part_names = tuple(part_names)
        self.layers = tuple(layers)
        self.hidden = int(hidden)
        self.register_buffer("mean", torch.zeros(feature_count))
        self.register_buffer("std", torch.ones(feature_count))
        k = len(self.part_names)
        self.net = (nn.Sequential(nn.Linear(feature_count, hidden), nn.ReLU(), nn.Linear(hidden, k)) if hidden
                    else nn.Sequential(nn.Linear(feature_count, k)))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """[P, F] -> [P, K] logits."""
        return self.net((pixels.float() - self.mean) / self.std)

    @torch.no_grad()
    def predict(self, features: torch.Tensor, chunk: int = 4) -> np.ndarray:
        """[n, F, H, W] -> [n, H, W] uint8 part indices."""
        out = []
        for start in range(0, len(features), chunk):
            f = features[start:start + chunk]
            n, c, h, w = f.shape
            logits = self(f.permute(0, 2, 3, 1).reshape(-1, c))
            out.append(logits.argmax(1).reshape(n, h, w).to(torch.uint8).numpy())
        return np.concatenate(out) if out else np.zeros((0,) + tuple(features.shape[2:]), np.uint8)


UNLABELLED = 255  # a painted mask's pixels the user left unpainted: not used for training


def train_classifier(features: torch.Tensor, labels, part_names, layers, config: PartsConfig = PartsConfig(),
                     progress=None, should_stop=None) -> PartClassifier:
    """A PartClassifier from labelled images: features [n, F, H, W] (pixel_features), labels
    [n, H, W] part indices (UNLABELLED pixels are skipped). progress(done, total), should_stop()."""
    config = config.validate()
    part_names = tuple(part_names)
    labels = np.asarray(labels)
    if labels.ndim != 3 or labels.shape[0] != features.shape[0] or labels.shape[1:] != tuple(features.shape[2:]):
        raise ConfigError(f"part labels of shape {list(labels.shape)}: expected [{features.shape[0]}, "
                          f"{features.shape[2]}, {features.shape[3]}] (one map per image, at the output size)")
    flat_labels = torch.from_numpy(labels.reshape(-1).astype(np.int64))
    known = flat_labels != UNLABELLED
    if bool((flat_labels[known] >= len(part_names)).any()) or bool((flat_labels[known] < 0).any()):
        raise ConfigError(f"part labels hold indices outside 0..{len(part_names) - 1} ({len(part_names)} parts)")
    if int(known.sum()) == 0:
        raise ConfigError("no labelled pixels: paint at least one part on one image")
    c = features.shape[1]
    pixels = features.permute(0, 2, 3, 1).reshape(-1, c)[known]
    targets = flat_labels[known]
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)  # the layers' initial weights
    classifier = PartClassifier(c, part_names, layers, config.hidden)
    sample = pixels[torch.randperm(len(pixels), generator=generator)[:65536]].float()
    classifier.mean.copy_(sample.mean(0))
    classifier.std.copy_(sample.std(0).clamp_min(1e-4))
    counts = torch.bincount(targets, minlength=len(part_names)).float()
    weights = torch.where(counts > 0, (counts / counts.sum()).clamp_min(1e-6) ** -config.class_balance,
                          torch.zeros_like(counts))
    weights = weights / (weights * counts).sum() * counts.sum()  # the mean pixel weight stays 1
    classifier.train()
    threads = torch.get_num_threads()
    # One thread: the steps are too small to split, and on a busy machine the threads' hand-offs
    # cost more than the work (measured: 0.7 s against 0.09 s a step on the shared 2-core machine).
    torch.set_num_threads(1)
    try:
        _fit(classifier, pixels, targets, weights, config, generator, progress, should_stop)
    finally:
        torch.set_num_threads(threads)
    classifier.eval()
    return classifier


def _fit(classifier, pixels, targets, weights, config, generator, progress, should_stop):
    optimiser = torch.optim.Adam(classifier.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.steps)
    with torch.enable_grad():  # jobs run under no_grad
        for step in range(config.steps):
            if should_stop is not None and should_stop():
                raise Cancelled("part classifier training cancelled")
            pick = torch.randint(len(pixels), (min(config.batch_pixels, len(pixels)),), generator=generator)
            loss = F.cross_entropy(classifier(pixels[pick]), targets[pick], weight=weights)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            if progress is not None and (step % 10 == 0 or step == config.steps - 1):
                progress(step + 1, config.steps)


def segment(model, classifier: PartClassifier, ws, noise_mode: str = "const", edit=None,
            should_stop=None) -> tuple[np.ndarray, np.ndarray]:
    """The part map of each image ws renders ([n, H, W] uint8) and the images (NHWC uint8)."""
    parts, images = [], []
    ws = np.asarray(ws, np.float32)
    for start in range(0, len(ws), 32):  # features of 32 images at a time bound the memory
        features, pictures = pixel_features(model, ws[start:start + 32], list(classifier.layers), noise_mode,
                                            edit=edit, should_stop=should_stop)
        parts.append(classifier.predict(features))
        images.append(pictures)
    return np.concatenate(parts), np.concatenate(images)


def part_iou(predicted, truth, part_count: int) -> np.ndarray:
    """[K] intersection over union of each part, pooled over all images; NaN where a part is in
    neither (it does not count in a mean)."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape:
        raise ConfigError(f"part maps of shapes {list(predicted.shape)} and {list(truth.shape)} cannot be compared")
    iou = np.full(part_count, np.nan)
    for k in range(part_count):
        p, t = predicted == k, truth == k
        union = np.logical_or(p, t).sum()
        if union:
            iou[k] = np.logical_and(p, t).sum() / union
    return iou


def part_areas(parts, part_count: int) -> np.ndarray:
    """[K] fraction of all pixels of `parts` ([n, H, W]) that each part covers."""
    parts = np.asarray(parts)
    return np.bincount(parts.reshape(-1), minlength=part_count)[:part_count] / max(parts.size, 1)


# --- saving --------------------------------------------------------------------------------------
def save_classifier(classifier: PartClassifier, path, report: dict | None = None) -> Path:
    """An .npz of the tensors plus a JSON header (no pickles: np.load reads it with allow_pickle off)."""
    from gan_explorer.core.io.atomic import atomic_write_bytes

    header = dict(format=FORMAT_NAME, part_names=list(classifier.part_names), layers=list(classifier.layers),
                  hidden=classifier.hidden, report=report or {})
    arrays = {k: v.detach().cpu().numpy() for k, v in classifier.state_dict().items()}
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def load_classifier(path) -> PartClassifier:
    from gan_explorer.core.errors import CheckpointError, one_line

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            arrays = {k: torch.from_numpy(data[k].copy()) for k in data.files if k != "header"}
        if header.get("format") != FORMAT_NAME:
            raise ValueError(f"not a part classifier (format {header.get('format')!r})")
        classifier = PartClassifier(arrays["mean"].shape[0], header["part_names"], header["layers"],
                                    int(header["hidden"]))
        classifier.load_state_dict(arrays)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
        raise CheckpointError(path, f"cannot read a part classifier: {one_line(exc)}") from exc
    return classifier.eval()


# --- labels from the procedural faces --------------------------------------------------------------
@dataclass(frozen=True)
class ProjectedFaces:
    """Dataset faces projected into a model: ws that render them, with the faces' true part maps."""

    ws: np.ndarray         # [n, num_ws, w_dim] float32
    truth: np.ndarray      # [n, H, W] uint8: core.data.faces.face_parts of each face (PART_NAMES)
    psnr: np.ndarray       # [n] dB of each projection against its face
    indices: np.ndarray    # [n] the faces' indices in FacesDataset(seed=seed)
    seed: int = 0


@dataclass(frozen=True)
class FaceProjectionConfig:
    steps: int = 60        # projection steps per face (W+): 24-27 dB on the demo; more fit better, slowly
    loss: str = "l2"       # the projection loss: l2 is the cheapest (the faces are flat-shaded)
    batch: int = 8         # faces projected together (a file of the cache each)


def projected_faces(model, count: int, seed: int = 0, start: int = 0, config: FaceProjectionConfig =
                    FaceProjectionConfig(), cache_dir=None, progress=None, should_stop=None) -> ProjectedFaces:
    """`count` faces of FacesDataset(model resolution, seed), from index `start`, projected into
    `model` (W+), each with its part map. With `cache_dir`, a projection made earlier for this very
    model, faces and config is read back instead (a file per batch, so a cancelled run keeps its work)."""
    from gan_explorer.core.data.faces import FacesDataset
    from gan_explorer.core.io.identity import identity_key, model_identity
    from gan_explorer.core.latent.projection import project

    if model.capabilities.is_translation or model.img_channels != 3:
        raise GanExplorerError(f"a {model.family} model with {model.img_channels} channel(s) cannot be compared "
                               "with the procedural faces' parts (it needs a latent and RGB pictures)")
    resolution = model.img_resolution
    dataset = FacesDataset(resolution, seed=seed)
    key = identity_key(model_identity(model))
    ws, psnr = [], []
    indices = np.arange(start, start + count)
    for first in range(0, count, config.batch):
        batch = indices[first:first + config.batch]
        cache = None
        if cache_dir is not None:
            cache = Path(cache_dir) / (f"faces-{key}-r{resolution}-s{seed}-i{batch[0]}-{len(batch)}"
                                       f"-{config.steps}{config.loss}.npz")
        if cache is not None and cache.is_file():
            with np.load(cache, allow_pickle=False) as data:
                ws.append(data["ws"])
                psnr.append(data["psnr"])
        else:
            pictures = np.stack([dataset.image(int(i)) for i in batch])
            done = first

            def step_progress(step, total, *_args, done=done, size=len(batch)):
                if progress is not None:
                    progress(done + size * min(step, total) / max(total, 1), count)

            result = project(model, pictures, space="w+", steps=config.steps, loss=config.loss, preview_every=0,
                             progress=step_progress, should_stop=should_stop)
            ws.append(result.ws.astype(np.float32))
            psnr.append(result.psnr.astype(np.float32))
            if cache is not None:
                from gan_explorer.core.io.atomic import atomic_write_bytes

                buffer = io.BytesIO()
                np.savez(buffer, ws=ws[-1], psnr=psnr[-1])
                cache.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(cache, buffer.getvalue())
        if progress is not None:
            progress(min(first + config.batch, count), count)
    truth = np.stack([dataset.parts(int(i)) for i in indices])
    return ProjectedFaces(np.concatenate(ws), truth, np.concatenate(psnr), indices, seed)


def default_cache_dir() -> Path:
    from gan_explorer.core.paths import default_data_dir

    return default_data_dir() / "parts-cache"


def config_dict(config) -> dict:
    return asdict(config)


# One colour per part index for pictures of part maps (background grey; then distinct hues).
_PART_COLOURS = np.array([(60, 60, 60), (230, 180, 140), (120, 70, 30), (200, 120, 200), (40, 120, 250),
                          (250, 220, 40), (40, 200, 120), (230, 40, 60), (20, 20, 20)], np.uint8)


def part_colours(count: int) -> np.ndarray:
    """[count, 3] uint8: the first nine as for the faces' parts, then evenly spread hues."""
    import colorsys

    extra = [tuple(int(255 * v) for v in colorsys.hsv_to_rgb((i * 0.618) % 1, 0.7, 0.9))
             for i in range(max(0, count - len(_PART_COLOURS)))]
    return np.concatenate([_PART_COLOURS[:count], np.asarray(extra, np.uint8).reshape(-1, 3)])
