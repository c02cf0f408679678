"""Pivotal tuning: a photo kept as itself by a brief fine-tune of the synthesis weights.

Implemented from Roich et al., "Pivotal Tuning for Latent-based Editing of Real Images" (2022):

- The pivot: a W projection of the photo (one w for every layer: the editable space), done by
  core/latent/projection.py beforehand. Its ws stay what the latent state holds.
- The tuning: Adam on a copy of the synthesis network's parameters (the model itself is never
  written), a bounded number of steps, so that the pivot renders the photo: pixel (L2) plus the
  perceptual term of projection (the shipped offline features network, unit-normalised maps as
  LPIPS; the paper's LPIPS downloads a network, which this app never does).
- The locality regulariser (the paper's section 3.3): every `locality_every` steps, w sampled
  from the mapping (w_z), moved from the pivot toward it by a fixed distance
  (w_r = w_p + alpha (w_z - w_p) / |w_z - w_p|), must render through the tuned network as the
  untuned one renders it (the same pixel + perceptual distance, weighted `locality_weight`).
  The paper's alpha (30) is in FFHQ's w units; here it is `locality_radius` times the model's
  w spread (projection.w_spread), so it carries over to any model.

The weight change is stored compactly as its own small safetensors file (`TUNING_FORMAT`):
per tuned tensor the difference to the base, either in float16 (`storage="half"`) or, for the
convolution and affine weights, as a rank-`rank` product A @ B in float16 (`storage="rank"`,
truncated SVD of the difference; small tensors stay float16 whole); `auto` (the default) takes
float16 for small models (the 64 px demo: 2.1 MB) and rank 64 above 4 MB. The tuned weights are
always base + the decoded difference, computed once in float32, so the file alone decides them:
the image a re-render gives on another machine is the one the tuning showed. Its content hash
(`Tuning.content_hash`: the base model's identity and every stored tensor) is what a latent
state's `tuning` field holds; the file is named by the base model's identity and the photo's hash
(`tunings/<model key>/<photo hash>-<tuning hash>.safetensors` in the data folder).

`apply(model, state)` is the applier of core/synthesis_edits.py: while open, the tuned tensors
are swapped into the synthesis network (the Parameter objects themselves; the originals are put
back on exit, never recomputed by adding and subtracting), so the model is restored exactly.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
import math
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import Cancelled, ConfigError, GanExplorerError, escape_text

TUNING_FORMAT = "gan_explorer.tuning/1"
STORAGES = ("auto", "full", "half", "rank")
AUTO_HALF_BYTES = 4 * 1024**2  # storage="auto": float16 whole up to this size (the 64 px demo's is 2.1 MB)
MAX_TUNING_BYTES = 64 * 1024**2   # a tuning file read from disk or a PNG: far above a 1024 px model's rank-16 file
TUNINGS_FOLDER = "tunings"

__all__ = ["TUNING_FORMAT", "Tuning", "TuningConfig", "TuningResult", "apply", "find_tuning", "load_tuning",
           "register_tuning", "save_tuning", "tune", "tuning_from_embedded", "embed_tuning"]


@dataclass(frozen=True)
class TuningConfig:
    steps: int = 300                 # Adam steps on the weights (the paper: 350 at most)
    learning_rate: float = 3e-3      # Adam's rate on the weights (the paper's 3e-4 is for 1024 px FFHQ; on
                                     # the 64 px demo 3e-3 gains ~1 dB over 1e-3 in 100 steps, measured)
    loss: str = "auto"               # the photo term: l2 or perceptual (auto: perceptual where shipped)
    locality_weight: float = 0.1     # weight of the locality term against the photo term (the paper's 0.1)
    locality_radius: float = 0.5     # how far from the pivot the locality w lie, in w spreads (paper: alpha)
    locality_every: int = 1          # the locality term every this many steps (0: never)
    locality_samples: int = 1        # w drawn per locality step (the paper's 1)
    storage: str = "auto"            # how the change is stored: full (float32), half, rank, or auto: half up
                                     # to AUTO_HALF_BYTES, else rank (on the demo, 300 steps: half loses
                                     # 0.0 dB, rank 64 0.1 dB, rank 16 2.3 dB; measured, see the README)
    rank: int = 64                   # storage="rank": rank of each weight's change
    preview_every: int = 10          # a preview image every this many steps (0: only the last)
    seed: int = 0                    # the locality w

    def validate(self) -> "TuningConfig":
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= 100_000:
            raise ConfigError(f"tuning steps {self.steps!r}: must be an integer from 1 to 100000")
        if self.storage not in STORAGES:
            raise ConfigError(f"tuning storage {self.storage!r}: must be one of {', '.join(STORAGES)}")
        if self.loss not in ("auto", "l2", "perceptual"):
            raise ConfigError(f"tuning loss {self.loss!r}: must be auto, l2 or perceptual")
        for name in ("learning_rate", "locality_weight", "locality_radius"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"tuning {name} {value!r}: must be a finite number >= 0")
        for name, low in (("locality_every", 0), ("locality_samples", 1), ("rank", 1), ("preview_every", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 4096:
                raise ConfigError(f"tuning {name} {value!r}: must be an integer from {low} to 4096")
        return self


# --- the stored tuning ------------------------------------------------------------------------------
@dataclass
class Tuning:
    """A weight change of one base model: `tensors` as stored (see the module docstring), keyed
    "<parameter name of the synthesis network>" (a difference) or "<name>.a" / "<name>.b" (its
    low-rank factors: difference = (a @ b) reshaped to the parameter's shape)."""

    base: str                               # the base model's identity (core/io/identity.model_identity)
    base_tensors: str                       # its memory identity (family, config, tensors): the same model
                                            # opened without its path (a script, the CLI) is recognised
    photo: str                              # sha256 of the photo as the model saw it (uint8 pixels)
    tensors: dict[str, torch.Tensor]
    info: dict = field(default_factory=dict)  # steps, storage, PSNR: written into the file's metadata
    _tuned: dict = field(default_factory=dict, repr=False)  # (id(model), base) -> {name: Parameter}
    _memory: dict = field(default_factory=dict, repr=False)  # the last model checked: its memory identity

    @property
    def content_hash(self) -> str:
        """sha256 (hex) of the base identity and every stored tensor: what LatentState.tuning holds."""
        digest = hashlib.sha256(f"{TUNING_FORMAT}|{self.base}|{self.base_tensors}".encode())
        for name in sorted(self.tensors):
            tensor = self.tensors[name].detach().cpu().contiguous()
            digest.update(f"|{name}|{tensor.dtype}|{list(tensor.shape)}|".encode())
            digest.update(tensor.numpy().tobytes())
        return digest.hexdigest()

    def parameter_names(self) -> list[str]:
        return sorted({name[:-2] if name.endswith((".a", ".b")) else name for name in self.tensors})

    def difference(self, name: str, shape) -> torch.Tensor:
        """The float32 change of parameter `name` (of `shape`), decoded from what is stored."""
        if name in self.tensors:
            return self.tensors[name].to(torch.float32).reshape(shape)
        a, b = self.tensors[f"{name}.a"].to(torch.float32), self.tensors[f"{name}.b"].to(torch.float32)
        return (a @ b).reshape(shape)

    def tuned_parameters(self, synthesis: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
        """{name: base + difference} for `synthesis` (built once per network and kept, so the tuned
        tensors stay alive while the tuning is in use)."""
        params = dict(synthesis.named_parameters())
        # A blend swaps the base tensors' storage: the tuned tensors follow the base they start from.
        key = (id(synthesis), self.base, tuple(params[n].data_ptr() for n in self.parameter_names() if n in params))
        if key not in self._tuned:
            tuned = {}
            for name in self.parameter_names():
                if name not in params:
                    raise ConfigError(f"tuning {self.content_hash[:12]}: the model has no parameter {name!r}")
                base = params[name].detach()
                value = base.to(torch.float32) + self.difference(name, base.shape).to(base.device)
                tuned[name] = torch.nn.Parameter(value.to(base.dtype), requires_grad=False)
            self._tuned = {key: tuned}  # one network at a time: the last one it was applied to
        return self._tuned[key]

    def stored_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors.values())


def _metadata(tuning: Tuning) -> dict[str, str]:
    return {"format": TUNING_FORMAT, "base": tuning.base, "base_tensors": tuning.base_tensors,
            "photo": tuning.photo, "content_hash": tuning.content_hash, "info": json.dumps(tuning.info, sort_keys=True)}


def tuning_bytes(tuning: Tuning) -> bytes:
    """The tuning as a safetensors file's bytes."""
    from safetensors.torch import save

    return save({k: v.detach().cpu().contiguous() for k, v in tuning.tensors.items()}, metadata=_metadata(tuning))


def tuning_from_bytes(data: bytes, source: str = "tuning") -> Tuning:
    """A tuning from a safetensors file's bytes; GanExplorerError, one line naming `source`, for a
    file that is not one (or whose hash does not match its tensors)."""
    from safetensors import safe_open  # noqa: F401  (its error type)
    from safetensors.torch import load

    name = escape_text(source, 300)
    if len(data) > MAX_TUNING_BYTES:
        raise GanExplorerError(f"{name}: {len(data):,} bytes, too large for a tuning")
    try:
        header_length = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_length])
        metadata = header.get("__metadata__") or {}
        tensors = load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError, JSON a ValueError
        raise GanExplorerError(f"{name}: not a tuning file ({escape_text(str(exc), 120)})") from None
    if metadata.get("format") != TUNING_FORMAT:
        raise GanExplorerError(f"{name}: not a tuning file (format {escape_text(str(metadata.get('format')), 60)})")
    try:
        info = json.loads(metadata.get("info", "{}"))
    except ValueError:
        info = {}
    tuning = Tuning(base=str(metadata.get("base", "")), base_tensors=str(metadata.get("base_tensors", "")),
                    photo=str(metadata.get("photo", "")), tensors=tensors, info=info if isinstance(info, dict) else {})
    for key, tensor in tensors.items():
        if tensor.dtype not in (torch.float32, torch.float16) or not torch.isfinite(tensor).all():
            raise GanExplorerError(f"{name}: tensor {escape_text(key, 80)} is not finite float data")
    if metadata.get("content_hash") != tuning.content_hash:
        raise GanExplorerError(f"{name}: damaged tuning (its tensors do not match its content hash)")
    return tuning


def made_for(tuning: Tuning, model) -> bool:
    """Whether `tuning` was made for `model` (by its identity, or its tensors where that is a file's
    identity the model was not opened with)."""
    from gan_explorer.core.io.identity import memory_identity, model_identity

    if model_identity(model) == tuning.base:
        return True
    key = (id(model), tuple(p.data_ptr() for p in model.parameters()))
    if tuning._memory.get("key") != key:
        tuning._memory = {"key": key, "identity": memory_identity(model)}
    return bool(tuning.base_tensors) and tuning._memory["identity"] == tuning.base_tensors


def check_model(tuning: Tuning, model, source: str = "tuning") -> None:
    """ConfigError, one line, where `tuning` was made for another base model than `model`."""
    from gan_explorer.core.io.identity import model_identity

    if not made_for(tuning, model):
        check_base(tuning, model_identity(model), source)


def check_base(tuning: Tuning, identity: str, source: str = "tuning") -> None:
    """ConfigError, one line, where `tuning` was made for another base model than `identity`."""
    if identity not in (tuning.base, tuning.base_tensors):
        raise ConfigError(f"{escape_text(source, 300)}: made for another model (sha256 {tuning.base[:12]}…), "
                          f"not this one ({identity[:12]}…)")


# --- where tunings live -----------------------------------------------------------------------------
_REGISTRY: dict[str, Tuning] = {}   # content hash -> tuning: made or read in this process
_LOCK = threading.Lock()


def register_tuning(tuning: Tuning) -> str:
    """Keep `tuning` in this process (found by its content hash before the data folder is looked at)."""
    key = tuning.content_hash
    with _LOCK:
        _REGISTRY.setdefault(key, tuning)
    return key


def tunings_folder(identity: str, data_dir=None) -> Path:
    from gan_explorer.core.io.identity import identity_key
    from gan_explorer.core.paths import default_data_dir

    return Path(data_dir or default_data_dir()) / TUNINGS_FOLDER / identity_key(identity)


def tuning_path(tuning: Tuning, data_dir=None) -> Path:
    return tunings_folder(tuning.base, data_dir) / f"{tuning.photo[:16]}-{tuning.content_hash[:16]}.safetensors"


def save_tuning(tuning: Tuning, path=None, data_dir=None) -> Path:
    """Write the tuning's file (default: in the data folder, named by model and photo) atomically."""
    from gan_explorer.core.io.atomic import atomic_path

    path = Path(path) if path is not None else tuning_path(tuning, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = tuning_bytes(tuning)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    register_tuning(tuning)
    return path


def load_tuning(path, model=None) -> Tuning:
    """A tuning file; with `model`, refused in one line where it was made for another base model."""
    from gan_explorer.core.io.reading import UserFileError, read_user_file

    try:
        data = read_user_file(path, MAX_TUNING_BYTES, "tuning")
    except UserFileError as exc:
        raise GanExplorerError(f"{escape_text(os.fspath(path), 300)}: cannot read ({exc.reason})") from None
    tuning = tuning_from_bytes(data, os.fspath(path))
    if model is not None:
        check_model(tuning, model, os.fspath(path))
    register_tuning(tuning)
    return tuning


def find_tuning(content_hash: str, identity: str, data_dir=None, model=None, check: bool = True) -> Tuning:
    """The tuning of `content_hash` for the model of `identity` (or `model` itself): this
    process's, else the data folder's; ConfigError, one line, where there is none."""
    with _LOCK:
        tuning = _REGISTRY.get(content_hash)
    if tuning is None:
        folder = tunings_folder(identity, data_dir)
        for path in sorted(folder.glob(f"*-{content_hash[:16]}.safetensors")) if folder.is_dir() else ():
            candidate = load_tuning(path)
            if candidate.content_hash == content_hash:
                tuning = candidate
                break
    if tuning is None:
        raise ConfigError(f"tuning {content_hash[:12]}… is not on this machine (open the PNG it came with, "
                          f"or tune the photo again)")
    if model is not None:
        check_model(tuning, model, f"tuning {content_hash[:12]}…")
    elif check:
        check_base(tuning, identity, f"tuning {content_hash[:12]}…")
    return tuning


# --- in exported PNGs -------------------------------------------------------------------------------
def embed_tuning(content_hash: str, identity: str, data_dir=None) -> dict:
    """The tuning as a JSON-able entry of an export's provenance (its file in base64)."""
    tuning = find_tuning(content_hash, identity, data_dir, check=False)  # carried as it is, checked on use
    return {"content_hash": content_hash, "safetensors_base64": base64.b64encode(tuning_bytes(tuning)).decode()}


def tuning_from_embedded(entry, expected_hash: str = "", source: str = "picture") -> Tuning:
    """The tuning an export carries (see embed_tuning), registered in this process; GanExplorerError,
    one line, where it is damaged or is not the one the state names."""
    name = escape_text(source, 300)
    if not isinstance(entry, dict) or not isinstance(entry.get("safetensors_base64"), str):
        raise GanExplorerError(f"{name}: damaged tuning in its metadata")
    if len(entry["safetensors_base64"]) > MAX_TUNING_BYTES * 4 // 3 + 4:
        raise GanExplorerError(f"{name}: its tuning is too large")
    try:
        data = base64.b64decode(entry["safetensors_base64"], validate=True)
    except ValueError:
        raise GanExplorerError(f"{name}: damaged tuning in its metadata (not base64)") from None
    tuning = tuning_from_bytes(data, f"{source} (its tuning)")
    if expected_hash and tuning.content_hash != expected_hash:
        raise GanExplorerError(f"{name}: the tuning it carries is not the one its state names")
    register_tuning(tuning)
    return tuning


# --- the applier ------------------------------------------------------------------------------------
def _reset_kernel_caches(synthesis: torch.nn.Module) -> None:
    """Layers cache kernels derived from their weight by its storage address and version: a
    swapped tensor could sit where a freed one did, so the caches are dropped on every swap."""
    for module in synthesis.modules():
        if hasattr(module, "_kernel_key"):
            module._kernel_key = None
            module._kernels = None


def _owner(root: torch.nn.Module, name: str):
    *path, attr = name.split(".")
    module = root
    for part in path:
        module = getattr(module, part)
    return module, attr


@contextmanager
def swapped_parameters(synthesis: torch.nn.Module, tuned: dict[str, torch.nn.Parameter]):
    """While open, `synthesis`'s parameters named in `tuned` are those objects; the originals are
    put back on exit (the same Parameter objects, so the model is as it was, bit for bit)."""
    originals = []
    try:
        for name, param in tuned.items():
            module, attr = _owner(synthesis, name)
            originals.append((module, attr, module._parameters[attr]))
            module._parameters[attr] = param
        _reset_kernel_caches(synthesis)
        yield
    finally:
        for module, attr, original in reversed(originals):
            module._parameters[attr] = original
        _reset_kernel_caches(synthesis)


@contextmanager
def apply(model, state):
    """The applier of core/synthesis_edits.py: `model` renders through `state.tuning` while open."""
    from gan_explorer.core.io.identity import model_identity

    synthesis = getattr(model, "synthesis", None)
    if not isinstance(synthesis, torch.nn.Module):
        raise ConfigError(f"a pivotal tuning needs a StyleGAN synthesis network; this {model.family} has none")
    tuning = find_tuning(state.tuning, model_identity(model), model=model)
    with swapped_parameters(synthesis, tuning.tuned_parameters(synthesis)):
        yield


# --- the tuning itself ------------------------------------------------------------------------------
@dataclass
class TuningResult:
    tuning: Tuning
    ws: np.ndarray            # [1, num_ws, w_dim] the pivot (unchanged)
    images: np.ndarray        # [1, H, W, C] uint8: the pivot through the tuned (stored) weights
    pivot_images: np.ndarray  # [1, H, W, C] uint8: the pivot through the base model
    target: np.ndarray        # [1, H, W, C] uint8: the photo as the model sees it
    psnr: float               # dB of `images` against `target`
    pivot_psnr: float         # dB of `pivot_images`
    psnr_unstored: float      # dB with the weights as trained, before they were stored compactly
    psnr_history: np.ndarray  # [steps] dB each step rendered
    seconds: float = 0.0
    steps: int = 0
    storage: str = ""
    stored_bytes: int = 0
    differences: dict = field(default_factory=dict, repr=False)  # the change as trained (float32), not stored


def photo_hash(target_uint8: np.ndarray) -> str:
    """sha256 of the photo as the model sees it (HWC uint8, after crop and resize)."""
    array = np.ascontiguousarray(target_uint8, dtype=np.uint8)
    return hashlib.sha256(f"{list(array.shape)}|".encode() + array.tobytes()).hexdigest()


def compress(differences: dict[str, torch.Tensor], storage: str, rank: int) -> dict[str, torch.Tensor]:
    """Stored form of each parameter's change (see the module docstring); unchanged ones left out."""
    if storage == "auto":
        half = sum(d.numel() * 2 for d in differences.values())
        storage = "half" if half <= AUTO_HALF_BYTES else "rank"
    out = {}
    for name, diff in differences.items():
        diff = diff.detach().to(torch.float32).cpu()
        if not bool(diff.any()):
            continue
        if storage == "full":
            out[name] = diff.contiguous()
            continue
        matrix = diff.reshape(diff.shape[0], -1) if diff.ndim >= 2 else None
        if storage == "rank" and matrix is not None and rank * (sum(matrix.shape)) < matrix.numel():
            u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
            root = s[:rank].sqrt()
            out[f"{name}.a"] = (u[:, :rank] * root).to(torch.float16).contiguous()
            out[f"{name}.b"] = (root[:, None] * vh[:rank]).to(torch.float16).contiguous()
        else:
            out[name] = diff.to(torch.float16).contiguous()
    return out


def _perceptual_parts(loss_fn):
    """(pixel weight, feature maps fn or None) of the photo loss, for the locality term (the loss's
    own forward caches its target's maps by address: locality targets change every step)."""
    maps = getattr(loss_fn, "_maps", None)
    return getattr(loss_fn, "pixel_weight", 1.0), maps, getattr(loss_fn, "feature_weight", 1.0)


def _distance(parts, images, target):
    pixel_weight, maps, feature_weight = parts
    loss = pixel_weight * (images - target).square().flatten(1).mean(1)
    if maps is not None:
        with torch.no_grad():
            target_maps = maps(target)
        for a, b in zip(maps(images), target_maps):
            loss = loss + feature_weight * (a - b).square().sum(dim=1).flatten(1).mean(1)
    return loss


def tune(model, target, pivot_ws, config: TuningConfig | None = None, *, progress=None, should_stop=None,
         **overrides) -> TuningResult:
    """Tune `model`'s synthesis weights (a copy: the model is not changed) so that `pivot_ws`
    [1, num_ws, w_dim] renders `target` (see projection.load_target; one picture). `progress(step,
    total, loss, preview)` as projection's; `should_stop()` before every step (Cancelled)."""
    from gan_explorer.core.io.identity import memory_identity, model_identity
    from gan_explorer.core.io.images import to_uint8
    from gan_explorer.core.latent.losses import make_loss, psnr, psnr_uint8
    from gan_explorer.core.latent.projection import load_target, w_spread

    config = dataclasses.replace(config or TuningConfig(), **overrides).validate()
    synthesis = getattr(model, "synthesis", None)
    if not isinstance(synthesis, torch.nn.Module) or not model.capabilities.has_mapping:
        raise ConfigError(f"pivotal tuning needs a StyleGAN generator (mapping and synthesis); this is {model.family}")
    should_stop = should_stop or (lambda: False)
    t0 = time.perf_counter()
    device = model._device()
    target = load_target(target, model.img_resolution, model.img_channels).to(device)
    if len(target) != 1:
        raise ConfigError(f"pivotal tuning takes one picture at a time, not {len(target)}")
    pivot = torch.as_tensor(np.asarray(pivot_ws, np.float32)).reshape(1, model.num_ws, model.w_dim).to(device)
    identity = model_identity(model)
    tensors_identity = memory_identity(model, identity)
    loss_fn = make_loss("perceptual" if config.loss == "perceptual" else config.loss if config.loss == "l2"
                        else "auto", device).to(device)
    if getattr(loss_fn, "name", "") not in ("perceptual", "l2"):
        loss_fn = make_loss("l2", device)  # auto without the features network: pixels only
    parts = _perceptual_parts(loss_fn)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    radius = config.locality_radius * w_spread(model) if config.locality_every else 0.0

    was_training = model.training
    model.eval()
    tuned = copy.deepcopy(synthesis).train(False)
    base = {name: p.detach().clone() for name, p in synthesis.named_parameters()}
    params = [p.requires_grad_(True) for p in tuned.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.learning_rate)
    history = np.zeros(config.steps, np.float32)
    try:
        with torch.no_grad():
            pivot_image = model.synthesize(pivot, noise_mode="const")
        with torch.enable_grad():
            for step in range(config.steps):
                if should_stop():
                    raise Cancelled("pivotal tuning cancelled")
                image = tuned(pivot, noise_mode="const")
                photo_loss = loss_fn(image, target).sum()
                objective = photo_loss
                if config.locality_every and config.locality_weight > 0 and step % config.locality_every == 0:
                    z = torch.randn(config.locality_samples, model.z_dim, generator=generator).to(device)
                    with torch.no_grad():
                        w_z = model.map(z)
                        offset = w_z - pivot
                        length = offset.flatten(1).norm(dim=1).clamp_min(1e-8).reshape(-1, 1, 1)
                        w_r = pivot + radius * offset / length * math.sqrt(model.num_ws)
                        untuned = model.synthesize(w_r, noise_mode="const")
                    objective = objective + config.locality_weight * _distance(parts, tuned(w_r, noise_mode="const"),
                                                                               untuned).sum()
                optimizer.zero_grad(set_to_none=True)
                objective.backward()
                optimizer.step()
                history[step] = float(psnr(image.detach(), target)[0])
                if progress is not None:
                    last = step + 1 == config.steps
                    show = last or (config.preview_every > 0 and (step + 1) % config.preview_every == 0)
                    progress(step + 1, config.steps, float(photo_loss.detach()),
                             to_uint8(image.detach()[:1])[0] if show else None)
        if should_stop():
            raise Cancelled("pivotal tuning cancelled")
        with torch.no_grad():
            trained = dict(tuned.named_parameters())
            unstored_image = tuned(pivot, noise_mode="const")
            differences = {name: trained[name].detach() - base[name] for name in base}
    finally:
        model.train(was_training)
    target_uint8 = to_uint8(target)
    tuning = Tuning(base=identity, base_tensors=tensors_identity, photo=photo_hash(target_uint8[0]),
                    tensors=compress(differences, config.storage, config.rank))
    # What every later render shows: the pivot through base + the stored change.
    with torch.no_grad(), swapped_parameters(synthesis, tuning.tuned_parameters(synthesis)):
        images = to_uint8(model.synthesize(pivot, noise_mode="const"))
    value = psnr_uint8(images[0], target_uint8[0])
    pivot_uint8 = to_uint8(pivot_image)
    tuning.info = {"steps": config.steps, "storage": config.storage, "rank": config.rank,
                   "psnr": round(value, 3), "pivot_psnr": round(psnr_uint8(pivot_uint8[0], target_uint8[0]), 3)}
    register_tuning(tuning)
    return TuningResult(tuning=tuning, ws=pivot.cpu().numpy(), images=images, pivot_images=pivot_uint8,
                        target=target_uint8, psnr=value, pivot_psnr=tuning.info["pivot_psnr"],
                        psnr_unstored=psnr_uint8(to_uint8(unstored_image)[0], target_uint8[0]),
                        psnr_history=history, seconds=time.perf_counter() - t0, steps=config.steps,
                        storage=config.storage, stored_bytes=len(tuning_bytes(tuning)),
                        differences={k: v.cpu() for k, v in differences.items()})
