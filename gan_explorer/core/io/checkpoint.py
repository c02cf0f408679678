"""Our model format: one .safetensors file = tensors + metadata (family, config JSON, provenance).

safetensors holds only raw tensors and a JSON header, so opening a file can never run code.
Every way a file can be bad becomes one CheckpointError naming the file and the reason.

Nothing is allocated on the file's word: the header is parsed here first (duplicate keys,
dtypes, shapes and offsets checked against the file's length), the config is validated
(types, finite numbers, bounded integers), and the model it describes is planned on torch's
meta device and compared tensor by tensor (name, shape, dtype) with the header before the
real model is built. A config that asks for gigabytes is refused before any byte of it exists.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

import gan_explorer
from gan_explorer.core.errors import CheckpointError, ConfigError, escape_text
from gan_explorer.core.io.atomic import atomic_write_bytes
from gan_explorer.core.io.reading import UserFileError, open_regular, parse_json_text
from gan_explorer.core.models import get_family
from gan_explorer.core.models.base import planned_state
from gan_explorer.core.models.registry import family_names

FORMAT_NAME = "gan_explorer"
FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
MAX_JSON_DEPTH = 32  # config / provenance nesting (ours are 2-3 deep)
DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


def save_model(model, path: str | os.PathLike, provenance: dict | None = None) -> Path:
    """Write `model` (any registered family) to `path` atomically."""
    path = Path(path)
    tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in model.state_dict().items()}
    meta_provenance = {"gan_explorer_version": gan_explorer.__version__, "torch_version": torch.__version__}
    meta_provenance.update(shareable_provenance(provenance or {}))
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "family": model.family,
        "config": model.config.to_json(),
        "provenance": json.dumps(meta_provenance, sort_keys=True, default=str),
    }
    # Serialised in memory, then written by us: a full disk is one line naming the file and the
    # bytes needed, not a writer's chained traceback.
    atomic_write_bytes(path, safetensors_bytes(tensors, metadata=metadata))
    return path


# Provenance values that name the training data: a path among them keeps only its last name.
DATA_KEYS = ("data", "data_b")


def shareable_provenance(provenance: dict) -> dict:
    """What a model file may tell whoever it is given to: no folder of the machine that wrote it.

    A data spec stays (`faces:64`, `digits`); one that is a path keeps its last name
    (`/home/ann/photos` -> `photos`). Any other value that is an absolute or home-relative path
    (a run directory, say) is dropped, at any depth; everything else is kept as it is.
    """
    def clean(value, key=None):
        if isinstance(value, dict):
            return {k: clean(v, k) for k, v in value.items() if not is_local_path(v) or k in DATA_KEYS}
        if isinstance(value, list):
            return [clean(v) for v in value if not is_local_path(v)]
        if key in DATA_KEYS and isinstance(value, str) and ("/" in value or "\\" in value):
            return last_name(value)
        return value

    return clean(dict(provenance))


def is_local_path(value) -> bool:
    """An absolute path (POSIX, Windows drive or share) or one from a home folder (~)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith(("/", "~", "\\")) or (len(text) > 2 and text[1] == ":" and text[2] in "/\\")


def last_name(path: str) -> str:
    """The last component of a POSIX or Windows path (`/a/b/` -> `b`)."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def read_metadata(path: str | os.PathLike) -> dict:
    """The header metadata of a checkpoint, validated; raises CheckpointError."""
    return read_header(path)[1]


def read_header(path: str | os.PathLike) -> tuple[dict, dict]:
    """({tensor name: (shape, dtype)}, metadata) from a checkpoint's header, checked against the file."""
    tensors, metadata = read_safetensors_header(path)
    if metadata.get("format") != FORMAT_NAME or "family" not in metadata or "config" not in metadata:
        raise CheckpointError(path, "a safetensors file without gan_explorer metadata (family, config)")
    return tensors, metadata


def read_safetensors_header(path: str | os.PathLike) -> tuple[dict, dict]:
    """({tensor name: (shape, dtype)}, metadata) of any safetensors file, read and checked against
    the file's length before a tensor is touched (model files, encoders)."""
    path = _check_file(path)
    try:
        with open_regular(path, "model file") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            raw = f.read(header_len)
            size = os.fstat(f.fileno()).st_size
    except UserFileError as exc:
        raise CheckpointError(path, exc.reason) from None
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise CheckpointError(path, f"the header names {escape_text(repr(exc.args[0]), 120)} twice") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CheckpointError(path, "not a safetensors file (the header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(path, "not a safetensors file (the header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(path, "not a safetensors file (its metadata is not text)")
    data_len = size - 8 - header_len
    tensors = {}
    for name, entry in header.items():
        tensors[name] = _header_entry(path, name, entry, data_len)
    return tensors, metadata


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _header_entry(path, name, entry, data_len):
    shown = escape_text(repr(name), 120)
    try:
        dtype = DTYPES[entry["dtype"]]
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in (*shape, begin, end)):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(path, f"tensor {shown}: malformed header entry") from None
    numel = 1
    for d in shape:
        numel *= d
    nbytes = numel * torch.empty((), dtype=dtype).element_size()
    if not begin <= end <= data_len or end - begin != nbytes:
        raise CheckpointError(path, f"tensor {shown}: its {list(shape)} {entry['dtype']} data does not fit "
                                    f"the offsets {begin}-{end} (file data: {data_len:,} bytes)")
    return shape, dtype


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", family: str | None = None):
    """Rebuild the model stored at `path`, in eval mode on `device`.

    `family`, when given, is the family the caller expects; another one is an error.
    """
    path = Path(path)
    stored, metadata = read_header(path)
    name = metadata["family"]
    if family is not None and name != family:
        raise CheckpointError(path, f"holds a {escape_text(repr(name), 60)} model, expected {family!r}")
    if name not in family_names():
        raise CheckpointError(path, f"unknown model family {escape_text(repr(name), 60)} "
                                    f"(known: {', '.join(family_names())})")
    cls = get_family(name)
    try:
        config = cls.config_class.from_dict(parse_json(metadata["config"], "config"))
        planned = planned_state(cls, config)
    except (ValueError, TypeError, ConfigError) as exc:
        raise CheckpointError(path, f"invalid {name} config: {_short(exc)}") from None
    # Compared before anything real is built: the file must hold exactly what the config needs.
    _check_names(path, planned.keys(), set(stored))
    for key, (shape, dtype) in planned.items():
        if stored[key][0] != shape:
            raise CheckpointError(path, f"tensor {escape_text(repr(key), 120)} has shape {list(stored[key][0])}, "
                                        f"the config needs {list(shape)}")
        if stored[key][1] != dtype:
            raise CheckpointError(path, f"tensor {escape_text(repr(key), 120)} holds "
                                        f"{DTYPE_NAMES[stored[key][1]]} data, the model needs "
                                        f"{DTYPE_NAMES.get(dtype, str(dtype))}")
    try:
        model = cls(config)
    except ConfigError as exc:
        raise CheckpointError(path, f"invalid {name} config: {_short(exc)}") from None
    except Exception as exc:
        raise CheckpointError(path, f"cannot build a {name} model from its config: {_short(exc)}") from None
    expected = model.state_dict()
    try:
        with safe_open(str(path), framework="pt") as f:
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
    try:
        provenance = parse_json(metadata.get("provenance", "{}"), "provenance")
    except ValueError:
        provenance = {}  # provenance is information, not something the model needs
    model.provenance = provenance if isinstance(provenance, dict) else {}
    return model.to(device).eval()


def parse_json(text: str, what: str):
    """JSON text from a file, nested at most MAX_JSON_DEPTH deep; ValueError (one line) otherwise."""
    try:
        return parse_json_text(text, MAX_JSON_DEPTH)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _check_file(path) -> Path:
    path = Path(path)
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
    size = info.st_size
    if size == 0:
        raise CheckpointError(path, "empty file (0 bytes)")
    try:
        with open_regular(path, "model file") as f:
            head = f.read(8)
    except UserFileError as exc:
        raise CheckpointError(path, exc.reason) from None
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
        raise CheckpointError(path, f"tensor {escape_text(repr(key), 120)} has shape {list(tensor.shape)}, "
                                    f"the config needs {list(reference.shape)}")
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        raise CheckpointError(path, f"tensor {key!r} contains NaN or infinite values")


def _listing(names, limit=5):
    shown = ", ".join(escape_text(n, 100) for n in names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def _short(exc) -> str:
    text = str(exc).strip().splitlines()
    return escape_text(text[0], 200) if text else type(exc).__name__
