"""A pickle reader for NVIDIA's network pickles that never runs code from the file.

Pickle can call any function the file names. This reader answers only an explicit list of
names, each with an inert replacement: network objects become plain containers of their
state (the embedded module source is kept as text, never executed), tensors are rebuilt
from storage bytes that this module parses itself (the real torch.storage._load_from_bytes
would unpickle bytes from the file with torch's unrestricted loader), and numpy arrays and
scalars are rebuilt without object dtypes. Every other name is refused.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import threading
from collections import OrderedDict

import numpy as np
import torch

from gan_explorer.core.errors import escape_text

MAX_STORAGE_BYTES = 8 * 1024**3
# Bytes of tensors, storages and arrays a file may unpack to: a network pickle holds each
# tensor once (plus small views), so twice its own length and some slack is generous.
BUDGET_FACTOR, BUDGET_SLACK = 2, 64 * 1024**2
MAX_SAME_HASH = 32  # distinct numbers sharing one hash value (a legitimate file has a handful at most)
MAX_MODULE_DEPTH = 64  # nesting of _modules in a network (NVIDIA's are under 10 deep)
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}


class UnsafePickleError(pickle.UnpicklingError):
    """The file names something this reader will not run, or its data is inconsistent."""


class PersistentObject:
    """What `torch_utils.persistence._reconstruct_persistent_obj(meta)` stands for: just the meta."""

    def __init__(self, meta):
        if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
            raise UnsafePickleError("a persistent object without a state dict")
        self.meta = meta

    @property
    def class_name(self) -> str:
        return str(self.meta.get("class_name", ""))

    @property
    def state(self) -> dict:
        return self.meta["state"]


class InertDict(dict):
    """Stands for dnnlib.util.EasyDict: a dict, nothing more."""


class InertModule:
    """Stands for a plain torch.nn module inside a network: its __dict__ only."""

    @property
    def state(self) -> dict:
        return self.__dict__


INERT_CLASSES = (InertDict, InertModule, OrderedDict, dict)
PLAIN_TORCH_MODULES = {
    ("torch.nn.modules.container", n) for n in ("Sequential", "ModuleList", "ModuleDict")
} | {("torch.nn.modules.linear", "Identity"), ("torch.nn.modules.linear", "Linear")}


def _safe_dtype(obj, align=False, copy=False):
    dtype = np.dtype(obj, align, copy)
    if dtype.hasobject:
        raise UnsafePickleError("numpy object arrays are not allowed")
    return dtype


class _NdarrayName:
    """What the pickle's `numpy.ndarray` name stands for: the subtype argument of _reconstruct,
    never a constructor (numpy.ndarray(shape, object) would build an object array of any size)."""

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError("a numpy.ndarray(...) call is refused (numpy pickles never make one; it "
                                "could build an object array of any size)")


NDARRAY = _NdarrayName()


def _safe_np_reconstruct(subtype, shape, dtype):
    if subtype is not NDARRAY:
        raise UnsafePickleError("only plain numpy arrays are allowed")
    dtype = _safe_dtype(dtype)
    count = _element_count(shape)
    _charge(count * dtype.itemsize)
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _element_count(shape) -> int:
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise UnsafePickleError("malformed array shape")
    count = 1
    for s in shape:
        count *= s
    return count


def _safe_np_scalar(dtype, data=None):
    dtype = _safe_dtype(dtype)
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise UnsafePickleError("malformed numpy scalar")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _safe_reconstructor(cls, base, state=None):
    if cls not in INERT_CLASSES or base not in (object, dict):
        raise UnsafePickleError(f"copyreg._reconstructor of {getattr(cls, '__name__', cls)!r} refused")
    return base.__new__(cls) if base is object else cls()


def _safe_np_frombuffer(buffer, dtype, shape, order="C"):
    """Protocol-5 numpy arrays: numpy.core.numeric._frombuffer(buffer, dtype, shape, order)."""
    dtype = _safe_dtype(dtype)
    if not isinstance(buffer, (bytes, bytearray, memoryview)):
        raise UnsafePickleError("numpy buffer is not bytes")
    data = bytes(buffer)
    count = _element_count(tuple(shape))
    _charge(2 * len(data))
    if count * dtype.itemsize != len(data):
        raise UnsafePickleError("numpy buffer size does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


def _safe_codecs_encode(text, encoding="latin1"):
    """Protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1')."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("_codecs.encode is only allowed for latin-1 text")
    return text.encode("latin1")


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, torch.Tensor) or storage.ndim != 1:
        raise UnsafePickleError("tensor without a parsed storage")
    try:
        size, stride, offset = tuple(int(s) for s in size), tuple(int(s) for s in stride), int(storage_offset)
    except (TypeError, ValueError, OverflowError):
        raise UnsafePickleError("malformed tensor size/stride") from None
    if len(size) != len(stride) or len(size) > 16 or offset < 0 or any(s < 0 for s in size + stride):
        raise UnsafePickleError(f"bad tensor geometry size={_brief(size)} stride={_brief(stride)} offset={offset}")
    numel = 1
    for s in size:
        numel *= s
    if numel > storage.numel():
        # A view may use part of its storage, never more elements than it holds (stride 0 tricks).
        raise UnsafePickleError(f"tensor of size {_brief(size)} has more elements ({numel:,}) than its storage "
                                f"({storage.numel():,})")
    if numel > 0:
        last = offset + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= storage.numel():
            raise UnsafePickleError(f"tensor of size {_brief(size)} reaches past its storage "
                                    f"({storage.numel()} elements)")
    elif offset > storage.numel():
        raise UnsafePickleError("tensor offset past its storage")
    _charge(numel * storage.element_size())
    return torch.as_strided(storage, size, stride, offset).clone()


def _brief(values) -> str:
    text = str(list(values))
    return text if len(text) <= 80 else text[:80] + "...]"


def _rebuild_tensor_legacy(storage, storage_offset, size, stride):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, torch.Tensor):
        raise UnsafePickleError("parameter without tensor data")
    return data


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module, name):
        raise UnsafePickleError(f"refused {module}.{name} in a storage header")

    def persistent_load(self, pid):
        raise UnsafePickleError("unexpected persistent id in a storage header")


class _StorageRef:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _StorageMarker:
    def __init__(self, dtype):
        self.dtype = dtype


class _LegacyStorageUnpickler(pickle.Unpickler):
    """The object pickle of a legacy torch.save stream: storage classes and persistent ids only."""

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageMarker(STORAGE_DTYPES[name])
        raise UnsafePickleError(f"refused {module}.{name} inside a storage blob")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafePickleError("malformed storage reference")
        marker, key, numel = pid[1], pid[2], pid[4]  # pid[3] is the device it was saved from
        if not isinstance(marker, _StorageMarker) or not isinstance(key, str) or not isinstance(numel, int):
            raise UnsafePickleError("malformed storage reference")
        return _StorageRef(key, marker.dtype, numel)


def load_legacy_storage(blob: bytes) -> torch.Tensor:
    """Parse one legacy (non-zip) torch.save stream holding a single storage -> a 1-D tensor."""
    if not isinstance(blob, (bytes, bytearray)):
        raise UnsafePickleError("storage blob is not bytes")
    f = io.BytesIO(bytes(blob))
    try:
        if _NoGlobals(f).load() != LEGACY_MAGIC:
            raise UnsafePickleError("storage blob has the wrong magic number")
        if _NoGlobals(f).load() != LEGACY_PROTOCOL:
            raise UnsafePickleError("storage blob has an unknown protocol version")
        sys_info = _NoGlobals(f).load()
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            raise UnsafePickleError("storage blob is not little-endian")
        ref = _LegacyStorageUnpickler(f).load()
        keys = _NoGlobals(f).load()
    except UnsafePickleError:
        raise
    except Exception as exc:
        raise UnsafePickleError(f"malformed storage blob ({type(exc).__name__})") from None
    if not isinstance(ref, _StorageRef) or not isinstance(keys, list) or keys != [ref.key]:
        raise UnsafePickleError("storage blob does not hold exactly one storage")
    numel = int.from_bytes(f.read(8), "little", signed=True)
    itemsize = torch.empty((), dtype=ref.dtype).element_size()
    if numel != ref.numel or numel < 0 or numel * itemsize > MAX_STORAGE_BYTES:
        raise UnsafePickleError(f"storage size {numel} does not match its header ({ref.numel})")
    _charge(numel * itemsize)
    data = f.read(numel * itemsize)
    if len(data) != numel * itemsize:
        raise UnsafePickleError("storage data is truncated")
    if numel == 0:
        return torch.empty(0, dtype=ref.dtype)
    # Little-endian by the format; bfloat16 has no numpy type: read its bits as int16.
    if ref.dtype == torch.bfloat16:
        return torch.from_numpy(np.frombuffer(data, dtype="<i2").copy()).view(torch.bfloat16)
    np_dtype = torch.empty(0, dtype=ref.dtype).numpy().dtype.newbyteorder("<")
    return torch.from_numpy(np.frombuffer(data, dtype=np_dtype).copy())


ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): PersistentObject,
    ("dnnlib.util", "EasyDict"): InertDict,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("copyreg", "_reconstructor"): _safe_reconstructor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor_legacy,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): load_legacy_storage,
    ("numpy", "dtype"): _safe_dtype,
    ("numpy", "ndarray"): NDARRAY,
    ("_codecs", "encode"): _safe_codecs_encode,
}
for _numpy_core in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy 1.x and 2.x names
    ALLOWED[(_numpy_core, "_reconstruct")] = _safe_np_reconstruct
    ALLOWED[(_numpy_core, "scalar")] = _safe_np_scalar
    ALLOWED[(_numpy_core.replace("multiarray", "numeric"), "_frombuffer")] = _safe_np_frombuffer
# Protocol < 3 spells some names the Python 2 way.
ALLOWED[("__builtin__", "set")] = set
ALLOWED[("__builtin__", "frozenset")] = frozenset
ALLOWED[("copy_reg", "_reconstructor")] = _safe_reconstructor
for _key in PLAIN_TORCH_MODULES:
    ALLOWED[_key] = InertModule


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refused to load {escape_text(module, 80)}.{escape_text(name, 80)} "
                                    f"(not on the allow-list)") from None

    def persistent_load(self, pid):
        raise UnsafePickleError("persistent ids are not used by network pickles")


class _Budget(threading.local):
    remaining: int | None = None


_BUDGET = _Budget()


def _charge(nbytes: int) -> None:
    """Count bytes about to be allocated against the current load's budget."""
    if _BUDGET.remaining is None:
        return
    _BUDGET.remaining -= nbytes
    if _BUDGET.remaining < 0:
        raise UnsafePickleError(f"the file unpacks to more tensor data than it holds (a {nbytes:,}-byte "
                                f"allocation is past the limit)")


def lint_pickle(data: bytes) -> None:
    """Walk the opcodes without building anything; refuse what could take memory or time
    out of proportion to the file (UnsafePickleError), or malformed data (ValueError)."""
    ops = memo = 0
    same_hash: dict[int, set] = {}
    for opcode, arg, _pos in pickletools.genops(data):
        ops += 1
        name = opcode.name
        if name == "MEMOIZE":
            memo += 1
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            # The C unpickler sizes its memo array by the largest index: 2**28 would take gigabytes.
            if not isinstance(arg, int) or not 0 <= arg <= ops:
                raise UnsafePickleError(f"memo index {arg} out of range for a file of {len(data):,} bytes")
            memo += 1
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if not isinstance(arg, int) or not 0 <= arg <= ops:
                raise UnsafePickleError(f"memo index {arg} out of range")
        elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT"):
            if isinstance(arg, (int, float)) and not isinstance(arg, bool):
                bucket = same_hash.setdefault(hash(arg), set())
                if len(bucket) < MAX_SAME_HASH + 1:
                    bucket.add(arg)
                if len(bucket) > MAX_SAME_HASH:
                    raise UnsafePickleError("many distinct numbers share one hash value "
                                            "(a set or dict of them would take quadratic time)")


def safe_loads(data: bytes):
    """Unpickle bytes with the allow-list, after lint_pickle, within a byte budget."""
    try:
        lint_pickle(data)
    except UnsafePickleError:
        raise
    except Exception as exc:  # genops: truncated data, an unknown opcode, a length past the end
        raise ValueError(f"malformed pickle ({_first_line(exc)})") from None
    _BUDGET.remaining = BUDGET_FACTOR * len(data) + BUDGET_SLACK
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    finally:
        _BUDGET.remaining = None


def safe_load(f):
    """Unpickle from a binary file object with the allow-list (the whole stream is read first)."""
    return safe_loads(f.read())


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return escape_text(text[0] if text else type(exc).__name__, 160)


def module_state_dict(obj, prefix="") -> OrderedDict:
    """Flatten a PersistentObject / InertModule tree into a state dict (parameters, persistent buffers).

    Iterative, depth-limited, and each module may appear once: a 3000-deep, cyclic or shared
    `_modules` tree is refused with one line instead of a RecursionError or an exponential walk.
    """
    out = OrderedDict()
    seen: set[int] = set()
    stack = [(obj, prefix, 0)]
    while stack:
        node, path, depth = stack.pop()
        where = path.rstrip(".") or "network"
        state = node.state if isinstance(node, (PersistentObject, InertModule)) else None
        if not isinstance(state, dict):
            raise UnsafePickleError(f"{escape_text(where, 120)}: not a module")
        if id(node) in seen:
            raise UnsafePickleError(f"{escape_text(where, 120)}: a module that appears twice (cyclic or shared)")
        seen.add(id(node))
        if depth > MAX_MODULE_DEPTH:
            raise UnsafePickleError(f"modules nested more than {MAX_MODULE_DEPTH} deep")
        skip = state.get("_non_persistent_buffers_set") or set()
        if not isinstance(skip, (set, frozenset, list, tuple)):
            raise UnsafePickleError(f"{escape_text(where, 120)}: _non_persistent_buffers_set is not a set")
        own = OrderedDict()
        for field in ("_parameters", "_buffers"):
            entries = state.get(field) or {}
            if not isinstance(entries, dict):
                raise UnsafePickleError(f"{escape_text(where, 120)}: {field} is a {type(entries).__name__}, "
                                        f"not a dict")
            for name, tensor in entries.items():
                if not isinstance(name, str):
                    raise UnsafePickleError(f"{escape_text(where, 120)}: a {field} name that is not text")
                if tensor is None or (field == "_buffers" and name in skip):
                    continue
                if not isinstance(tensor, torch.Tensor):
                    raise UnsafePickleError(f"{escape_text(path + name, 160)}: not a tensor")
                own[path + name] = tensor
        out.update(own)
        children = state.get("_modules") or {}
        if not isinstance(children, dict):
            raise UnsafePickleError(f"{escape_text(where, 120)}: _modules is a {type(children).__name__}, not a dict")
        # Reversed onto the stack: children come out in their own order (depth first, as torch lists them).
        for name, child in reversed(list(children.items())):
            if not isinstance(name, str):
                raise UnsafePickleError(f"{escape_text(where, 120)}: a module name that is not text")
            if child is not None:
                stack.append((child, path + name + ".", depth + 1))
    return out
