"""Hostile files are refused (or loaded inertly) and never run anything: a marker file never appears."""

import io
import os
import pickle
import pickletools
import struct

import pytest
import torch

from gan_explorer.core.errors import CheckpointError
from gan_explorer.core.io.importers import import_nvidia_pickle, import_rosinality
from gan_explorer.core.io.models import open_model
from gan_explorer.core.io.safe_pickle import safe_load
from tests.core.io.test_importers import FIXTURES


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "code from a hostile file ran"


def _global(module, name):
    """Protocol-2 pickle bytes that push `module.name`."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _call(module, name, *args):
    """Pickle bytes for module.name(*args) with string arguments, as a whole file."""
    body = _global(module, name) + b"("
    for a in args:
        data = a.encode()
        body += b"X" + struct.pack("<I", len(data)) + data
    return b"\x80\x02" + body + b"tR."


@pytest.mark.parametrize("module,name", [
    ("os", "system"), ("posix", "system"), ("builtins", "exec"), ("builtins", "eval"),
    ("subprocess", "Popen"), ("subprocess", "check_call"), ("importlib", "import_module"),
    ("torch", "load"), ("torch.storage", "_load_from_bytes_unsafe"), ("numpy", "load"),
])
def test_dangerous_globals_are_refused(tmp_path, marker, module, name):
    path = tmp_path / "evil.pkl"
    path.write_bytes(_call(module, name, f"touch {marker}"))
    with pytest.raises(CheckpointError, match=f"refused to load {module}.{name}"):
        import_nvidia_pickle(path)


def test_reduce_payload_of_a_real_class_is_refused(tmp_path, marker):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": Evil()}, protocol=4))
    with pytest.raises(CheckpointError, match="refused"):
        open_model(path)


def _storage_blob(inner_global=None):
    """A legacy torch.save stream for a 2-element float storage, optionally with a hostile global."""
    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(obj, out, protocol=2)
    storage_type = _global(*inner_global) if inner_global else _global("torch", "FloatStorage")
    out.write(b"\x80\x02(X\x07\x00\x00\x00storage" + storage_type + b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02Nt"
              + b"Q.")
    pickle.dump(["0"], out, protocol=2)
    out.write(struct.pack("<q", 2) + struct.pack("<2f", 1.5, -2.0))
    return out.getvalue()


def test_payload_hidden_in_a_storage_blob_is_refused(tmp_path, marker):
    blob = _storage_blob(inner_global=("os", "system"))
    stream = io.BytesIO(blob)
    from gan_explorer.core.io.safe_pickle import UnsafePickleError, load_legacy_storage

    with pytest.raises(UnsafePickleError, match="refused os.system inside a storage blob"):
        load_legacy_storage(stream.getvalue())
    assert load_legacy_storage(_storage_blob()).tolist() == [1.5, -2.0]


def test_module_source_is_never_executed(tmp_path, marker, monkeypatch):
    # The official fixture with its module_src replaced by code that would leave a marker
    # in the working directory if anything ran it (same length: the pickle's frames stay valid).
    monkeypatch.chdir(marker.parent)
    data = (FIXTURES / "sg2ada_64.pkl").read_bytes()
    stub = b"# source omitted from this fixture\n"
    payload = b"open('PWNED','w').write('x')"
    payload = payload + b" " * (len(stub) - len(payload) - 2) + b"#\n"
    assert len(payload) == len(stub) and data.count(stub) >= 1
    path = tmp_path / "src.pkl"
    path.write_bytes(data.replace(stub, payload))
    model = import_nvidia_pickle(path)  # loads fine: the source is text we never run
    assert model.num_ws == 10


@pytest.mark.parametrize("kind", ["truncated", "random", "empty", "text"])
def test_truncated_and_random_files_give_clear_errors(tmp_path, kind):
    data = (FIXTURES / "sg2ada_64.pkl").read_bytes()
    content = {"truncated": data[: len(data) // 3], "random": os.urandom(5000), "empty": b"",
               "text": b"hello, I am not a network\n"}[kind]
    path = tmp_path / f"{kind}.pkl"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        open_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_object_arrays_are_refused(tmp_path):
    import numpy as np

    path = tmp_path / "objarray.pkl"
    path.write_bytes(pickle.dumps({"G_ema": np.array([{"a": 1}], dtype=object)}, protocol=2))
    with pytest.raises(CheckpointError, match="object"):
        import_nvidia_pickle(path)
    plain = pickle.dumps({"x": np.arange(3, dtype=np.float32), "s": np.float64(2.5)}, protocol=2)
    loaded = safe_load(io.BytesIO(plain))
    assert loaded["x"].tolist() == [0, 1, 2] and loaded["s"] == 2.5


def test_rosinality_checkpoint_with_a_payload_is_refused(tmp_path, marker):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"g_ema": {"style.1.weight": torch.zeros(2, 2)}, "args": Evil()}, path)
    with pytest.raises(CheckpointError, match="will not run"):
        import_rosinality(path)


def test_disassembly_helper_is_sane():
    # The hand-built protocol-2 bytes above are valid pickles that name exactly the global they claim.
    listing = io.StringIO()
    pickletools.dis(_call("os", "system", "x"), out=listing)
    ops = [op.name for op, _, _ in pickletools.genops(_call("os", "system", "x"))]
    assert ops == ["PROTO", "GLOBAL", "MARK", "BINUNICODE", "TUPLE", "REDUCE", "STOP"]
    assert "GLOBAL     'os system'" in listing.getvalue()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_protocols_2_to_5(protocol):
    import numpy as np
    from collections import OrderedDict

    data = {"arr": np.arange(6, dtype=np.float32).reshape(2, 3), "scalar": np.float64(0.25), "set": {1, 2},
            "od": OrderedDict(a=1), "bytes": b"\x00\xff", "nested": [np.int64(3), (1.5, "x")]}
    loaded = safe_load(io.BytesIO(pickle.dumps(data, protocol=protocol)))
    assert np.array_equal(loaded["arr"], data["arr"]) and loaded["arr"].dtype == np.float32
    assert loaded["scalar"] == 0.25 and loaded["set"] == {1, 2} and loaded["od"] == OrderedDict(a=1)
    assert loaded["bytes"] == b"\x00\xff" and loaded["nested"][0] == 3


def test_numpy_1x_names_load_like_numpy_2x(tmp_path):
    data = (FIXTURES / "sg3t_64.pkl").read_bytes()
    new, old = b"numpy._core.multiarray", b"numpy.core.multiarray"
    assert new in data
    # SHORT_BINUNICODE: one length byte, then the text.
    patched = data.replace(bytes([0x8C, len(new)]) + new, bytes([0x8C, len(old)]) + old)
    assert old in patched and new not in patched
    path = tmp_path / "numpy1.pkl"
    path.write_bytes(patched)
    a = import_nvidia_pickle(path)
    b = import_nvidia_pickle(FIXTURES / "sg3t_64.pkl")
    for key, value in b.state_dict().items():
        assert torch.equal(value, a.state_dict()[key])
