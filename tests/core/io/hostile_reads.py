"""The read-side attacks of issue #26, replayable: hostile pictures, latent files, libraries,
encoders, counts and restored states built exactly as an attacker writes them, and each attack as
a function with the outcome it must have.

Shared by tests/core/io/test_hostile_reads.py (which runs each class in one child process) and
benchmarks/attacks_reads.py (one child per attack, and the table). Building a file allocates
nothing large: the big PNGs are compressed row by row.

An attack returns (outcome, text): 'line' (one GanExplorerError line, or the CLI's exit 2 with
one error line), 'ok' (it worked: what it returned), 'warning' (it worked and said why it set
something aside) or 'traceback' (anything else escaped).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import subprocess
import time
import traceback
import zlib
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ESCAPE = "\x1b[2J\x1b[H"  # clears the terminal and homes the cursor


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def ihdr(width: int, height: int, color_type: int = 0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))


def itxt(key: str, text: str, compressed: bool = False) -> bytes:
    body = text.encode("utf-8")
    if compressed:
        body = zlib.compress(body)
    return chunk(b"iTXt", key.encode("latin-1") + b"\0" + bytes([int(compressed), 0]) + b"\0\0" + body)


def blank_idat(width: int, height: int, channels: int = 1) -> bytes:
    """The compressed rows of a width x height 8-bit grey (or RGB) picture of zeros, built row by row."""
    compressor, parts, row = zlib.compressobj(9), [], b"\0" * (width * channels + 1)
    for _ in range(height):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    return chunk(b"IDAT", b"".join(parts))


def png(width: int, height: int, text_chunks=(), idat: bytes | None = None, rgb: bool = False) -> bytes:
    """A grey (or RGB) PNG of zeros with `text_chunks` (whole chunks) before its pixels."""
    return (PNG_SIGNATURE + ihdr(width, height, 2 if rgb else 0) + b"".join(text_chunks)
            + (idat if idat is not None else blank_idat(width, height, 3 if rgb else 1)) + chunk(b"IEND", b""))


def provenance_text(state: dict | None = None, **changes) -> str:
    """The JSON an export carries (a 4 x 8 ws), with top-level keys replaced by `changes`."""
    import base64

    data = {"generator": "gan_explorer test", "model": {"name": "m.safetensors", "sha256": "ab" * 32},
            "state": {"seed": 3, "truncation_psi": 0.7, "noise_mode": "const", "noise_seed": 0, **(state or {})},
            "ws": {"shape": [4, 8], "dtype": "float32", "base64": base64.b64encode(bytes(4 * 8 * 4)).decode()}}
    data.update(changes)
    return json.dumps(data)


def provenance_png(text: str, width: int = 8, height: int = 8) -> bytes:
    return png(width, height, [itxt("gan_explorer", text)])


def huge_canvas_png(text: str, side: int = 12000) -> bytes:
    """A side x side RGB PNG (about 420 KB for 12000) carrying provenance: 432 MB of pixels to decode."""
    return png(side, side, [itxt("gan_explorer", text)], rgb=True)


def apng_bomb(text: str, side: int = 8000, frames: int = 3000) -> bytes:
    """An animated PNG: a side x side canvas and `frames` - 1 one-pixel frames after it (about 300 KB).
    Pillow's `.text` seeks to the last frame, compositing every frame on the canvas."""
    def fctl(seq, w, h, x, y):
        return chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, w, h, x, y, 1, 100, 0, 0))

    parts = [PNG_SIGNATURE, ihdr(side, side), chunk(b"acTL", struct.pack(">II", frames, 0)),
             itxt("gan_explorer", text), fctl(0, side, side, 0, 0), blank_idat(side, side)]
    pixel = zlib.compress(b"\0\x7f")
    seq = 1
    for i in range(1, frames):
        parts.append(fctl(seq, 1, 1, i % side, (i // side) % side))
        parts.append(chunk(b"fdAT", struct.pack(">I", seq + 1) + pixel))
        seq += 2
    parts.append(chunk(b"IEND", b""))
    return b"".join(parts)


def zip_bomb_itxt(megabytes: int = 200) -> bytes:
    """An iTXt named gan_explorer whose text inflates to `megabytes` MB of spaces."""
    compressor = zlib.compressobj(9)
    block = b" " * (1 << 20)
    body = b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()
    return chunk(b"iTXt", b"gan_explorer\0\x01\0\0\0" + body)


def library(directions, w_dim: int = 8) -> str:
    return json.dumps({"format": "gan_explorer direction library 1", "model_sha256": "ab" * 32, "w_dim": w_dim,
                       "directions": directions})


def direction(name="smile", w_dim: int = 8, **fields) -> dict:
    return {"name": name, "vector": [1.0] + [0.0] * (w_dim - 1), "layer_start": 0, "layer_end": -1,
            "strength": 2.0, "sigma": 1.0, "source": "test", "created": 0.0, **fields}


def library_30mb() -> bytes:
    """One direction whose vector holds 7.5 million numbers: 30 MB of JSON."""
    return ('{"format": "gan_explorer direction library 1", "w_dim": 8, "directions": [{"name": "x", "vector": ['
            + "0.5," * 7_500_000 + '0.5]}]}').encode()


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def encoder_bomb(model) -> bytes:
    """A 912-byte encoder file for `model` (its content hash) whose config, every field at the
    validator's limit, plans a network of tens of gigabytes."""
    import torch
    from safetensors.torch import save

    from gan_explorer.core.io.identity import memory_identity

    config = {"num_ws": model.num_ws, "w_dim": model.w_dim, "img_channels": model.img_channels,
              "input_resolution": 65536, "base_channels": 65536, "channel_max": 65536, "hidden": 65536}
    metadata = {"format": "gan_explorer.latent_encoder", "config": json.dumps(config),
                "model_hash": memory_identity(model), "model_family": model.family, "report": "{}"}
    return save({"w_avg": torch.zeros(model.w_dim), "w_std": torch.ones(model.w_dim)}, metadata=metadata)


def npy_header(shape, descr: str = "<f4") -> bytes:
    """A version 1.0 .npy header claiming `shape` (the data is whatever follows)."""
    text = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def fifo(path) -> str:
    os.mkfifo(path)
    return os.fspath(path)


def zero_link(path) -> str:
    os.symlink("/dev/zero", path)
    return os.fspath(path)


# --- the attacks ------------------------------------------------------------------------------------
CLASSES = {
    "reads": "a file the user names (FIFO, device, link to /dev/zero)",
    "memory": "memory and time from tiny files",
    "counts": "caps on every count",
    "state": "restored state and typed values: one line",
    "info": "info escapes class names",
}
ATTACKS: dict = {}  # name -> (class, function, expected outcomes, files it needs)


def attack(klass, needs=(), expect=("line",)):
    def register(fn):
        ATTACKS[fn.__name__] = (klass, fn, frozenset(expect), tuple(needs))
        return fn
    return register


def run(name: str, work) -> tuple[str, str]:
    """(outcome, text) of one attack; whatever escapes is 'traceback'."""
    from gan_explorer.core.errors import GanExplorerError

    try:
        return ATTACKS[name][1](Path(work))
    except GanExplorerError as exc:
        return "line", str(exc)
    except Exception as exc:
        return "traceback", "".join(traceback.format_exception_only(type(exc), exc))[-600:]


def held(name: str, outcome: tuple[str, str]) -> str:
    """'' when the attack held, else why not."""
    kind, text = outcome
    if kind not in ATTACKS[name][2]:
        return f"{kind} (expected {'/'.join(sorted(ATTACKS[name][2]))}): {text[:300]}"
    if kind == "line" and ("\n" in text or "\x1b" in text or len(text) > 2500):
        return f"not one printable line: {text[:300]!r}"
    if name == "info_class_names_escape" and "\x1b" in text:
        return "the class names reached the terminal raw"
    return ""


def cli(*argv) -> tuple[str, str]:
    """gan-explorer ARGV in this process: ('line', the error line) for exit 2, ('ok', stdout) for 0."""
    from gan_explorer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            rc = exc.code
    text = err.getvalue().strip()
    if rc == 0:
        return "ok", out.getvalue()
    last = text.splitlines()[-1] if text else ""
    if rc == 2 and "error:" in last and "Traceback" not in text:
        return "line", last
    return "traceback", text[-600:]


def model(work, name="m") -> str:
    return str(Path(work) / f"{name}.safetensors")


# 1. a file the user names ------------------------------------------------------------------------
@attack("reads", needs=["fifo.png"])
def provenance_fifo(work):
    from gan_explorer.core.latent.provenance import read_picture_provenance

    return "ok", repr(read_picture_provenance(work / "fifo.png"))


@attack("reads", needs=["m", "fifo.png"])
def generate_latent_fifo_png(work):
    return cli("generate", model(work), "--latent", work / "fifo.png", "--out", work / "o.png")


@attack("reads", needs=["m", "fifo.npy"])
def generate_latent_fifo_npy(work):
    return cli("generate", model(work), "--latent", work / "fifo.npy", "--out", work / "o.png")


@attack("reads", needs=["zero.json"])
def latent_zero_link_json(work):
    from gan_explorer.core.latent.files import load_latent

    return "ok", repr(load_latent(work / "zero.json", 6, 32).shape)


@attack("reads", needs=["fifo.json"])
def library_import_fifo(work):
    return "ok", repr(_library(work).import_file(work / "fifo.json"))


@attack("reads", needs=["m", "fifo.png"])
def project_picture_fifo(work):
    return cli("project", model(work), work / "fifo.png", "--out", work / "p.npy", "--steps", 1)


@attack("reads", needs=["m", "face.png", "fifo.safetensors"])
def encoder_fifo(work):
    return cli("project", model(work), work / "face.png", "--out", work / "p.npy", "--steps", 1,
               "--encoder", work / "fifo.safetensors")


@attack("reads", expect=("warning",))
def library_in_data_folder_fifo(work):
    return data_folder_library(work, None, make_fifo=True)


@attack("reads", expect=("warning",))
def library_in_data_folder_layer_inf(work):
    return data_folder_library(work, library([direction()]).replace('"layer_start": 0', '"layer_start": 1e999')
                               .encode())


@attack("reads", expect=("warning",))
def library_damaged_read_only_folder(work):
    return data_folder_library(work, b"{damaged", read_only=True)


def data_folder_library(work, content: bytes | None, make_fifo=False, read_only=False):
    """A DirectionLibrary opened on a data folder whose library file is `content` (or a FIFO)."""
    from gan_explorer.core.io.identity import identity_key
    from gan_explorer.core.latent.library import DirectionLibrary

    data = work / f"data-{time.time_ns()}"
    folder = data / "directions"
    folder.mkdir(parents=True)
    path = folder / f"{identity_key('ab' * 32)}.json"
    if make_fifo:
        os.mkfifo(path)
    else:
        path.write_bytes(content)
    with read_only_folder(folder) if read_only else contextlib.nullcontext():
        lib = DirectionLibrary("ab" * 32, 8, data)
    return ("warning", lib.warning) if lib.warning else ("ok", repr(lib.names()))


@contextlib.contextmanager
def read_only_folder(folder):
    """`folder` read-only for the block: mode 555, and for root (which ignores modes) immutable."""
    os.chmod(folder, 0o555)
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(folder)], check=False, capture_output=True)
    try:
        yield can_write(folder)
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=False, capture_output=True)
        os.chmod(folder, 0o755)


def can_write(folder) -> bool:
    probe = Path(folder) / ".write-probe"
    try:
        probe.write_bytes(b"")
    except OSError:
        return False
    probe.unlink()
    return True


def _library(work):
    from gan_explorer.core.latent.library import DirectionLibrary

    return DirectionLibrary("cd" * 32, 8, work / f"lib-{time.time_ns()}")


# 2. memory and time from tiny files ----------------------------------------------------------------
@attack("memory", needs=["huge.png"], expect=("ok",))
def provenance_12000px_png(work):
    from gan_explorer.core.latent.provenance import read_picture_provenance

    return "ok", repr(read_picture_provenance(work / "huge.png").state.seed)


@attack("memory", needs=["apng.png"], expect=("ok",))
def provenance_apng_3000_frames(work):
    from gan_explorer.core.latent.provenance import read_picture_provenance

    return "ok", repr(read_picture_provenance(work / "apng.png").state.seed)


@attack("memory", needs=["zipbomb.png"], expect=("ok", "line"))  # no provenance, or a line: never 200 MB
def provenance_itxt_zip_bomb(work):
    from gan_explorer.core.latent.provenance import read_picture_provenance

    return "ok", repr(read_picture_provenance(work / "zipbomb.png"))


@attack("memory", needs=["zero-library.json"])
def library_import_dev_zero(work):
    return "ok", repr(_library(work).import_file(work / "zero-library.json"))


@attack("memory", needs=["library30.json"])
def library_import_30mb(work):
    return "ok", repr(_library(work).import_file(work / "library30.json"))


@attack("memory", needs=["m", "face.png", "bomb.encoder.safetensors"])
def encoder_900_bytes(work):
    return cli("project", model(work), work / "face.png", "--out", work / "p.npy", "--steps", 1,
               "--encoder", work / "bomb.encoder.safetensors")


@attack("memory", needs=["m", "many"])
def project_20000_pictures(work):
    return cli("project", model(work), work / "many", "--out", work / "many-out", "--steps", 1)


@attack("memory", needs=["m"], expect=("ok",))
def metrics_cache_huge_header(work):
    """The real-image features cached once, then the cache file's header made to promise 10**12 rows:
    the next evaluation recomputes them, allocating nothing on the header's word."""
    argv = ("metrics", model(work), "--data", "faces:16", "--num", 2, "--metrics", "fd", "--features", "random:1",
            "--no-progress")
    first = cli(*argv)
    if first[0] != "ok":
        return first
    from gan_explorer.core.metrics.realdata import cache_dir

    damaged = list(cache_dir().rglob("random-*.npy"))
    for path in damaged:
        path.write_bytes(npy_header((10**12, 64)) + b"\0" * 256)
    kind, text = cli(*argv)
    return kind, f"{len(damaged)} cache file(s) damaged; {text.strip()[:200]}"


# 3. caps on every count ------------------------------------------------------------------------------
def _metrics(work, name, *extra):
    return cli("metrics", model(work, name), "--data", "faces:16", "--metrics", "fd,ppl", "--no-progress", *extra)


def _probe(work, name, *extra):
    return cli("probe", model(work, name), "--data", "faces:16", "--no-progress", *extra)


def _map(work, name, *extra):
    return cli("map", model(work, name), "--out", work / "map.png", "--no-progress", *extra)


COUNT_ATTACKS = {  # name: (the command, the model it needs, its arguments)
    "metrics_num_1e12": (_metrics, "m", "--num", 10**12),
    "metrics_num_real_1e12": (_metrics, "m", "--num", 4, "--num-real", 10**12),
    "metrics_num_real_negative": (_metrics, "m", "--num", 4, "--num-real", -3),
    "metrics_ppl_num_1e12": (_metrics, "m", "--num", 4, "--ppl-num", 10**12),
    "probe_num_discovered_1e9": (_probe, "m", "--num", 40, "--num-discovered", 10**9),
    "probe_num_negative": (_probe, "m", "--num", -5),
    "probe_num_1e12": (_probe, "m", "--num", 10**12),
    "probe_effect_seeds_1e12": (_probe, "m", "--num", 40, "--effect-seeds", 10**12),
    "probe_disentanglement_num_1e12": (_probe, "vae", "--factors", "none", "--disentanglement-num", 10**12),
    "probe_disentanglement_num_negative": (_probe, "vae", "--factors", "none", "--disentanglement-num", -4),
    "map_num_1e12": (_map, "m", "--num", 10**12),
    "map_size_1e6": (_map, "m", "--num", 8, "--size", 10**6),
    "map_size_negative": (_map, "m", "--num", 8, "--size", -5),
    "map_thumbnail_size_1e6": (_map, "m", "--num", 8, "--thumbnail-size", 10**6),
    "map_seed_1e20": (_map, "m", "--num", 8, "--seed", 10**20),
}
def register_table(klass, table) -> None:
    """Attacks that are one command each, {name: (command, model name, arguments)}: each must be one line."""
    for name, (command, needs, *argv) in table.items():
        ATTACKS[name] = (klass, (lambda f, m, a: lambda work: f(work, m, *a))(command, needs, argv),
                         frozenset({"line"}), (needs,))


register_table("counts", COUNT_ATTACKS)


@attack("counts", needs=["m128", "folder300"])
def project_batch_4096(work):
    """300 pictures at 128 px in one batch of --batch 4096: more than activations and gradients fit."""
    return cli("project", model(work, "m128"), work / "folder300", "--out", work / "out300", "--steps", 1,
               "--batch", 4096)


# 4. restored state and typed values -----------------------------------------------------------------------
STATES = {"psi_nan": dict(state={"truncation_psi": float("nan")}),
          "noise_mode_unknown": dict(state={"noise_mode": "bogus"}),
          "noise_seed_1e30": dict(state={"noise_seed": 10**30}),
          "noise_seed_text": dict(state={"noise_seed": "abc"}),
          "noise_seed_fraction": dict(state={"noise_seed": 1.5}),
          "noise_seed_nan": dict(state={"noise_seed": float("nan")}),
          "ws_shape_1e309": dict(ws={"shape": [1e309, 8], "dtype": "float32", "base64": ""}),
          "model_text": dict(model="x"),
          "seed_400_digits": dict(state={"seed": 10**400}),
          "offset_nan": dict(state={"w_offsets": [["d:0", 0, 3, -1, [float("nan")] * 8, 1.0]]})}


def _provenance_attack(name):
    def replay(work):
        from gan_explorer.core.latent.provenance import read_picture_provenance

        return "ok", repr(read_picture_provenance(work / f"state-{name}.png").state)[:200]
    return replay


for _name in [*STATES, "header_100000px"]:
    ATTACKS[f"provenance_{_name}"] = ("state", _provenance_attack(_name),
                                      frozenset({"line", "ok"} if _name == "header_100000px" else {"line"}),
                                      (f"state-{_name}.png",))


@attack("state", needs=["bookmarks"], expect=("warning",))
def bookmark_psi_nan(work):
    from gan_explorer.core.explorer.bookmarks import Bookmarks

    marks = Bookmarks(model(work), work / "bookmark-data", content_hash="ab" * 32)
    if marks.warning:
        return "warning", marks.warning
    return "ok", repr(marks.state(0))[:200]


@attack("state", needs=["m", "empty.npy"])
def latent_npy_no_latents(work):
    return cli("generate", model(work), "--latent", work / "empty.npy", "--out", work / "o.png")


@attack("state", needs=["library-digits.json"])
def library_vector_400_digits(work):
    return "ok", repr(_library(work).import_file(work / "library-digits.json"))


def _generate(work, name, *argv):
    return cli("generate", model(work, name), *argv, "--out", work / "o.png")


TYPED_ATTACKS = {  # name: (the command, the model it needs, its arguments)
    "class_5000_digits": (_generate, "classes", "--class", "1" * 5000),
    "class_superscript_two": (_generate, "classes", "--class", "\u00b2"),
    "condition_1e300": (_generate, "factors", "--condition", "glasses=1e300"),
    "condition_duplicated_factor": (_generate, "factors", "--condition", "glasses=1,glasses=0"),
    "condition_only_commas": (_generate, "factors", "--condition", ",,,"),
    "metrics_truncation_psi_nan": (_metrics, "m", "--num", 4, "--truncation-psi", "nan"),
    "metrics_data_faces_abc": (_metrics, "m", "--num", 4, "--data", "faces:abc"),
    "metrics_features_huge_seed": (_metrics, "m", "--num", 4, "--features", "random:" + "9" * 4000),
}
register_table("state", TYPED_ATTACKS)


@attack("state", needs=["nested-run"])
def metrics_run_options_nested(work):
    return cli("metrics", "--run-dir", work / "nested-run", "--num", 4, "--no-progress")


# 5. info ---------------------------------------------------------------------------------------------------
@attack("info", needs=["escape"], expect=("ok",))
def info_class_names_escape(work):
    return cli("info", model(work, "escape"))


# --- the files ----------------------------------------------------------------------------------------------
TINY_STYLEGAN = dict(z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=32, mapping_layers=2)


def _save(work, name, family, **options):
    import torch

    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model

    torch.manual_seed(0)
    save_model(build_model(family, **options), work / f"{name}.safetensors")


def _pictures(folder, count, make):
    folder.mkdir()
    for i in range(count):
        (folder / f"{i:05d}.png").write_bytes(make(i))


def _rgb_png(i):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (i * 40 % 256, 30, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _encoder_bomb_file(work):
    from gan_explorer.core.io.checkpoint import load_model

    return encoder_bomb(load_model(work / "m.safetensors"))


def _bookmarks(work):
    from gan_explorer.core.io.identity import identity_key

    folder = work / "bookmark-data" / "bookmarks"
    folder.mkdir(parents=True)
    (folder / f"{identity_key('ab' * 32)}.json").write_text(json.dumps(
        {"model": "m", "bookmarks": [{"name": "a", "state": {"seed": 1, "truncation_psi": float("nan")},
                                      "thumbnail": ""}]}))


def _nested_run(work):
    (work / "nested-run").mkdir()
    (work / "nested-run" / "options.json").write_text(deep_json())


def _empty_npy(work):
    import numpy as np

    with open(work / "empty.npy", "wb") as f:
        np.save(f, np.zeros((0, 6, 32), np.float32))


FILES = {
    "m": lambda w: _save(w, "m", "stylegan", **TINY_STYLEGAN),
    "classes": lambda w: _save(w, "classes", "stylegan", **TINY_STYLEGAN, c_dim=3, c_names=["cat", "dog", "fox"]),
    "factors": lambda w: _save(w, "factors", "dcgan", z_dim=16, img_resolution=16, ngf=8, ndf=8, c_dim=2,
                               c_kind="factors", c_names=["glasses", "smile"]),
    "escape": lambda w: _save(w, "escape", "stylegan", **TINY_STYLEGAN, c_dim=2, c_names=[ESCAPE + "cat", "dog"]),
    "vae": lambda w: _save(w, "vae", "vae", z_dim=16, img_resolution=16, base_channels=8, channel_max=32),
    **{name: (lambda n: lambda w: fifo(w / n))(name)
       for name in ("fifo.png", "fifo.npy", "fifo.json", "fifo.safetensors")},
    "zero.json": lambda w: zero_link(w / "zero.json"),
    "zero-library.json": lambda w: zero_link(w / "zero-library.json"),
    "face.png": lambda w: (w / "face.png").write_bytes(_rgb_png(2)),
    "m128": lambda w: _save(w, "m128", "stylegan", **{**TINY_STYLEGAN, "img_resolution": 128}),
    "folder300": lambda w: _pictures(w / "folder300", 300, _rgb_png),
    "many": lambda w: _pictures(w / "many", 20000, lambda i: png(1, 1)),
    "huge.png": lambda w: (w / "huge.png").write_bytes(huge_canvas_png(provenance_text())),
    "apng.png": lambda w: (w / "apng.png").write_bytes(apng_bomb(provenance_text())),
    "zipbomb.png": lambda w: (w / "zipbomb.png").write_bytes(png(8, 8, [zip_bomb_itxt()])),
    "library30.json": lambda w: (w / "library30.json").write_bytes(library_30mb()),
    "library-digits.json": lambda w: (w / "library-digits.json").write_text(  # 400 digits in a vector
        library([direction()]).replace("[1.0, 0.0", "[" + "9" * 400 + ", 0.0", 1)),
    "bomb.encoder.safetensors": lambda w: (w / "bomb.encoder.safetensors").write_bytes(_encoder_bomb_file(w)),
    **{f"state-{name}.png": (lambda n, c: lambda w: (w / f"state-{n}.png").write_bytes(provenance_png(
        provenance_text(c.get("state"), **{k: v for k, v in c.items() if k != "state"}))))(name, changes)
       for name, changes in STATES.items()},
    "state-header_100000px.png": lambda w: (w / "state-header_100000px.png").write_bytes(
        png(100000, 100000, [itxt("gan_explorer", provenance_text())], idat=chunk(b"IDAT", b""))),
    "bookmarks": _bookmarks,
    "empty.npy": _empty_npy,
    "nested-run": _nested_run,
}
ORDER = list(FILES)  # the model before the files made from it


def prepare(work, names) -> None:
    """Every file the attacks `names` need, in `work`."""
    needed = {need for name in names for need in ATTACKS[name][3]}
    if "bomb.encoder.safetensors" in needed:
        needed.add("m")
    for key in ORDER:
        if key in needed:
            FILES[key](Path(work))


def isolated_env(home) -> dict:
    """The environment of a child that must not touch the user's home, data or caches."""
    home = Path(home)
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"),
            "GAN_EXPLORER_DATA": str(home / "data"), "GAN_EXPLORER_CACHE": str(home / "cache"),
            "OMP_NUM_THREADS": "1"}


def peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM). getrusage's ru_maxrss is not used: across exec it
    keeps the parent's mark, so a child of a large pytest process would look as large."""
    with open("/proc/self/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmHWM"))) / 1024


def child_main(argv) -> None:
    """`python -m tests.core.io.hostile_reads WORK NAME...`: replay attacks in this one process, a
    JSON line each as it ends (so a hang shows which), then {"peak_rss_mb": ...}."""
    import gan_explorer.cli  # noqa: F401  (imports first: an attack's seconds are its own)
    import torch  # noqa: F401

    work, names = argv[0], argv[1:]
    for name in names:
        t0 = time.perf_counter()
        kind, text = run(name, work)
        print(json.dumps({"name": name, "outcome": kind, "text": text[:2000],
                          "seconds": round(time.perf_counter() - t0, 2)}), flush=True)
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)


if __name__ == "__main__":
    import sys

    child_main(sys.argv[1:])
