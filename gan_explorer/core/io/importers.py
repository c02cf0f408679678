"""Import the models artists already have: NVIDIA StyleGAN2-ADA / StyleGAN3 network pickles
and rosinality stylegan2-pytorch checkpoints, into our own StyleGAN / StyleGAN3 modules.

Nothing from the files is executed: pickles go through safe_pickle's allow-list, rosinality
checkpoints through torch.load(weights_only=True) (argparse.Namespace allowed for `args`).
Nothing is allocated on a file's word either: a rosinality zip must store its records
uncompressed within the file's length, every tensor is checked against its storage, and the
network the options describe is planned on the meta device and compared with the tensors
present before it is built. Every malformed file is one CheckpointError line.

rosinality's train.py checkpoints carry no `latent_avg` (its generate.py averages the mapping
of 4096 random z when it truncates): without one, w_avg is estimated the same way from a
seeded draw, and a truncation-latent file (.npy, [1, w_dim] or [w_dim]) can be given instead.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import CheckpointError, ConfigError, escape_text
from gan_explorer.core.io.safe_pickle import (
    InertDict, PersistentObject, UnsafePickleError, lint_pickle, module_state_dict, safe_loads,
)
from gan_explorer.core.models.base import planned_state
from gan_explorer.core.models.stylegan import StyleGAN, StyleGANConfig
from gan_explorer.core.models.stylegan3 import StyleGAN3, StyleGAN3Config

MAX_MODEL_FILE_BYTES = 8 * 1024**3  # far beyond any released StyleGAN (1024 px pickles are ~360 MB)
W_AVG_SAMPLES = 4096  # rosinality's generate.py --truncation_mean default
W_AVG_SEED = 0  # a seeded draw (theirs is unseeded), so an import is reproducible
MAX_JSONABLE_NODES = 10000  # provenance copy of _init_kwargs: enough for any real network's options
NETWORK_KEYS = ("G_ema", "G")  # what to explore, in order of preference

# Keyword arguments of NVIDIA's networks that change nothing when rendering in fp32 here.
IGNORED_KWARGS = {"fused_modconv_default", "num_fp16_res", "block_kwargs", "layer_kwargs"}


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_file(path: Path):
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(path, "no such file") from None
    except OSError as exc:
        raise CheckpointError(path, f"cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(path, "is a directory, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(path, "not a regular file (a device, FIFO or socket), not a model file")
    if info.st_size == 0:
        raise CheckpointError(path, "empty file (0 bytes)")
    if info.st_size > MAX_MODEL_FILE_BYTES:
        raise CheckpointError(path, f"too large for a model file ({info.st_size:,} bytes)")


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return escape_text(text[0], 160) if text else type(exc).__name__


def import_nvidia_pickle(path, network: str | None = None):
    """Our model (eval mode, CPU) from an official network pickle; `network` picks G_ema / G."""
    path = Path(path)
    _check_file(path)
    try:
        data = safe_loads(path.read_bytes())
    except UnsafePickleError as exc:
        raise CheckpointError(path, f"unsafe or malformed network pickle: {exc}") from None
    except Exception as exc:  # truncated, corrupt, or merely not a pickle: whatever the unpickler says
        raise CheckpointError(path, f"not a readable network pickle (truncated or corrupt: {type(exc).__name__}"
                                    f"{': ' + _first_line(exc) if str(exc) else ''})") from None
    if not isinstance(data, dict):
        raise CheckpointError(path, "not a network pickle (expected a dict with G_ema)")
    keys = [network] if network else NETWORK_KEYS
    obj = next((data[k] for k in keys if k in data), None)
    if not isinstance(obj, PersistentObject):
        raise CheckpointError(path, f"no generator network ({' or '.join(keys)}) in the pickle")
    try:
        state_dict = module_state_dict(obj)
    except UnsafePickleError as exc:
        raise CheckpointError(path, str(exc)) from None
    kwargs = obj.state.get("_init_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise CheckpointError(path, f"_init_kwargs is a {type(kwargs).__name__}, not a dict of options")
    if not all(isinstance(k, str) for k in kwargs):
        raise CheckpointError(path, "_init_kwargs has a key that is not text")
    try:
        cls, config = _config_from_nvidia(path, obj.class_name, dict(kwargs),
                                          is_sg3="synthesis.input.freqs" in state_dict)
    except CheckpointError:
        raise
    except ConfigError as exc:
        raise CheckpointError(path, f"cannot map the network options to ours: {exc}") from None
    except Exception as exc:  # options of the wrong type or shape: one line, whatever they were
        raise CheckpointError(path, f"cannot map the network options to ours ({type(exc).__name__}: "
                                    f"{_first_line(exc)})") from None
    _check_planned(path, cls, config, state_dict)
    model = _build(path, cls, config)
    _load_checked(path, model, state_dict)
    model.provenance = {"imported_from": path.name, "format": "nvidia-pickle", "class_name": obj.class_name,
                        "init_kwargs": _jsonable(kwargs), "sha256": file_sha256(path)}
    return model.eval()


def _jsonable(value, budget=None, depth=0):
    """A JSON-able copy for provenance, at most MAX_JSONABLE_NODES values and 16 levels deep
    (shared sub-lists in a pickle would otherwise expand exponentially)."""
    budget = budget if budget is not None else [MAX_JSONABLE_NODES]
    budget[0] -= 1
    if budget[0] < 0 or depth > 16:
        return "..."
    if isinstance(value, dict):
        return {escape_text(str(k), 200): _jsonable(v, budget, depth + 1) for k, v in list(value.items())[:1000]}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, budget, depth + 1) for v in list(value)[:1000]]
    if isinstance(value, str):
        return escape_text(value, 1000)
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value if not isinstance(value, int) or abs(value) < 2**63 else str(value)[:40]
    return escape_text(type(value).__name__, 80)


def _build(path, cls, config):
    try:
        return cls(config)
    except ConfigError as exc:
        raise CheckpointError(path, f"cannot map the network options to ours: {exc}") from None
    except Exception as exc:
        raise CheckpointError(path, f"cannot build the network from its options ({type(exc).__name__}: "
                                    f"{_first_line(exc)})") from None


def _check_planned(path, cls, config, state_dict, skip=lambda key: False):
    """The tensors present must be exactly those the config plans, in shape: checked on the
    meta device, before the real network (whose size the file chose) is allocated."""
    try:
        planned = planned_state(cls, config)
    except ConfigError as exc:
        raise CheckpointError(path, str(exc)) from None
    expected = {k: v for k, v in planned.items() if not skip(k)}
    _compare_names(path, expected, {k: v for k, v in state_dict.items() if not skip(k)})
    for key, (shape, _dtype) in expected.items():
        tensor = state_dict[key]
        if tuple(tensor.shape) != shape:
            raise CheckpointError(path, f"tensor {escape_text(repr(key), 120)} has shape {list(tensor.shape)}, "
                                        f"expected {list(shape)}")


def _compare_names(path, expected, present):
    missing = [k for k in expected if k not in present]
    unexpected = [k for k in present if k not in expected]
    if missing or unexpected:
        detail = (f"missing {', '.join(escape_text(k, 80) for k in missing[:4])}" if missing else "") + \
                 ("; " if missing and unexpected else "") + \
                 (f"unexpected {', '.join(escape_text(k, 80) for k in unexpected[:4])}" if unexpected else "")
        raise CheckpointError(path, f"tensors do not match the network's options: {detail}")


def _config_from_nvidia(path, class_name, kwargs, is_sg3):
    kwargs = {k: (dict(v) if isinstance(v, InertDict) else v) for k, v in kwargs.items()}
    for key in ("mapping_kwargs", "synthesis_kwargs"):
        if kwargs.get(key) is not None and not isinstance(kwargs[key], dict):
            raise CheckpointError(path, f"{key} is a {type(kwargs[key]).__name__}, not a dict of options")
    c_dim = kwargs.get("c_dim", 0) or 0
    if isinstance(c_dim, bool) or not isinstance(c_dim, int) or c_dim < 0:
        raise CheckpointError(path, f"c_dim={escape_text(repr(c_dim), 40)}: not a label width")
    if c_dim and is_sg3:
        raise CheckpointError(path, f"conditional StyleGAN3 networks (c_dim={c_dim}) are not supported "
                                    f"(conditional StyleGAN2-ADA networks are)")
    mapping = dict(kwargs.pop("mapping_kwargs", {}) or {})
    synthesis = dict(kwargs.pop("synthesis_kwargs", {}) or {})
    for key in ("z_dim", "w_dim", "img_resolution", "img_channels", "c_dim"):
        kwargs.setdefault(key, None)
    base = {k: kwargs.pop(k) for k in ("z_dim", "w_dim", "img_resolution", "img_channels")}
    kwargs.pop("c_dim")
    if c_dim:  # a one-hot class label embedded into the mapping network; the pickle names no classes
        base["c_dim"] = c_dim
        embed = mapping.get("embed_features")
        if embed is not None and embed != base["w_dim"]:
            raise CheckpointError(path, f"embed_features={escape_text(repr(embed), 40)}: only the default "
                                        f"(w_dim, {base['w_dim']}) is supported")
    synthesis.update(kwargs)  # StyleGAN3-repo pickles keep synthesis kwargs flat
    if "num_layers" in mapping and "mapping_layers" not in mapping:
        mapping["mapping_layers"] = mapping.pop("num_layers")
    mapping_fields = {"mapping_layers": mapping.get("mapping_layers"),
                      "mapping_lr_multiplier": mapping.get("lr_multiplier"),
                      "w_avg_beta": mapping.get("w_avg_beta")}
    unknown_mapping = set(map(str, mapping)) - {"mapping_layers", "lr_multiplier", "w_avg_beta", "layer_features",
                                      "embed_features"}
    if unknown_mapping:
        listed = escape_text(", ".join(sorted(map(str, unknown_mapping))), 200)
        raise CheckpointError(path, f"unsupported mapping options: {listed}")
    if class_name.rsplit(".", 1)[-1] != "Generator":
        raise CheckpointError(path, f"unsupported network class {escape_text(repr(class_name), 120)} "
                                    f"(StyleGAN2/3 generators only)")
    config_cls = StyleGAN3Config if is_sg3 else StyleGANConfig
    fields = set(config_cls.__dataclass_fields__)
    options = {k: v for k, v in {**base, **mapping_fields}.items() if v is not None}
    for key, value in synthesis.items():
        if key in IGNORED_KWARGS and key != "num_fp16_res":
            continue
        if key == "architecture" and value == "skip":
            continue
        if key == "resample_filter" and isinstance(value, (list, tuple)) and list(value) == [1, 3, 3, 1]:
            continue
        if key == "use_noise" and value is True:
            continue
        if key not in fields:
            raise CheckpointError(path, f"unsupported synthesis option {escape_text(str(key), 80)}="
                                        f"{escape_text(repr(value), 80)}")
        options[key] = value
    config = config_cls.from_dict(options)  # types, ranges and finiteness of every value
    return (StyleGAN3 if is_sg3 else StyleGAN), config


def _load_checked(path, model, state_dict):
    expected = model.state_dict()
    _compare_names(path, expected, state_dict)
    converted = {}
    for key, ref in expected.items():
        tensor = state_dict[key]
        shown = escape_text(repr(key), 120)
        if tuple(tensor.shape) != tuple(ref.shape):
            raise CheckpointError(path, f"tensor {shown} has shape {list(tensor.shape)}, expected {list(ref.shape)}")
        if not (tensor.is_floating_point() or tensor.dtype in (torch.int64, torch.int32, torch.bool)):
            raise CheckpointError(path, f"tensor {shown} holds {tensor.dtype} data, not numbers")
        tensor = tensor.to(ref.dtype)
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(path, f"tensor {shown} contains NaN or infinite values")
        converted[key] = tensor
    model.load_state_dict(converted)


# ---- rosinality stylegan2-pytorch -------------------------------------------------------

def _check_torch_zip(path):
    """A torch.save archive stores its records uncompressed: refuse compressed records (a 3 MB
    zip can inflate to gigabytes), records past the file's length, and a malformed data.pkl."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = 0
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED:
                    raise CheckpointError(path, f"record {escape_text(info.filename, 120)} is compressed "
                                                f"(torch.save never compresses; refusing to inflate it)")
                total += info.file_size
                if info.file_size > size or total > size:
                    raise CheckpointError(path, "its records claim more bytes than the file holds")
            pickles = [i for i in infos if i.filename.endswith("data.pkl")]
            if len(pickles) != 1:
                raise CheckpointError(path, "not a PyTorch checkpoint (no single data.pkl record)")
            lint_pickle(archive.read(pickles[0]))
    except CheckpointError:
        raise
    except UnsafePickleError as exc:
        raise CheckpointError(path, f"unsafe or malformed checkpoint: {exc}") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise CheckpointError(path, f"not a readable PyTorch checkpoint ({_first_line(exc)})") from None


def _torch_load_safe(path):
    _check_torch_zip(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = _first_line(exc)
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            reason = "holds Python objects this loader will not run (" + reason[:120] + ")"
        raise CheckpointError(path, f"not a readable PyTorch checkpoint: {reason}") from None


def _sd_tensor(path, sd, key, ndim=None):
    """sd[key] as a finite-sized float tensor that fits its storage, or one CheckpointError line."""
    if key not in sd:
        raise CheckpointError(path, f"not a complete rosinality checkpoint: tensor {escape_text(repr(key), 120)} "
                                    f"is missing")
    tensor = sd[key]
    shown = escape_text(repr(key), 120)
    if not isinstance(tensor, torch.Tensor):
        raise CheckpointError(path, f"{shown} is a {type(tensor).__name__}, not a tensor")
    if not tensor.is_floating_point():
        raise CheckpointError(path, f"{shown} holds {tensor.dtype} data, not floating point")
    if ndim is not None and tensor.ndim != ndim:
        raise CheckpointError(path, f"{shown} has {tensor.ndim} dimensions {list(tensor.shape)}, expected {ndim}")
    storage_elements = tensor.untyped_storage().nbytes() // max(tensor.element_size(), 1)
    if tensor.numel() > storage_elements:  # a stride-0 view: copying it would allocate what the file never held
        raise CheckpointError(path, f"{shown} has {tensor.numel():,} elements over a storage of {storage_elements:,}")
    return tensor


def import_rosinality(path, truncation_latent=None):
    """Our StyleGAN from a rosinality checkpoint ({'g_ema': ..., 'latent_avg': ...}, or a bare g_ema).

    truncation_latent: a .npy file (or tensor) for w_avg; else the checkpoint's latent_avg; else
    the mean of the mapping of W_AVG_SAMPLES seeded z, as rosinality's generate.py computes it.
    """
    path = Path(path)
    _check_file(path)
    data = _torch_load_safe(path)
    if not isinstance(data, dict):
        raise CheckpointError(path, "not a rosinality checkpoint (expected a dict)")
    sd = data.get("g_ema", data)
    if not isinstance(sd, dict) or "style.1.weight" not in sd or "input.input" not in sd:
        raise CheckpointError(path, "not a rosinality stylegan2 checkpoint (no g_ema with style.* and input.input)")
    if not all(isinstance(k, str) for k in sd):
        raise CheckpointError(path, "a state dict key that is not text")
    styles = [int(m.group(1)) for k in sd if (m := re.match(r"style\.(\d+)\.weight$", k))]
    n_mlp = max(styles)
    if sorted(styles) != list(range(1, n_mlp + 1)) or n_mlp > 64:
        raise CheckpointError(path, f"mapping layers style.1..{n_mlp} are not complete (found {len(styles)})")
    w_dim, z_dim = _sd_tensor(path, sd, "style.1.weight", 2).shape
    channels = {4: int(_sd_tensor(path, sd, "input.input", 4).shape[1])}
    conv_ids = {int(m.group(1)) for k in sd if (m := re.match(r"convs\.(\d+)\.", k))}
    n_convs = len(conv_ids)
    if conv_ids != set(range(n_convs)) or n_convs % 2 or n_convs > 16:
        raise CheckpointError(path, f"synthesis layers convs.* are not complete pairs (found {sorted(conv_ids)[:10]})")
    resolution = 4 * 2 ** (n_convs // 2)
    for i in range(n_convs // 2):
        channels[8 * 2**i] = int(_sd_tensor(path, sd, f"convs.{2 * i}.conv.weight", 5).shape[1])
    channel_max = channels[4]
    channel_base = channels[resolution] * resolution
    if any(min(channel_base // r, channel_max) != c for r, c in channels.items()):
        raise CheckpointError(path, f"channel widths {channels} do not follow channel_base/channel_max")
    lr_mul = 0.01
    args = data.get("args")
    if isinstance(args, argparse.Namespace):
        lr_mul = getattr(args, "lr_mlp", lr_mul)
    try:
        config = StyleGANConfig.from_dict(dict(
            z_dim=int(z_dim), w_dim=int(w_dim), img_resolution=resolution, mapping_layers=n_mlp,
            mapping_lr_multiplier=lr_mul, channel_base=channel_base, channel_max=channel_max))
    except ConfigError as exc:
        raise CheckpointError(path, f"cannot map the checkpoint's options to ours: {exc}") from None
    block_resolutions = [2**i for i in range(2, resolution.bit_length())]
    w_avg, w_avg_source = _rosinality_w_avg(path, data.get("latent_avg"), truncation_latent, int(w_dim))
    converted = _rosinality_names(path, sd, config, block_resolutions, w_avg)
    # Our resampling filters are buffers of the model itself (rosinality keeps them as kernels).
    _check_planned(path, StyleGAN, config, converted, skip=lambda key: key.endswith("resample_filter"))
    model = _build(path, StyleGAN, config)
    for key, value in model.state_dict().items():
        if key.endswith("resample_filter"):
            converted[key] = value
    _load_checked(path, model, converted)
    if w_avg is None:
        model.mapping.w_avg.copy_(estimate_w_avg(model))
    model.provenance = {"imported_from": path.name, "format": "rosinality", "sha256": file_sha256(path),
                        "w_avg": w_avg_source}
    return model.eval()


def _rosinality_w_avg(path, latent_avg, truncation_latent, w_dim):
    """(w_avg tensor or None to estimate, where it came from)."""
    if truncation_latent is not None:
        if isinstance(truncation_latent, torch.Tensor):
            tensor, source = truncation_latent, "given truncation latent"
        else:
            tensor, source = read_truncation_latent(truncation_latent, w_dim), \
                f"truncation latent file {Path(truncation_latent).name}"
    elif isinstance(latent_avg, torch.Tensor):
        tensor, source = _sd_tensor(path, {"latent_avg": latent_avg}, "latent_avg"), "latent_avg of the checkpoint"
    else:
        return None, (f"estimated: mean of the mapping of {W_AVG_SAMPLES} z drawn with torch seed {W_AVG_SEED} "
                      f"(rosinality's generate.py mean_latent; the checkpoint has no latent_avg)")
    if tensor.numel() != w_dim:
        raise CheckpointError(path, f"the truncation latent has {tensor.numel()} values, the network's w has {w_dim}")
    return tensor.reshape(w_dim).to(torch.float32), source


def read_truncation_latent(file, w_dim: int) -> torch.Tensor:
    """A truncation latent (w_avg) from a .npy file: [w_dim] or [1, w_dim], finite."""
    from gan_explorer.core.latent.files import read_npy

    array = read_npy(file, max_elements=w_dim)
    if array.size != w_dim or array.ndim > 2:
        raise CheckpointError(file, f"a truncation latent of shape {list(array.shape)}, expected [1, {w_dim}]")
    if not np.isfinite(array).all():
        raise CheckpointError(file, "the truncation latent contains NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32).reshape(w_dim))


@torch.no_grad()
def estimate_w_avg(model, samples: int = W_AVG_SAMPLES, seed: int = W_AVG_SEED) -> torch.Tensor:
    """rosinality's mean_latent: the mean of mapping(z) over `samples` z ~ N(0, I), here seeded."""
    z = torch.randn(samples, model.z_dim, generator=torch.Generator().manual_seed(seed))
    return model.map(z.to(model._device()))[:, 0].mean(dim=0).cpu()


def _rosinality_names(path, sd, config, block_resolutions, w_avg):
    def get(key, ndim=None):
        return _sd_tensor(path, sd, key, ndim)

    out = {}
    for i in range(config.mapping_layers):
        out[f"mapping.fc{i}.weight"] = get(f"style.{i + 1}.weight", 2)
        out[f"mapping.fc{i}.bias"] = get(f"style.{i + 1}.bias", 1)
    out["mapping.w_avg"] = w_avg if w_avg is not None else torch.zeros(config.w_dim)
    out["synthesis.b4.const"] = get("input.input", 4)[0]

    def styled(dst, src, noise_key):
        out[f"{dst}.weight"] = get(f"{src}.conv.weight", 5)[0]
        out[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight", 2)
        out[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias", 1)
        out[f"{dst}.noise_strength"] = _scalar(path, get(f"{src}.noise.weight"), f"{src}.noise.weight")
        out[f"{dst}.bias"] = get(f"{src}.activate.bias", 1)
        out[f"{dst}.noise_const"] = get(noise_key, 4)[0, 0]

    def torgb(dst, src):
        out[f"{dst}.weight"] = get(f"{src}.conv.weight", 5)[0]
        out[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight", 2)
        out[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias", 1)
        out[f"{dst}.bias"] = get(f"{src}.bias", 4).flatten()

    styled("synthesis.b4.conv1", "conv1", "noises.noise_0")
    torgb("synthesis.b4.torgb", "to_rgb1")
    for i, res in enumerate(block_resolutions[1:]):
        styled(f"synthesis.b{res}.conv0", f"convs.{2 * i}", f"noises.noise_{2 * i + 1}")
        styled(f"synthesis.b{res}.conv1", f"convs.{2 * i + 1}", f"noises.noise_{2 * i + 2}")
        torgb(f"synthesis.b{res}.torgb", f"to_rgbs.{i}")
    return out


def _scalar(path, tensor, key):
    if tensor.numel() != 1:
        raise CheckpointError(path, f"{escape_text(repr(key), 120)} has shape {list(tensor.shape)}, expected [1]")
    return tensor.reshape([])


def import_model(path: str | os.PathLike, truncation_latent=None):
    """Dispatch on the file's content: a pickle (NVIDIA) or a zip torch.save (rosinality).

    truncation_latent: a .npy file whose w replaces the network's w_avg (the centre of truncation).
    """
    path = Path(path)
    _check_file(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"PK":
        return import_rosinality(path, truncation_latent=truncation_latent)
    if head[:1] == b"\x80":
        model = import_nvidia_pickle(path)
        if truncation_latent is not None:
            w_avg = read_truncation_latent(truncation_latent, model.w_dim)
            model.mapping.w_avg.copy_(w_avg)
            model.provenance["w_avg"] = f"truncation latent file {Path(truncation_latent).name}"
        return model
    raise CheckpointError(path, "neither a network pickle nor a PyTorch checkpoint")
