"""A learned first guess for projection: a small CNN trained on pairs the model itself makes.

Sample z, map it to ws (random truncation, and style mixing where the family has it, so the
encoder sees the whole space a user might land in), render the image, and learn image -> ws
(Richardson et al. 2021 and Tov et al. 2021 train such encoders on real photos with perceptual
losses; here the pairs cost nothing and the truth is known, so a loss on ws suffices). The
guess starts `project`, which then needs far fewer steps (measured: see the README).

An encoder belongs to one model: it is saved beside the model as ``<model stem>.encoder-<identity
key>.safetensors`` (core/io/identity.py: the model file's sha256, or for a model made in memory a
hash of its family, config and tensors), or under the app's data folder where the model's folder
is read-only, and records the hash of the tensors it was trained for; `find_encoder` finds it
(also under the names earlier versions gave) and loads it only for those very weights.
"""

from __future__ import annotations

import functools
import glob
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import CheckpointError, ConfigError, OutputError, escape_text
from gan_explorer.core.errors import Cancelled
from gan_explorer.core.io.identity import (
    find_or_migrate, identity_key, memory_identity, model_identity,
)

model_content_hash = memory_identity  # the name this module gave it before one model identity (#25)

FORMAT_NAME = "gan_explorer.latent_encoder"
MAX_INPUT_RESOLUTION = 128  # larger models' pictures are downsampled to this before the encoder
MAX_ENCODER_PARAMETERS = 1 << 26  # 256 MB of float32; a 1024 px StyleGAN's encoder has about 7 million


@dataclass(frozen=True)
class EncoderConfig:
    num_ws: int = 10                  # ws the encoder predicts (the model's num_ws)
    w_dim: int = 128                  # the model's w_dim
    img_channels: int = 3             # the model's channels
    input_resolution: int = 64        # pictures are resized to this (min(model resolution, 128))
    base_channels: int = 16           # feature maps of the first conv; doubled per halving, capped
    channel_max: int = 256            # cap on feature maps
    hidden: int = 512                 # width of the fully connected layer before the ws

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "EncoderConfig":
        from gan_explorer.core.io.reading import parse_json_text

        data = parse_json_text(text)
        if not isinstance(data, dict) or set(data) - set(cls.__dataclass_fields__):
            raise ValueError("unexpected encoder config")
        config = cls(**data)
        for name, value in asdict(config).items():
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65536:
                raise ValueError(f"encoder config {name}={value!r} out of range")
        if config.input_resolution & (config.input_resolution - 1) or config.input_resolution < 8:
            raise ValueError(f"encoder input_resolution={config.input_resolution}: not a power of two >= 8")
        return config


@dataclass(frozen=True)
class EncoderTrainingConfig:
    steps: int = 3000                 # optimiser steps
    batch: int = 32                   # pairs per step, drawn from the pool
    pool: int = 2048                  # rendered pairs kept; rendering costs more than an encoder step
    fresh: int = 8                    # pairs rendered per step, replacing the oldest in the pool
    learning_rate: float = 1e-3       # Adam, cosine-decayed to 0
    psi_min: float = 0.5              # truncation psi drawn uniformly from [psi_min, 1]: truncated
    mixing_prob: float = 0.5          # fraction of samples with two ws crossing at a random layer
    random_noise_prob: float = 0.5    # fraction rendered with random noise (robust to texture it cannot predict)
    validation: int = 256             # held-out pairs for the report
    seed: int = 0                     # sampling and initialisation


class LatentEncoder(nn.Module):
    """picture [n, C, H, W] in [-1, 1] -> ws [n, num_ws, w_dim] = w_avg + w_std * net(picture)."""

    family = "latent encoder"  # how planned_state names it

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        layers, channels, res = [], config.img_channels, config.input_resolution
        width = config.base_channels
        while res > 4:
            out = min(width, config.channel_max)
            layers += [nn.Conv2d(channels, out, 3, 2, 1), nn.LeakyReLU(0.2),
                       nn.Conv2d(out, out, 3, 1, 1), nn.LeakyReLU(0.2)]
            channels, res, width = out, res // 2, width * 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16, config.hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(config.hidden, config.num_ws * config.w_dim))
        nn.init.zeros_(self.head[-1].weight)  # start at w_avg: the projector's own default start
        nn.init.zeros_(self.head[-1].bias)
        self.register_buffer("w_avg", torch.zeros(config.w_dim))
        self.register_buffer("w_std", torch.ones(config.w_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32)
        size = self.config.input_resolution
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > size)
        out = self.head(self.features(x)).reshape(-1, self.config.num_ws, self.config.w_dim)
        return self.w_avg + self.w_std * out

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        was = self.training
        self.eval()
        try:
            return self(images.to(self.w_avg.device))
        finally:
            self.train(was)


# --- where an encoder is kept -------------------------------------------------------------------------
def encoder_file_name(model_path, content_hash: str) -> str:
    return f"{Path(model_path).stem}.encoder-{identity_key(content_hash)}.safetensors"


def encoder_paths(model, model_path=None, content_hash: str | None = None) -> list[Path]:
    """Where an encoder for `model` is looked for: beside the model file, then the data folder;
    named by the model's identity (`content_hash`, else model_identity(model, model_path))."""
    from gan_explorer.core.paths import default_data_dir

    content_hash = content_hash or model_identity(model, model_path)
    paths = []
    if model_path is not None:
        paths.append(Path(model_path).with_name(encoder_file_name(model_path, content_hash)))
    paths.append(default_data_dir() / "encoders" / f"{identity_key(content_hash)}.safetensors")
    return paths


def _legacy_encoder_paths(model_path, tensors) -> list[Path]:
    """encoder_paths as versions before one model identity named them: the same folders, the first
    16 hex digits of the hash of the model's tensors (`tensors()`, only called where some file has
    a name of that form, so that a large model opened from a file is not hashed for nothing)."""
    from gan_explorer.core.paths import default_data_dir

    places = [(default_data_dir() / "encoders", "")]
    if model_path is not None:
        places.insert(0, (Path(model_path).parent, f"{Path(model_path).stem}.encoder-"))
    suffix = ".safetensors"
    if not any(len(p.name) == len(prefix) + 16 + len(suffix)
               for folder, prefix in places for p in folder.glob(f"{glob.escape(prefix)}*{suffix}")):
        return []
    return [folder / f"{prefix}{tensors()[:16]}{suffix}" for folder, prefix in places]


def find_encoder(model, model_path=None, device=None) -> LatentEncoder | None:
    """The encoder trained for exactly this model (opened from `model_path`, where it was), or None.
    A file that is there but unreadable (or made for other weights) is an error, not silently
    ignored. A file saved under the name an earlier version used is found and moved to its name now."""
    content_hash = model_identity(model, model_path)
    tensors = functools.cache(lambda: memory_identity(model, content_hash))
    paths = encoder_paths(model, model_path, content_hash)
    found = next((path for path in paths if path.is_file()), None)
    if found is None:
        for path, old in zip(paths, _legacy_encoder_paths(model_path, tensors)):
            found = find_or_migrate(path, [old])
            if found is not None:
                break
    if found is None:
        return None
    return load_encoder(found, model, device=device, content_hash=tensors())


# --- files -------------------------------------------------------------------------------------------
def save_encoder(encoder: LatentEncoder, path, model, report: dict | None = None) -> Path:
    from safetensors.torch import save as safetensors_bytes

    from gan_explorer.core.io.atomic import atomic_write_bytes

    metadata = {"format": FORMAT_NAME, "config": encoder.config.to_json(),
                "model_hash": memory_identity(model), "model_family": model.family,
                "report": json.dumps(report or {})}
    tensors = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    atomic_write_bytes(Path(path), safetensors_bytes(tensors, metadata=metadata))
    return Path(path)


def load_encoder(path, model=None, device=None, content_hash: str | None = None) -> LatentEncoder:
    """An encoder file (checked against `model` when given); CheckpointError with the reason.
    `content_hash`: memory_identity(model), where the caller has it.

    Nothing is built on the file's word: its header is read and checked against the file's length
    (core/io/checkpoint.read_safetensors_header), its config planned on the meta device under
    MAX_ENCODER_PARAMETERS and compared tensor by tensor with the header, and only then is an
    encoder allocated and its tensors read."""
    from safetensors import safe_open

    from gan_explorer.core.io.checkpoint import DTYPE_NAMES, read_safetensors_header
    from gan_explorer.core.models.base import planned_state

    path = Path(path)
    try:
        stored, metadata = read_safetensors_header(path)
    except CheckpointError as exc:
        raise CheckpointError(path, f"not a readable encoder ({exc.reason})") from None
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(path, "not a latent encoder file (no gan_explorer encoder metadata)")
    try:
        config = EncoderConfig.from_json(metadata.get("config", ""))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(path, f"not a readable encoder ({_first_line(exc)})") from None
    if model is not None:
        # The file records the hash of the tensors it was trained for: a file is named by its
        # model's identity, but fits exactly those weights (whatever file they came from).
        if metadata.get("model_hash") != (content_hash or memory_identity(model)):
            raise CheckpointError(path, "this encoder was trained for another model (content hash differs)")
        if (config.num_ws, config.w_dim, config.img_channels) != (model.num_ws, model.w_dim, model.img_channels):
            raise CheckpointError(path, "the encoder's ws shape does not match the model")
    try:
        planned = planned_state(LatentEncoder, config, MAX_ENCODER_PARAMETERS)
    except ConfigError:
        raise CheckpointError(path, f"its config would build an encoder of more than {MAX_ENCODER_PARAMETERS:,} "
                                    f"parameters: {escape_text(config.to_json(), 300)}") from None
    if set(planned) != set(stored):
        missing, extra = sorted(set(planned) - set(stored)), sorted(set(stored) - set(planned))
        shown = ", ".join(escape_text(repr(k), 60) for k in (missing or extra)[:4])
        raise CheckpointError(path, f"tensors do not match the encoder ({'missing' if missing else 'unexpected'}: "
                                    f"{shown})")
    for key, (shape, dtype) in planned.items():
        if stored[key] != (shape, dtype):
            raise CheckpointError(path, f"tensor {escape_text(repr(key), 60)} is {list(stored[key][0])} "
                                        f"{DTYPE_NAMES.get(stored[key][1], '?')}, the encoder's config needs "
                                        f"{list(shape)} {DTYPE_NAMES.get(dtype, '?')}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            tensors = {k: f.get_tensor(k) for k in planned}
    except Exception as exc:  # the header was checked: what is left is a file changed meanwhile
        raise CheckpointError(path, f"not a readable encoder ({_first_line(exc)})") from None
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise CheckpointError(path, "the encoder holds NaN or infinite values")
    encoder = LatentEncoder(config)
    encoder.load_state_dict(tensors, strict=True)
    try:
        report = json.loads(metadata.get("report") or "{}")
    except (ValueError, RecursionError):
        report = {}  # the training report is information, not something the encoder needs
    encoder.report = report if isinstance(report, dict) else {}
    return encoder.to(device or (model._device() if model is not None else "cpu")).eval()


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return escape_text(text[0] if text else type(exc).__name__, 160)


def default_encoder_path(model, model_path) -> Path:
    return encoder_paths(model, model_path)[0] if model_path is not None else encoder_paths(model)[-1]


def save_encoder_beside(encoder, model, model_path, report=None) -> Path:
    """Beside the model where its folder is writable, else in the data folder (read-only installs)."""
    paths = encoder_paths(model, model_path)
    for i, path in enumerate(paths):
        try:
            return save_encoder(encoder, path, model, report)
        except OutputError:
            if i == len(paths) - 1:
                raise
    raise AssertionError("unreachable")


# --- training ----------------------------------------------------------------------------------------
@torch.no_grad()
def sample_pairs(model, n: int, generator: torch.Generator, config: EncoderTrainingConfig):
    """(images [n, C, H, W], ws [n, num_ws, w_dim]) the model makes from random z."""
    device = model._device()
    z = torch.randn(n, model.z_dim, generator=generator).to(device)
    ws = model.map(z)
    psi = torch.empty(n, 1, 1).uniform_(config.psi_min, 1.0, generator=generator).to(device)
    w_avg = model.w_avg.to(ws)
    ws = w_avg + psi * (ws - w_avg)
    if model.num_ws > 1 and model.capabilities.style_mixing and config.mixing_prob > 0:
        other = model.map(torch.randn(n, model.z_dim, generator=generator).to(device))
        other = w_avg + psi * (other - w_avg)
        cross = torch.randint(1, model.num_ws, (n,), generator=generator).to(device)
        mixed = torch.rand(n, generator=generator).to(device) < config.mixing_prob
        layer = torch.arange(model.num_ws, device=device)[None]
        take = (layer >= cross[:, None]) & mixed[:, None]
        ws = torch.where(take[:, :, None], other, ws)
    use_random = bool(torch.rand(1, generator=generator) < config.random_noise_prob) and model.capabilities.has_noise
    if use_random:
        noise_gen = torch.Generator(device=device).manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
        images = model.synthesize(ws, noise_mode="random", noise_generator=noise_gen)
    else:
        images = model.synthesize(ws, noise_mode="const")
    return images.clamp(-1, 1), ws


@torch.no_grad()
def _w_statistics(model, generator, samples: int = 2000):
    z = torch.randn(samples, model.z_dim, generator=generator).to(model._device())
    w = model.map(z)[:, 0]
    return model.w_avg.detach().to(w).clone(), w.std(dim=0).clamp_min(1e-6)


def train_encoder(model, config: EncoderTrainingConfig = EncoderTrainingConfig(), progress=None,
                  should_stop=None, encoder_config: EncoderConfig | None = None) -> tuple[LatentEncoder, dict]:
    """Train an encoder for `model`; returns it and a report (ws error and PSNR of its guesses on
    held-out pairs). `progress(step, total, loss)`; `should_stop()` -> Cancelled."""
    from gan_explorer.core.latent.losses import psnr

    if model.capabilities.is_translation:
        raise ConfigError(f"{model.family} translates pictures; it has no latent space to encode into")
    if not 1 <= config.steps <= 10_000_000 or not 1 <= config.batch <= 4096 or not 1 <= config.pool <= 1_000_000 \
            or not 0 <= config.fresh <= config.pool:
        raise ConfigError(f"encoder steps {config.steps} / batch {config.batch} / pool {config.pool} / "
                          f"fresh {config.fresh}: out of range")
    should_stop = should_stop or (lambda: False)
    device = model._device()
    t0 = time.perf_counter()
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    encoder_config = encoder_config or EncoderConfig(
        num_ws=model.num_ws, w_dim=model.w_dim, img_channels=model.img_channels,
        input_resolution=min(model.img_resolution, MAX_INPUT_RESOLUTION))
    encoder = LatentEncoder(encoder_config).to(device)
    w_avg, w_std = _w_statistics(model, generator)
    encoder.w_avg.copy_(w_avg)
    encoder.w_std.copy_(w_std)
    held_out = sample_pairs(model, config.validation, torch.Generator().manual_seed(config.seed + 10**6), config)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=config.learning_rate)
    losses = []
    try:
        pool_images, pool_ws = [], []
        pool = min(config.pool, config.steps * config.batch)  # never more than training will draw
        for start in range(0, pool, 64):
            if should_stop():
                raise Cancelled("encoder training cancelled")
            images, ws = sample_pairs(model, min(64, pool - start), generator, config)
            pool_images.append(images)
            pool_ws.append(ws)
        pool_images, pool_ws = torch.cat(pool_images), torch.cat(pool_ws)
        oldest = 0
        for step in range(config.steps):
            if should_stop():
                raise Cancelled("encoder training cancelled")
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate * 0.5 * (1 + math.cos(math.pi * step / config.steps))
            if config.fresh > 0:
                new_images, new_ws = sample_pairs(model, config.fresh, generator, config)
                slots = (oldest + torch.arange(config.fresh)) % len(pool_images)
                pool_images[slots], pool_ws[slots] = new_images, new_ws
                oldest = int(slots[-1] + 1) % len(pool_images)
            pick = torch.randint(0, len(pool_images), (config.batch,), generator=generator)
            images, ws = pool_images[pick.to(pool_images.device)], pool_ws[pick.to(pool_ws.device)]
            loss = ((encoder(images) - ws) / encoder.w_std).square().mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(step + 1, config.steps, float(np.mean(losses[-50:])))
    finally:
        model.train(was_training)
    encoder.eval()
    with torch.no_grad():
        images, ws = held_out
        guess = torch.cat([encoder(images[i:i + 64]) for i in range(0, len(images), 64)])
        w_error = float(((guess - ws) / encoder.w_std).square().mean())
        recon = torch.cat([model.synthesize(guess[i:i + 32], noise_mode="const") for i in range(0, len(guess), 32)])
        recon_psnr = psnr(recon.clamp(-1, 1), images)
        avg = model.synthesize(w_avg.expand(1, model.num_ws, -1), noise_mode="const").expand_as(images)
        avg_psnr = psnr(avg.clamp(-1, 1), images)
        avg_error = float(((w_avg - ws) / encoder.w_std).square().mean())
    report = {"steps": config.steps, "batch": config.batch, "seconds": round(time.perf_counter() - t0, 1),
              "final_loss": float(np.mean(losses[-50:])), "held_out_pairs": config.validation,
              "held_out_w_error": w_error, "w_avg_w_error": avg_error,
              "held_out_median_psnr": float(recon_psnr.median()),
              "w_avg_median_psnr": float(avg_psnr.median()), "training": asdict(config)}
    encoder.report = report
    return encoder, report


__all__ = ["EncoderConfig", "EncoderTrainingConfig", "LatentEncoder", "find_encoder", "load_encoder",
           "model_content_hash", "save_encoder", "save_encoder_beside", "train_encoder", "encoder_paths",
           "default_encoder_path"]
