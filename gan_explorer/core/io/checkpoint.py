"""Our model format: one .safetensors file = tensors + metadata (family, config JSON, provenance).

safetensors holds only raw tensors and a JSON header, so opening a file can never run code.
Every way a file can be bad becomes one CheckpointError naming the file and the reason.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

import gan_explorer
from gan_explorer.core.errors import CheckpointError, ConfigError
from gan_explorer.core.io.atomic import atomic_path
from gan_explorer.core.models import get_family
from gan_explorer.core.models.registry import family_names

FORMAT_NAME = "gan_explorer"
FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


def save_model(model, path: str | os.PathLike, provenance: dict | None = None) -> Path:
    """Write `model` (any registered family) to `path` atomically."""
    path = Path(path)
    tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in model.state_dict().items()}
    meta_provenance = {"gan_explorer_version": gan_explorer.__version__, "torch_version": torch.__version__}
    meta_provenance.update(provenance or {})
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "family": model.family,
        "config": model.config.to_json(),
        "provenance": json.dumps(meta_provenance, sort_keys=True, default=str),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_metadata(path: str | os.PathLike) -> dict:
    """The header metadata of a checkpoint, validated; raises CheckpointError."""
    path = _check_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as exc:  # safetensors raises several types for malformed files
        raise CheckpointError(path, f"not a readable safetensors file ({_short(exc)})") from None
    if metadata.get("format") != FORMAT_NAME or "family" not in metadata or "config" not in metadata:
        raise CheckpointError(path, "a safetensors file without gan_explorer metadata (family, config)")
    return metadata


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", family: str | None = None):
    """Rebuild the model stored at `path`, in eval mode on `device`.

    `family`, when given, is the family the caller expects; another one is an error.
    """
    path = Path(path)
    metadata = read_metadata(path)
    name = metadata["family"]
    if family is not None and name != family:
        raise CheckpointError(path, f"holds a {name!r} model, expected {family!r}")
    if name not in family_names():
        raise CheckpointError(path, f"unknown model family {name!r} (known: {', '.join(family_names())})")
    cls = get_family(name)
    try:
        config = cls.config_class.from_dict(json.loads(metadata["config"]))
    except (ValueError, TypeError, ConfigError) as exc:
        raise CheckpointError(path, f"invalid {name} config: {_short(exc)}") from None
    try:
        model = cls(config)
    except Exception as exc:
        raise CheckpointError(path, f"cannot build a {name} model from its config: {_short(exc)}") from None
    expected = model.state_dict()
    try:
        with safe_open(str(path), framework="pt") as f:
            stored = set(f.keys())
            _check_names(path, expected.keys(), stored)
            tensors = {}
            for key in expected:
                tensor = f.get_tensor(key)
                _check_tensor(path, key, tensor, expected[key])
                tensors[key] = tensor
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(path, f"truncated or corrupt tensor data ({_short(exc)})") from None
    model.load_state_dict(tensors)
    model.provenance = _parse_json(metadata.get("provenance", "{}"))
    return model.to(device).eval()


def _check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(path, "no such file")
    if path.is_dir():
        raise CheckpointError(path, "is a directory, not a model file")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(path, "empty file (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8:
        raise CheckpointError(path, f"too short to be a model file ({size} bytes)")
    (header_len,) = struct.unpack("<Q", head)
    if header_len > MAX_HEADER_BYTES:
        raise CheckpointError(path, "not a safetensors file (no valid header; random or foreign bytes?)")
    if header_len + 8 > size:
        raise CheckpointError(path, f"truncated: header needs {header_len + 8} bytes, file has {size}")
    return path


def _check_names(path, expected, stored):
    missing = sorted(set(expected) - stored)
    unexpected = sorted(stored - set(expected))
    if missing:
        raise CheckpointError(path, f"missing tensors: {_listing(missing)}")
    if unexpected:
        raise CheckpointError(path, f"unexpected tensors: {_listing(unexpected)}")


def _check_tensor(path, key, tensor, reference):
    if tuple(tensor.shape) != tuple(reference.shape):
        raise CheckpointError(path, f"tensor {key!r} has shape {list(tensor.shape)}, "
                                    f"the config needs {list(reference.shape)}")
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        raise CheckpointError(path, f"tensor {key!r} contains NaN or infinite values")


def _listing(names, limit=5):
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def _short(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _parse_json(text):
    try:
        return json.loads(text)
    except ValueError:
        return {}
