"""Issue #15, hostile model, picture and latent files: each class of attack gets one clear line
(CheckpointError / GanExplorerError), never a traceback, a foreign interpreter or gigabytes.

Memory bombs run in a subprocess that reports its own peak RSS (resource.getrusage)."""

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save as safetensors_bytes

from gan_explorer.core.errors import CheckpointError, GanExplorerError, escape_text
from gan_explorer.core.io.checkpoint import load_model, save_model
from gan_explorer.core.io.importers import import_nvidia_pickle, import_rosinality
from gan_explorer.core.io.models import open_model
from gan_explorer.core.io.safe_pickle import UnsafePickleError, safe_loads
from gan_explorer.core.models import build_model
from tests.conftest import TINY
from tests.core.io import pickle_bytes as pb
from tests.core.io.test_rosinality import to_rosinality
from tests.core.io.test_safe_pickle import _storage_blob

POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n0 0 moveto 16 16 lineto stroke showpage\n%%EOF\n"
GENERATOR_KWARGS = {"z_dim": 16, "w_dim": 16, "img_resolution": 16, "img_channels": 3, "c_dim": 0,
                    "mapping_kwargs": {"num_layers": 2}, "synthesis_kwargs": {"channel_base": 256, "channel_max": 16}}


def _one_line(exc, *names):
    text = str(exc)
    assert "\n" not in text and "\x1b" not in text and len(text) < 2500, text[:300]
    for name in names:
        assert escape_text(str(name)) in text, (name, text)
    return text


# ---- 1. a foreign interpreter ------------------------------------------------------------------

def test_postscript_named_png_is_refused_by_every_picture_decoder(tmp_path):
    """Pillow recognises EPS by its content and would hand it to Ghostscript: only the promised
    formats are ever opened (datasets, dropped pictures and encode share one decoder)."""
    from gan_explorer.core.data.folder import ImageFolderDataset, decode_image
    from gan_explorer.core.io.pictures import decode_picture

    good = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(good, format="PNG")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "face.png").write_bytes(good.getvalue())
    (tmp_path / "data" / "evil.png").write_bytes(POSTSCRIPT)
    (tmp_path / "data" / "evil.jpg").write_bytes(POSTSCRIPT)
    assert Image.open(io.BytesIO(POSTSCRIPT)).format == "EPS"  # what Pillow alone would have done
    dataset = ImageFolderDataset(tmp_path / "data", 16)
    assert dataset.files == ["face.png"]
    reasons = dict(dataset.report.skipped)
    assert set(reasons) == {"evil.png", "evil.jpg"}
    assert all("not a PNG, JPEG, WebP or BMP picture" in r for r in reasons.values())
    for decode in (lambda d: decode_image(d, "drop.png"), decode_picture):
        with pytest.raises(ValueError, match="not a PNG, JPEG, WebP or BMP"):
            decode(POSTSCRIPT)


# ---- 2. memory bombs in tiny files ------------------------------------------------------------

def _memo_bomb():
    return b"\x80\x02Nr" + struct.pack("<I", 2**28) + b"."  # PROTO, NONE, LONG_BINPUT 2**28, STOP: 9 bytes


def _stride0_tensor():
    storage = pb.call(pb.glob("torch.storage", "_load_from_bytes"), b"B" + struct.pack("<I", len(_storage_blob()))
                      + _storage_blob())
    tensor = pb.call(pb.glob("torch._utils", "_rebuild_tensor_v2"), storage, pb.integer(0),
                     pb.tup(pb.integer(300_000_000)), pb.tup(pb.integer(0)), b"\x89",
                     pb.call(pb.glob("collections", "OrderedDict")))
    return pb.whole(b"}" + pb.text("w") + tensor + b"s", protocol=3)


def _object_array():
    # numpy.ndarray((300000000,), 'O'): 35 bytes that would be 2.4 GB of None pointers.
    return pb.whole(pb.call(pb.glob("numpy", "ndarray"), pb.tup(pb.integer(300_000_000)), pb.text("O")))


def _huge_kwargs():
    kwargs = {**GENERATOR_KWARGS, "z_dim": 8192, "w_dim": 8192, "mapping_kwargs": {"num_layers": 8}}
    return pb.network(pb.generator(init_kwargs=kwargs))  # 8 x 8192^2 mapping weights: 2 GiB


def _safetensors_config(family, **config):
    model_cls = build_model(family, **TINY[family])
    cfg = {**model_cls.config.to_dict(), **config}
    meta = {"format": "gan_explorer", "family": family, "config": json.dumps(cfg)}
    return safetensors_bytes({k: v.contiguous() for k, v in model_cls.state_dict().items()}, metadata=meta)


MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys
    from gan_explorer.core.errors import GanExplorerError
    from gan_explorer.core.io.models import open_model
    results = {}
    for path in sys.argv[1:]:
        try:
            open_model(path)
            results[path] = "LOADED"
        except GanExplorerError as exc:
            results[path] = str(exc)
    # VmHWM, not ru_maxrss: getrusage keeps the forking parent's high-water mark across exec (a big
    # pytest process made this child look 1.4 GB large), /proc counts this process's memory alone.
    hwm_kb = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")))
    results["peak_rss_mb"] = hwm_kb / 1024
    print(json.dumps(results))
""")


@pytest.mark.slow
def test_memory_bombs_are_refused_before_allocation(tmp_path):
    model = build_model("stylegan", **TINY["stylegan"])
    sd = to_rosinality(model)
    files = {
        "memo.pkl": (_memo_bomb(), "memo index"),
        "stride0.pkl": (_stride0_tensor(), "more elements"),
        "objarray.pkl": (_object_array(), "numpy.ndarray(...) call is refused"),
        "kwargs.pkl": (_huge_kwargs(), "over the limit"),
        "z8192.safetensors": (_safetensors_config("stylegan", z_dim=8192, w_dim=8192, mapping_layers=8),
                              "over the limit"),
        # Under the cap, but not what the file holds: refused by comparing before building (0.5 GiB).
        "z4096.safetensors": (_safetensors_config("stylegan", z_dim=4096, w_dim=4096),
                              "the config needs"),
        "layers.safetensors": (_safetensors_config("stylegan", mapping_layers=10**6), "mapping_layers=1000000"),
        "dcgan.safetensors": (_safetensors_config("dcgan", z_dim=3 * 10**6), "z_dim=3000000"),
    }
    buffer = io.BytesIO()
    torch.save({"g_ema": sd, "latent_avg": torch.zeros(1).expand(2**28)}, buffer)  # a 1 GiB view of 4 bytes
    files["stride0.pt"] = (buffer.getvalue(), "elements over a storage")
    # A rosinality checkpoint whose records are deflated: 64 MiB of zeros in about 64 KB.
    raw = io.BytesIO()
    torch.save({"g_ema": sd, "extra": torch.zeros(16 * 2**20)}, raw)
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(tmp_path / "zipbomb.pt", "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    assert (tmp_path / "zipbomb.pt").stat().st_size < 3 * 2**20
    files["zipbomb.pt"] = (None, "is compressed")
    paths = [str(tmp_path / name) for name in files]
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, *paths], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for name, (_, reason) in files.items():
        message = report[str(tmp_path / name)]
        assert reason in message and str(tmp_path / name) in message and "\n" not in message, (name, message)
    assert report["peak_rss_mb"] < 700, report  # torch + the app are ~400 MB; nothing was allocated


def _float_storage_blob(n):
    """A legacy torch.save stream of one float storage of n zeros (what NVIDIA pickles embed)."""
    import pickle

    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(obj, out, protocol=2)
    out.write(b"\x80\x02(X\x07\x00\x00\x00storage" + pb.glob("torch", "FloatStorage") + b"X\x01\x00\x00\x000"
              + b"X\x03\x00\x00\x00cpu" + pb.integer(n) + b"tQ.")
    pickle.dump(["0"], out, protocol=2)
    out.write(struct.pack("<q", n) + b"\0" * (4 * n))
    return out.getvalue()


def test_tensor_data_is_charged_to_a_budget_of_the_file_length():
    """One 1 MiB storage referenced 2000 times cannot unpack into 2000 copies (2 GiB)."""
    blob = _float_storage_blob(2**18)
    storage = pb.call(pb.glob("torch.storage", "_load_from_bytes"), b"B" + struct.pack("<I", len(blob)) + blob)
    body = b"}q\x00(" + pb.text("s") + storage + b"q\x01u"
    one = pb.call(pb.glob("torch._utils", "_rebuild_tensor_v2"), b"h\x01", pb.integer(0),
                  pb.tup(pb.integer(2**18)), pb.tup(pb.integer(1)), b"\x89",
                  pb.call(pb.glob("collections", "OrderedDict")))
    few = safe_loads(pb.whole(body + b"0" + b"h\x00" + pb.text("t") + one + b"s", protocol=3))
    assert few["t"].shape == (2**18,)
    many = body + b"0" + b"h\x00" + b"(" + b"".join(pb.text(f"t{i}") + one for i in range(2000)) + b"u"
    from gan_explorer.core.io.safe_pickle import UnsafePickleError

    with pytest.raises(UnsafePickleError, match="more tensor data than it holds"):
        safe_loads(pb.whole(many, protocol=3))


def test_hash_colliding_numbers_are_refused(tmp_path):
    """ints k * (2**61 - 1) all hash to 0: a set of them takes quadratic time to build."""
    colliding = [k * (2**61 - 1) for k in range(1, 3001)]
    body = pb.call(pb.glob("builtins", "set"), pb.frag(colliding))
    path = tmp_path / "collide.pkl"
    path.write_bytes(pb.whole(b"}" + pb.text("G_ema") + body + b"s"))
    with pytest.raises(CheckpointError, match="share one hash value") as info:
        import_nvidia_pickle(path)
    _one_line(info.value, path)
    ordinary = pb.whole(pb.call(pb.glob("builtins", "set"), pb.frag(list(range(3000)))))
    assert safe_loads(ordinary) == set(range(3000))


def test_object_dtype_is_refused_everywhere():
    for body in (pb.call(pb.glob("numpy", "ndarray"), pb.tup(pb.integer(3)), pb.text("f4")),  # not callable at all
                 pb.call(pb.glob("numpy.core.multiarray", "_reconstruct"), pb.glob("numpy", "ndarray"),
                         pb.tup(pb.integer(0)), pb.call(pb.glob("numpy", "dtype"), pb.text("O8")))):
        with pytest.raises(UnsafePickleError, match="object"):
            safe_loads(pb.whole(body))
    arr = np.arange(4, dtype=np.float32)
    assert np.array_equal(safe_loads(__import__("pickle").dumps(arr, protocol=2)), arr)


# ---- 4. tracebacks instead of one line -------------------------------------------------------

MALFORMED_PICKLES = {
    "z_dim text": lambda: pb.network(pb.generator(init_kwargs={**GENERATOR_KWARGS, "z_dim": "abc"})),
    "z_dim float": lambda: pb.network(pb.generator(init_kwargs={**GENERATOR_KWARGS, "z_dim": 1.5})),
    "z_dim list": lambda: pb.network(pb.generator(init_kwargs={**GENERATOR_KWARGS, "z_dim": [1, 2]})),
    "c_dim text": lambda: pb.network(pb.generator(init_kwargs={**GENERATOR_KWARGS, "c_dim": "x"})),
    "400 digits": lambda: pb.network(pb.generator(init_kwargs={**GENERATOR_KWARGS, "w_dim": 10**400})),
    "kwargs list": lambda: pb.network(pb.generator(init_kwargs=[1, 2, 3])),
    "mapping list": lambda: pb.network(pb.generator(init_kwargs={**GENERATOR_KWARGS, "mapping_kwargs": [1]})),
    "parameters list": lambda: pb.network(pb.generator(init_kwargs=GENERATOR_KWARGS, parameters=[1, 2])),
    "buffers text": lambda: pb.network(pb.generator(init_kwargs=GENERATOR_KWARGS, buffers="abc")),
    "parameter int key": lambda: pb.network(pb.generator(init_kwargs=GENERATOR_KWARGS, parameters={3: None, 4: 1})),
    "3000-deep modules": lambda: pb.network(pb.generator(init_kwargs=GENERATOR_KWARGS, modules=pb.deep_modules(3000))),
    "cyclic modules": lambda: pb.network(pb.cyclic_state()),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_PICKLES))
def test_malformed_network_pickles_are_one_line(tmp_path, case):
    path = tmp_path / "bad.pkl"
    path.write_bytes(MALFORMED_PICKLES[case]())
    with pytest.raises(CheckpointError) as info:
        open_model(path)
    _one_line(info.value, path)


def _rosinality_sd():
    torch.manual_seed(1)
    return to_rosinality(build_model("stylegan", **TINY["stylegan"]))


ROSINALITY_CASES = {
    "missing key": lambda sd: sd.pop("to_rgb1.bias"),
    "1-D style weight": lambda sd: sd.__setitem__("style.1.weight", torch.zeros(32)),
    "non-tensor value": lambda sd: sd.__setitem__("input.input", "not a tensor"),
    "noise weight of 3": lambda sd: sd.__setitem__("conv1.noise.weight", torch.zeros(3)),
    "integer weight": lambda sd: sd.__setitem__("conv1.conv.weight", torch.zeros(1, 32, 32, 3, 3, dtype=torch.int64)),
    "style layers with a gap": lambda sd: (sd.pop("style.1.weight"), sd.__setitem__("style.9.weight", torch.zeros(2, 2))),
}


@pytest.mark.parametrize("case", sorted(ROSINALITY_CASES))
def test_malformed_rosinality_checkpoints_are_one_line(tmp_path, case):
    sd = _rosinality_sd()
    if case == "style layers with a gap":
        sd["style.3.weight"] = sd["style.2.weight"]
    ROSINALITY_CASES[case](sd)
    path = tmp_path / "bad.pt"
    torch.save({"g_ema": sd}, path)
    with pytest.raises(CheckpointError) as info:
        import_rosinality(path)
    _one_line(info.value, path)


@pytest.mark.parametrize("field", ["config", "provenance"])
def test_deeply_nested_json_in_a_checkpoint(tmp_path, field):
    model = build_model("dcgan", **TINY["dcgan"])
    meta = {"format": "gan_explorer", "family": "dcgan", "config": model.config.to_json(), "provenance": "{}"}
    meta[field] = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "nested.safetensors"
    path.write_bytes(safetensors_bytes({k: v.contiguous() for k, v in model.state_dict().items()}, metadata=meta))
    if field == "config":
        with pytest.raises(CheckpointError, match="nested too deeply") as info:
            load_model(path)
        _one_line(info.value, path)
    else:  # provenance is information: the model loads, with none
        assert load_model(path).provenance == {}


def test_latent_files_with_a_huge_header_or_deep_nesting(tmp_path):
    from gan_explorer.core.latent.files import load_latent

    npy = tmp_path / "huge.npy"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    npy.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64)
    with pytest.raises(GanExplorerError, match="header promises") as info:
        load_latent(npy, 10, 128)
    _one_line(info.value, npy)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(GanExplorerError, match="not numbers"):
        load_latent(objects, 10, 128)
    deep = tmp_path / "deep.json"
    deep.write_text('{"ws": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(GanExplorerError, match="nested too deeply") as info:
        load_latent(deep, 10, 128)
    _one_line(info.value, deep)


# ---- 5. NaN and inf accepted silently ----------------------------------------------------------

@pytest.mark.parametrize("family,field,value", [
    ("stylegan", "mapping_lr_multiplier", "NaN"), ("stylegan", "conv_clamp", "Infinity"),
    ("stylegan", "w_avg_beta", "-Infinity"), ("stylegan3", "conv_clamp", "NaN"),
    ("stylegan3", "first_cutoff", "Infinity"), ("gan", "d_dropout", "NaN"), ("vae", "beta", "NaN"),
])
def test_non_finite_config_values_are_refused(tmp_path, family, field, value):
    model = build_model(family, **TINY[family])
    config = model.config.to_json().replace(f'"{field}": ', f'"{field}": {value}, "_was": ')
    config = json.dumps({k: v for k, v in json.loads(config).items() if k != "_was"})
    meta = {"format": "gan_explorer", "family": family, "config": config}
    path = tmp_path / "nan.safetensors"
    path.write_bytes(safetensors_bytes({k: v.contiguous() for k, v in model.state_dict().items()}, metadata=meta))
    with pytest.raises(CheckpointError, match=f"{field}=.*must be a finite number") as info:
        load_model(path)
    _one_line(info.value, path)


def test_non_finite_lr_mlp_in_a_rosinality_checkpoint(tmp_path):
    import argparse

    path = tmp_path / "nan.pt"
    torch.save({"g_ema": _rosinality_sd(), "args": argparse.Namespace(lr_mlp=float("nan"))}, path)
    with pytest.raises(CheckpointError, match="mapping_lr_multiplier=nan: must be a finite number"):
        import_rosinality(path)


def test_non_finite_kwargs_in_a_network_pickle(tmp_path):
    kwargs = {**GENERATOR_KWARGS, "mapping_kwargs": {"num_layers": 2, "lr_multiplier": float("inf")}}
    path = tmp_path / "inf.pkl"
    path.write_bytes(pb.network(pb.generator(init_kwargs=kwargs)))
    with pytest.raises(CheckpointError, match="mapping_lr_multiplier=inf: must be a finite number"):
        import_nvidia_pickle(path)


# ---- 6. terminal escape sequences --------------------------------------------------------------

def test_escape_sequences_in_names_never_reach_the_terminal(tmp_path):
    model = build_model("dcgan", **TINY["dcgan"])
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors["\x1b[2J\x1b]0;owned\x07\n verified OK"] = torch.zeros(1)
    meta = {"format": "gan_explorer", "family": "dcgan", "config": model.config.to_json()}
    path = tmp_path / "esc\x1b[31mape.safetensors"
    path.write_bytes(safetensors_bytes(tensors, metadata=meta))
    with pytest.raises(CheckpointError, match="unexpected tensors") as info:
        load_model(path)
    text = _one_line(info.value)
    assert "\\x1b[2J" in text and "\\x1b[31m" in text and "\\x07" in text and "\\x0a verified" in text
    kwargs = {**GENERATOR_KWARGS, "synthesis_kwargs": {"\x1b[2Jevil": 1}}
    pkl = tmp_path / "kw.pkl"
    pkl.write_bytes(pb.network(pb.generator(init_kwargs=kwargs)))
    with pytest.raises(CheckpointError) as info:
        import_nvidia_pickle(pkl)
    assert "\\x1b[2Jevil" in _one_line(info.value)


def test_escape_text_escapes_controls_and_undecodable_bytes_and_truncates():
    assert escape_text("a\x1b[0mb\u202ec\udcff") == "a\\x1b[0mb\\u202ec\\xff"
    long = escape_text("x" * 10_000, 100)
    assert long.startswith("x" * 100) and "9,900 more characters" in long
    assert len(str(GanExplorerError("y" * 10**7))) < 2100


# ---- 12. smaller ones: dtypes, duplicate keys --------------------------------------------------

def test_i32_data_in_place_of_f32_is_refused(tmp_path):
    model = build_model("dcgan", **TINY["dcgan"])
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    key = next(k for k, v in tensors.items() if v.dtype == torch.float32)
    tensors[key] = tensors[key].view(torch.int32)
    path = tmp_path / "i32.safetensors"
    path.write_bytes(safetensors_bytes(tensors, metadata={"format": "gan_explorer", "family": "dcgan",
                                                          "config": model.config.to_json()}))
    with pytest.raises(CheckpointError, match="holds I32 data, the model needs F32"):
        load_model(path)


def test_duplicate_header_keys_are_refused(tmp_path):
    good = save_model(build_model("dcgan", **TINY["dcgan"]), tmp_path / "good.safetensors")
    data = good.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    entry = json.dumps(header[name])
    text = data[8:8 + n].decode().rstrip()
    doubled = text[:-1] + f", {json.dumps(name)}: {entry}" + "}"
    doubled = doubled.encode()
    doubled += b" " * (-len(doubled) % 8)
    path = tmp_path / "dup.safetensors"
    path.write_bytes(struct.pack("<Q", len(doubled)) + doubled + data[8 + n:])
    with pytest.raises(CheckpointError, match="names .* twice"):
        load_model(path)


def test_device_and_fifo_model_paths_are_refused(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        open_model(fifo)  # would block forever in open() otherwise
    with pytest.raises(CheckpointError, match="not a regular file"):
        open_model("/dev/zero")


def test_a_dropped_picture_is_read_only_from_a_regular_file(tmp_path):
    from gan_explorer.core.io.pictures import decode_picture, read_picture_file

    fifo = tmp_path / "drop.png"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_picture_file(fifo)  # returns at once: opened non-blocking, refused by type
    with pytest.raises(ValueError, match="not a regular file"):
        read_picture_file("/dev/zero")
    good = tmp_path / "good.png"
    Image.new("RGB", (8, 8)).save(good)
    assert decode_picture(read_picture_file(good)).size == (8, 8)
    with pytest.raises(ValueError, match="too large"):
        read_picture_file(good, max_bytes=10)
