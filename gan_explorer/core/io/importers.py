"""Import the models artists already have: NVIDIA StyleGAN2-ADA / StyleGAN3 network pickles
and rosinality stylegan2-pytorch checkpoints, into our own StyleGAN / StyleGAN3 modules.

Nothing from the files is executed: pickles go through safe_pickle's allow-list, rosinality
checkpoints through torch.load(weights_only=True) (argparse.Namespace allowed for `args`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import re
from pathlib import Path

import torch

from gan_explorer.core.errors import CheckpointError
from gan_explorer.core.io.safe_pickle import InertDict, PersistentObject, UnsafePickleError, module_state_dict, safe_load
from gan_explorer.core.models.stylegan import StyleGAN, StyleGANConfig
from gan_explorer.core.models.stylegan3 import StyleGAN3, StyleGAN3Config

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
    if not path.exists():
        raise CheckpointError(path, "no such file")
    if path.is_dir():
        raise CheckpointError(path, "is a directory, not a model file")
    if path.stat().st_size == 0:
        raise CheckpointError(path, "empty file (0 bytes)")


def import_nvidia_pickle(path, network: str | None = None):
    """Our model (eval mode, CPU) from an official network pickle; `network` picks G_ema / G."""
    path = Path(path)
    _check_file(path)
    try:
        with open(path, "rb") as f:
            data = safe_load(f)
    except UnsafePickleError as exc:
        raise CheckpointError(path, f"unsafe or malformed network pickle: {exc}") from None
    except (EOFError, pickle.UnpicklingError, ValueError, IndexError, TypeError, AttributeError,
            MemoryError, RecursionError, UnicodeDecodeError) as exc:
        raise CheckpointError(path, f"not a readable network pickle (truncated or corrupt: {type(exc).__name__})") from None
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
    kwargs = dict(obj.state.get("_init_kwargs") or {})
    model = _build_from_nvidia(path, obj.class_name, kwargs, is_sg3="synthesis.input.freqs" in state_dict)
    _load_checked(path, model, state_dict)
    model.provenance = {"imported_from": path.name, "format": "nvidia-pickle", "class_name": obj.class_name,
                        "init_kwargs": _jsonable(kwargs), "sha256": file_sha256(path)}
    return model.eval()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _build_from_nvidia(path, class_name, kwargs, is_sg3):
    kwargs = {k: (dict(v) if isinstance(v, InertDict) else v) for k, v in kwargs.items()}
    if int(kwargs.get("c_dim", 0) or 0) != 0:
        raise CheckpointError(path, f"conditional networks (c_dim={kwargs['c_dim']}) are not supported yet")
    mapping = dict(kwargs.pop("mapping_kwargs", {}) or {})
    synthesis = dict(kwargs.pop("synthesis_kwargs", {}) or {})
    for key in ("z_dim", "w_dim", "img_resolution", "img_channels", "c_dim"):
        kwargs.setdefault(key, None)
    base = {k: kwargs.pop(k) for k in ("z_dim", "w_dim", "img_resolution", "img_channels")}
    kwargs.pop("c_dim")
    synthesis.update(kwargs)  # StyleGAN3-repo pickles keep synthesis kwargs flat
    if "num_layers" in mapping and "mapping_layers" not in mapping:
        mapping["mapping_layers"] = mapping.pop("num_layers")
    mapping_fields = {"mapping_layers": mapping.get("mapping_layers"),
                      "mapping_lr_multiplier": mapping.get("lr_multiplier"),
                      "w_avg_beta": mapping.get("w_avg_beta")}
    unknown_mapping = set(mapping) - {"mapping_layers", "lr_multiplier", "w_avg_beta", "layer_features",
                                      "embed_features"}
    if unknown_mapping:
        raise CheckpointError(path, f"unsupported mapping options: {', '.join(sorted(unknown_mapping))}")
    if class_name.rsplit(".", 1)[-1] != "Generator":
        raise CheckpointError(path, f"unsupported network class {class_name!r} (StyleGAN2/3 generators only)")
    config_cls = StyleGAN3Config if is_sg3 else StyleGANConfig
    fields = set(config_cls.__dataclass_fields__)
    options = {k: v for k, v in {**base, **mapping_fields}.items() if v is not None}
    for key, value in synthesis.items():
        if key in IGNORED_KWARGS and key != "num_fp16_res":
            continue
        if key == "architecture" and value == "skip":
            continue
        if key == "resample_filter" and list(value) == [1, 3, 3, 1]:
            continue
        if key == "use_noise" and value:
            continue
        if key not in fields:
            raise CheckpointError(path, f"unsupported synthesis option {key}={value!r}")
        options[key] = value
    try:
        config = config_cls.from_dict(options)
    except Exception as exc:
        raise CheckpointError(path, f"cannot map the network options to ours: {exc}") from None
    return (StyleGAN3 if is_sg3 else StyleGAN)(config)


def _load_checked(path, model, state_dict):
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        detail = (f"missing {', '.join(missing[:4])}" if missing else "") + \
                 ("; " if missing and unexpected else "") + \
                 (f"unexpected {', '.join(unexpected[:4])}" if unexpected else "")
        raise CheckpointError(path, f"tensors do not match the network's options: {detail}")
    converted = {}
    for key, ref in expected.items():
        tensor = state_dict[key]
        if tuple(tensor.shape) != tuple(ref.shape):
            raise CheckpointError(path, f"tensor {key!r} has shape {list(tensor.shape)}, expected {list(ref.shape)}")
        tensor = tensor.to(ref.dtype)
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(path, f"tensor {key!r} contains NaN or infinite values")
        converted[key] = tensor
    model.load_state_dict(converted)


# ---- rosinality stylegan2-pytorch -------------------------------------------------------

def _torch_load_safe(path):
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        reason = text[0][:200] if text else type(exc).__name__
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            reason = "holds Python objects this loader will not run (" + reason[:120] + ")"
        raise CheckpointError(path, f"not a readable PyTorch checkpoint: {reason}") from None


def import_rosinality(path):
    """Our StyleGAN from a rosinality checkpoint ({'g_ema': ..., 'latent_avg': ...}, or a bare g_ema)."""
    path = Path(path)
    _check_file(path)
    data = _torch_load_safe(path)
    if not isinstance(data, dict):
        raise CheckpointError(path, "not a rosinality checkpoint (expected a dict)")
    sd = data.get("g_ema", data)
    if not isinstance(sd, dict) or "style.1.weight" not in sd or "input.input" not in sd:
        raise CheckpointError(path, "not a rosinality stylegan2 checkpoint (no g_ema with style.* and input.input)")
    n_mlp = max(int(m.group(1)) for k in sd if (m := re.match(r"style\.(\d+)\.weight$", k)))
    w_dim, z_dim = sd["style.1.weight"].shape
    channels = {4: int(sd["input.input"].shape[1])}
    n_convs = len({int(m.group(1)) for k in sd if (m := re.match(r"convs\.(\d+)\.", k))})
    resolution = 4 * 2 ** (n_convs // 2)
    for i in range(n_convs // 2):
        channels[8 * 2**i] = int(sd[f"convs.{2 * i}.conv.weight"].shape[1])
    channel_max = channels[4]
    channel_base = channels[resolution] * resolution
    if any(min(channel_base // r, channel_max) != c for r, c in channels.items()):
        raise CheckpointError(path, f"channel widths {channels} do not follow channel_base/channel_max")
    lr_mul = 0.01
    args = data.get("args")
    if isinstance(args, argparse.Namespace):
        lr_mul = getattr(args, "lr_mlp", lr_mul)
    config = StyleGANConfig(z_dim=int(z_dim), w_dim=int(w_dim), img_resolution=resolution, mapping_layers=n_mlp,
                            mapping_lr_multiplier=lr_mul, channel_base=channel_base, channel_max=channel_max)
    model = StyleGAN(config)
    converted = _rosinality_names(sd, model, data.get("latent_avg"))
    _load_checked(path, model, converted)
    model.provenance = {"imported_from": path.name, "format": "rosinality", "sha256": file_sha256(path)}
    return model.eval()


def _rosinality_names(sd, model, latent_avg):
    out = {}
    for i in range(model.config.mapping_layers):
        out[f"mapping.fc{i}.weight"] = sd[f"style.{i + 1}.weight"]
        out[f"mapping.fc{i}.bias"] = sd[f"style.{i + 1}.bias"]
    out["mapping.w_avg"] = latent_avg.reshape(-1) if isinstance(latent_avg, torch.Tensor) else torch.zeros(model.w_dim)
    out["synthesis.b4.const"] = sd["input.input"][0]

    def styled(dst, src, noise_key):
        out[f"{dst}.weight"] = sd[f"{src}.conv.weight"][0]
        out[f"{dst}.affine.weight"] = sd[f"{src}.conv.modulation.weight"]
        out[f"{dst}.affine.bias"] = sd[f"{src}.conv.modulation.bias"]
        out[f"{dst}.noise_strength"] = sd[f"{src}.noise.weight"].reshape([])
        out[f"{dst}.bias"] = sd[f"{src}.activate.bias"]
        out[f"{dst}.noise_const"] = sd[noise_key][0, 0]

    def torgb(dst, src):
        out[f"{dst}.weight"] = sd[f"{src}.conv.weight"][0]
        out[f"{dst}.affine.weight"] = sd[f"{src}.conv.modulation.weight"]
        out[f"{dst}.affine.bias"] = sd[f"{src}.conv.modulation.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(-1)

    styled("synthesis.b4.conv1", "conv1", "noises.noise_0")
    torgb("synthesis.b4.torgb", "to_rgb1")
    for i, res in enumerate(model.synthesis.block_resolutions[1:]):
        styled(f"synthesis.b{res}.conv0", f"convs.{2 * i}", f"noises.noise_{2 * i + 1}")
        styled(f"synthesis.b{res}.conv1", f"convs.{2 * i + 1}", f"noises.noise_{2 * i + 2}")
        torgb(f"synthesis.b{res}.torgb", f"to_rgbs.{i}")
    # Our resampling filters are buffers of the model itself (rosinality keeps them as kernels).
    for key, value in model.state_dict().items():
        if key.endswith("resample_filter"):
            out[key] = value
    return out


def import_model(path: str | os.PathLike):
    """Dispatch on the file's content: a pickle (NVIDIA) or a zip torch.save (rosinality)."""
    path = Path(path)
    _check_file(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"PK":
        return import_rosinality(path)
    if head[:1] == b"\x80":
        return import_nvidia_pickle(path)
    raise CheckpointError(path, "neither a network pickle nor a PyTorch checkpoint")
