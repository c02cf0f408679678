"""Issue #26, the read side: a file the user names is regular-file-checked and size-bounded before
it is read, nothing from a tiny file costs gigabytes or minutes, every count is capped, a restored
state is validated as a typed one is, and class names reach the terminal escaped.

Each class replays its attacks (tests/core/io/hostile_reads.py, also behind
benchmarks/attacks_reads.py) in one child process: the child's timeout is the hang detector (a
hung attack is named), and the memory class asserts the child's own peak RSS. Focused tests of
each reader follow."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from gan_explorer.core.errors import ConfigError, GanExplorerError
from tests.core.io import hostile_reads as h

ROOT = Path(__file__).resolve().parents[3]
PEAK_LIMIT_MB = 600


def _replay(tmp_path, klass):
    """Every attack of `klass` in one child; ({name: row}, the child's peak RSS in MB)."""
    names = [name for name, (k, *_) in h.ATTACKS.items() if k == klass]
    work = tmp_path / "work"
    work.mkdir()
    h.prepare(work, names)
    env = {**h.isolated_env(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    timeout = 60 + 30 * len(names)  # a hang detector, not a speed figure
    try:
        result = subprocess.run([sys.executable, "-m", "tests.core.io.hostile_reads", str(work), *names],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        ended = [json.loads(line)["name"] for line in out.splitlines() if line.startswith('{"name"')]
        pytest.fail(f"{next(n for n in names if n not in ended)} hung (no end within {timeout} s; ended: {ended})")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert rows and "peak_rss_mb" in rows[-1], result.stderr[-3000:]
    return {row["name"]: row for row in rows[:-1]}, rows[-1]["peak_rss_mb"]


def _assert_held(report):
    broke = {name: h.held(name, (row["outcome"], row["text"])) for name, row in report.items()}
    assert not any(broke.values()), {name: why for name, why in broke.items() if why}


# --- each class, replayed ----------------------------------------------------------------------------
@pytest.mark.slow
def test_files_the_user_names_are_checked_before_they_are_opened(tmp_path):
    """FIFOs named .png / .json / .safetensors, /dev/zero through a link, a damaged library in the
    data folder (a FIFO, a layer_start of 1e999, damage in a read-only folder): each ends, one line
    or a warning, and the library's model still opens."""
    report, _ = _replay(tmp_path, "reads")
    _assert_held(report)
    assert "not a regular file (a FIFO)" in report["provenance_fifo"]["text"]


@pytest.mark.slow
def test_tiny_files_cost_neither_memory_nor_minutes(tmp_path):
    """Every memory case in one process: a 12000x12000 PNG and an APNG of 3000 frames read for their
    provenance, an iTXt bomb, Library > Import of /dev/zero and of 30 MB, a 900-byte encoder whose
    config plans tens of gigabytes, a folder of 20,000 pictures, a metrics cache promising 10**12
    rows. The peak is the child's own high-water mark (VmHWM: getrusage's ru_maxrss keeps the
    forking pytest's across exec)."""
    report, peak = _replay(tmp_path, "memory")
    _assert_held(report)
    assert peak < PEAK_LIMIT_MB, (peak, {name: row["seconds"] for name, row in report.items()})


@pytest.mark.slow
def test_every_count_is_capped_before_any_work(tmp_path):
    """metrics --num / --num-real / --ppl-num, probe --num / --num-discovered / --effect-seeds /
    --disentanglement-num, map --num / --size / --thumbnail-size / --seed, project --batch: 10**12,
    negative and huge values are one line at once."""
    report, _ = _replay(tmp_path, "counts")
    _assert_held(report)


@pytest.mark.slow
def test_restored_states_and_typed_values_are_validated(tmp_path):
    """Provenance PNGs (psi NaN, unknown noise mode, noise seeds 10**30 / 'abc' / 1.5 / NaN, a ws
    shape of 1e309, a 100000x100000 header, "model": "x", a 400-digit seed), a bookmark with psi NaN,
    a .npy of 0 latents, a library vector of 400 digits, --class of 5000 digits or '²',
    --condition glasses=1e300 / a factor twice / ',,,', metrics --truncation-psi nan / --data
    faces:abc / --features random:<4000 digits>, a deeply nested options.json."""
    report, _ = _replay(tmp_path, "state")
    _assert_held(report)


def test_info_escapes_class_names(tmp_path, capsys):
    from gan_explorer.cli import main

    h.prepare(tmp_path, ["info_class_names_escape"])
    assert main(["info", str(tmp_path / "escape.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J\\x1b[Hcat, dog" in out


# --- reading a file the user names ----------------------------------------------------------------------
def test_read_user_file_refuses_what_is_not_a_regular_file_and_bounds_what_it_reads(tmp_path):
    from gan_explorer.core.io.reading import UserFileError, read_user_file, read_user_json

    fifo = h.fifo(tmp_path / "named.png")
    zero = h.zero_link(tmp_path / "zero.json")
    (tmp_path / "small.json").write_text('{"a": 1}')
    cases = {fifo: "not a regular file (a FIFO)", zero: "not a regular file (a character device)",
             tmp_path: "not a regular file (a folder)", tmp_path / "missing": "no such file"}
    for path, reason in cases.items():
        with pytest.raises(UserFileError) as info:
            read_user_file(path, 100)  # returns at once: a FIFO is never opened
        assert info.value.reason == reason and str(info.value) == f"{path}: {reason}"
    assert read_user_json(tmp_path / "small.json", 8) == {"a": 1}
    with pytest.raises(UserFileError, match="too large for a library .more than 7 bytes"):
        read_user_json(tmp_path / "small.json", 7, "library")
    (tmp_path / "deep.json").write_text("[" * 40 + "]" * 40)
    with pytest.raises(UserFileError, match="nested too deeply"):
        read_user_json(tmp_path / "deep.json", 1000)


def test_png_text_is_read_from_the_chunks_without_decoding_pixels(tmp_path):
    from gan_explorer.core.io.reading import read_png_text

    info = PngInfo()
    info.add_text("other", "x")
    info.add_text("plain", "latin \xe9")
    info.add_text("squeezed", "z" * 1000, zip=True)
    info.add_itxt("gan_explorer", "{\"a\": \"\u00fc\"}", zip=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "p.png", pnginfo=info)
    assert read_png_text(tmp_path / "p.png", "gan_explorer", 100) == "{\"a\": \"\u00fc\"}"
    assert read_png_text(tmp_path / "p.png", "plain", 100) == "latin \xe9"
    assert read_png_text(tmp_path / "p.png", "squeezed", 1000) == "z" * 1000
    with pytest.raises(GanExplorerError, match="inflates past 999 bytes"):
        read_png_text(tmp_path / "p.png", "squeezed", 999)
    assert read_png_text(tmp_path / "p.png", "missing", 100) is None
    # After the pixels (where some tools move text), and a damaged one said so.
    after = h.PNG_SIGNATURE + h.ihdr(2, 2) + h.blank_idat(2, 2) + h.itxt("gan_explorer", "late") + h.chunk(b"IEND", b"")
    (tmp_path / "late.png").write_bytes(after)
    assert read_png_text(tmp_path / "late.png", "gan_explorer", 100) == "late"
    broken = bytearray(after)
    broken[-20] ^= 1
    (tmp_path / "broken.png").write_bytes(bytes(broken))
    with pytest.raises(GanExplorerError, match="CRC"):
        read_png_text(tmp_path / "broken.png", "gan_explorer", 100)
    Image.new("RGB", (4, 4)).save(tmp_path / "j.jpg")
    assert read_png_text(tmp_path / "j.jpg", "gan_explorer", 100) is None  # not a PNG: no provenance


def test_an_apng_is_read_for_its_provenance_without_its_frames(tmp_path):
    """Pillow's `.text` seeks to the last frame: 3000 frames on an 8000 px canvas, minutes. The chunk
    reader never decodes a frame (the memory class replays this one for time and memory)."""
    from gan_explorer.core.latent.provenance import read_picture_provenance

    (tmp_path / "a.png").write_bytes(h.apng_bomb(h.provenance_text(), side=64, frames=50))
    assert read_picture_provenance(tmp_path / "a.png").state.seed == 3


def test_an_exported_picture_still_restores(tmp_path):
    from gan_explorer.core.io.images import png_info, save_image
    from gan_explorer.core.latent.provenance import export_metadata, read_picture_provenance
    from gan_explorer.core.latent.state import LatentState, WOffset

    state = LatentState(seed=7, truncation_psi=0.5, noise_mode="random", noise_seed=2**40, z_edits=((3, 0.5),),
                        w_offsets=(WOffset("d:1", 0, 3, -1, (0.6, 0.8), 1.5),), mix_seed=4, mix_layers=(0, 1))
    ws = np.arange(12, dtype=np.float32).reshape(3, 4)
    save_image(tmp_path / "e.png", np.zeros((8, 8, 3), np.uint8),
               pnginfo=png_info(export_metadata("m.safetensors", "ab" * 32, state, ws)))
    provenance = read_picture_provenance(tmp_path / "e.png")
    assert provenance.state == state and np.array_equal(provenance.ws, ws) and provenance.made_with("ab" * 32)


# --- one validator for a state ------------------------------------------------------------------------------
def test_a_state_is_validated_whether_typed_or_restored():
    from gan_explorer.core.latent.state import (
        LatentState, StateError, state_from_dict, state_to_dict, validate_state,
    )

    good = LatentState(seed=5, ws=((1.0, 2.0), (3.0, 4.0)), condition=(0.0, 1.0), truncation_cutoff=4)
    assert state_from_dict(state_to_dict(good)) == good == validate_state(good)
    for bad in (dict(truncation_psi=float("nan")), dict(noise_mode="bogus"), dict(noise_seed=10**30),
                dict(noise_seed="abc"), dict(noise_seed=1.5), dict(seed=-1), dict(seed=10**5000),
                dict(ws=((1.0,), (1.0, 2.0))), dict(mix_layers=(2000,)), dict(transform=(0.0, 0.0))):
        with pytest.raises(StateError) as info:
            validate_state(LatentState(**bad))
        assert "\n" not in str(info.value) and len(str(info.value)) < 300, str(info.value)
        with pytest.raises(StateError):
            state_from_dict({**state_to_dict(LatentState()), **{k: list(v) if isinstance(v, tuple) else v
                                                                for k, v in bad.items()}})
    # One line for the window, and a ValueError for readers that set a damaged file aside (bookmarks).
    assert issubclass(StateError, ConfigError) and issubclass(StateError, ValueError)
    from gan_explorer.core.latent.state import NOISE_MODES
    from gan_explorer.core.models.stylegan import NOISE_MODES as RENDERED

    assert NOISE_MODES == RENDERED  # the validator knows the modes without loading torch


# --- the direction library ----------------------------------------------------------------------------------
def test_a_damaged_library_in_a_read_only_folder_is_left_alone_and_never_overwritten(tmp_path):
    from gan_explorer.core.io.identity import identity_key
    from gan_explorer.core.latent.library import DirectionLibrary, make_direction

    folder = tmp_path / "directions"
    folder.mkdir()
    path = folder / f"{identity_key('ab' * 32)}.json"
    path.write_text(h.library([h.direction(layer_start=10**400)]))
    with h.read_only_folder(folder) as writable:
        if writable:
            pytest.skip("this machine cannot make a folder read-only")
        library = DirectionLibrary("ab" * 32, 8, tmp_path)
    assert library.directions == [] and "could not be set aside" in library.warning
    assert "\n" not in library.warning and path.read_text().count("smile") == 1
    with pytest.raises(GanExplorerError, match="not overwriting it"):
        library.add(make_direction("new", [1.0] + [0.0] * 7))
    assert "new" not in path.read_text()
    # Writable again: the same file is set aside (kept) and the library starts empty.
    library = DirectionLibrary("ab" * 32, 8, tmp_path)
    assert library.directions == [] and "kept as" in library.warning and not path.exists()
    assert len(list(folder.glob("*.damaged-*.json"))) == 1


def test_library_import_caps_directions_and_checks_each_vector_before_converting_it(tmp_path):
    from gan_explorer.core.latent import library as lib

    target = lib.DirectionLibrary("cd" * 32, 8, tmp_path)
    (tmp_path / "many.json").write_text(h.library([h.direction(f"d{i}") for i in range(lib.MAX_DIRECTIONS + 1)]))
    with pytest.raises(GanExplorerError, match="more than the 512 a library holds"):
        target.import_file(tmp_path / "many.json")
    (tmp_path / "wide.json").write_text(h.library([h.direction(vector=[0.5] * 10**6)]))
    with pytest.raises(GanExplorerError, match="1000000 dimensions, this model's w has 8"):
        target.import_file(tmp_path / "wide.json")
    (tmp_path / "ok.json").write_text(h.library([h.direction("smile"), h.direction("age", layer_start=2)]))
    assert target.import_file(tmp_path / "ok.json") == ["smile", "age"]
    assert lib.DirectionLibrary("cd" * 32, 8, tmp_path).get("age").layer_start == 2


# --- the encoder --------------------------------------------------------------------------------------------
def test_an_encoder_file_is_planned_and_compared_before_it_is_built(tmp_path):
    from safetensors.torch import save

    from gan_explorer.core.errors import CheckpointError
    from gan_explorer.core.io.identity import memory_identity
    from gan_explorer.core.latent.encoder import EncoderConfig, LatentEncoder, load_encoder, save_encoder
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    model = build_model("stylegan", **TINY["stylegan"])
    (tmp_path / "bomb.safetensors").write_bytes(h.encoder_bomb(model))
    with pytest.raises(CheckpointError, match="more than 67,108,864 parameters"):
        load_encoder(tmp_path / "bomb.safetensors", model)
    # Under the cap, but not what the file holds: refused by comparing, nothing built.
    config = {"num_ws": model.num_ws, "w_dim": model.w_dim, "img_channels": 3, "input_resolution": 64,
              "base_channels": 16, "channel_max": 256, "hidden": 4096}
    metadata = {"format": "gan_explorer.latent_encoder", "config": json.dumps(config),
                "model_hash": memory_identity(model)}
    (tmp_path / "short.safetensors").write_bytes(save({"w_avg": torch.zeros(model.w_dim)}, metadata=metadata))
    with pytest.raises(CheckpointError, match="tensors do not match the encoder .missing"):
        load_encoder(tmp_path / "short.safetensors", model)
    encoder = LatentEncoder(EncoderConfig(num_ws=model.num_ws, w_dim=model.w_dim, input_resolution=16))
    save_encoder(encoder, tmp_path / "good.safetensors", model)
    loaded = load_encoder(tmp_path / "good.safetensors", model)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), encoder.state_dict().values()))


# --- counts and conditions ------------------------------------------------------------------------------------
def test_counts_are_checked_in_the_core_functions_the_window_calls_too():
    from gan_explorer.core.analysis.latent_map import check_figure, check_map
    from gan_explorer.core.analysis.probe import check_probe
    from gan_explorer.core.metrics.evaluate import check_evaluation

    for call in (lambda: check_evaluation(10**12), lambda: check_evaluation(10, num_real=-3),
                 lambda: check_evaluation(10, ppl_num=10**12), lambda: check_evaluation(10, truncation_psi=float("nan")),
                 lambda: check_evaluation(10, seed=2**32 - 5), lambda: check_evaluation(10, data="faces:abc"),
                 lambda: check_probe(-5), lambda: check_probe(100, num_discovered=10**9),
                 lambda: check_probe(100, effect_seeds=10**12), lambda: check_map(10**12),
                 lambda: check_map(8, thumbnail_size=10**6), lambda: check_map(8, seed=10**20),
                 lambda: check_figure(10**6), lambda: check_figure(-5), lambda: check_map(10**30 + 0.5)):
        with pytest.raises(ConfigError) as info:
            call()
        assert "\n" not in str(info.value)
    from gan_explorer.core.training.options import TrainingOptions

    with pytest.raises(ConfigError, match="--metrics-num 1000000000000: must be from 2 to 50000"):
        TrainingOptions(family="dcgan", data="faces:16", metrics_num=10**12).validate()  # each snapshot's evaluation
    check_evaluation(5000, 2000, 1000, 0.7, 3, "faces:64")
    check_probe(2000, 10, 64, 32, 0, 1.0)
    check_map(2000, 32, 0, 1.0)
    check_figure(1400, 40)


def test_a_condition_is_refused_when_ambiguous_or_out_of_range():
    from gan_explorer.core.models.conditioning import Conditioning

    classes = Conditioning("class", 3, ("cat", "dog", "fox"))
    factors = Conditioning("factors", 2, ("glasses", "smile"))
    for call, reason in ((lambda: classes.parse("1" * 900), "classes 0 to 2"),
                         (lambda: classes.parse("\u00b2"), "not a class of this model"),
                         (lambda: factors.parse("glasses=1e300"), "finite number from -1e[+]06 to 1e[+]06"),
                         (lambda: factors.parse("glasses=1,smile=0,glasses=0"), "'glasses' is given twice"),
                         (lambda: factors.parse(",,,"), "no NAME=VALUE pair")):
        with pytest.raises(ConfigError, match=reason):
            call()
    assert classes.parse("2").tolist() == [0, 0, 1] and factors.parse("smile=0.5,").tolist() == [0, 0.5]


# --- a folder of pictures ------------------------------------------------------------------------------------------
def test_a_folder_is_capped_while_listed_and_checked_without_keeping_its_pictures(tmp_path):
    from gan_explorer.core.latent.projection import check_pictures, folder_pictures

    for i in range(4):
        (tmp_path / f"{i}.png").write_bytes(h.png(1, 1))
    os.mkfifo(tmp_path / "fifo.png")  # not a regular file: not a picture of the folder
    (tmp_path / ".hidden.png").write_bytes(b"")
    assert [p.name for p in folder_pictures(tmp_path, {".png"})] == ["0.png", "1.png", "2.png", "3.png"]
    with pytest.raises(ConfigError, match="more than 3 pictures"):
        folder_pictures(tmp_path, {".png"}, limit=3)
    (tmp_path / "3.png").write_bytes(h.png(1, 1)[:-20])
    with pytest.raises(GanExplorerError, match="3.png: not a readable picture"):
        check_pictures(folder_pictures(tmp_path, {".png"}))


def test_a_zip_bomb_in_provenance_inflates_no_further_than_the_limit(tmp_path):
    from gan_explorer.core.latent.provenance import read_picture_provenance

    (tmp_path / "z.png").write_bytes(h.png(8, 8, [h.zip_bomb_itxt(20)]))
    with pytest.raises(GanExplorerError, match="inflates past"):
        read_picture_provenance(tmp_path / "z.png")
