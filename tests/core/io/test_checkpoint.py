import json
import os
import struct

import pytest
import torch
from safetensors.torch import save_file

from gan_explorer.core.errors import CheckpointError
from gan_explorer.core.io.checkpoint import load_model, read_metadata, save_model
from gan_explorer.core.io.models import open_model
from gan_explorer.core.models import build_model
from tests.conftest import TINY


@pytest.mark.parametrize("family", sorted(TINY))
def test_save_load_is_bit_identical(family, tmp_path):
    model = build_model(family, **TINY[family]).eval()
    path = save_model(model, tmp_path / f"{family}.safetensors", provenance={"note": "test"})
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.provenance["note"] == "test"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with torch.no_grad():
        if family == "cyclegan":
            x = torch.rand(1, 3, 32, 32)
            assert torch.equal(model.translate(x), loaded.translate(x))
        else:
            z = model.sample_z(2, 3)
            assert torch.equal(model.generate(z, 0.7), loaded.generate(z, 0.7))


def test_metadata_records_family_config_and_provenance(tmp_path):
    model = build_model("dcgan", **TINY["dcgan"])
    path = save_model(model, tmp_path / "m.safetensors")
    meta = read_metadata(path)
    assert meta["family"] == "dcgan"
    assert json.loads(meta["config"])["ngf"] == 8
    assert "torch_version" in json.loads(meta["provenance"])


def test_provenance_keeps_no_local_path(tmp_path):
    """A model file given away names no folder of the machine that wrote it, at any depth."""
    model = build_model("dcgan", **TINY["dcgan"])
    path = save_model(model, tmp_path / "m.safetensors", provenance={
        "data": "/home/ann/photos/", "data_b": "C:\\Users\\ann\\horses.zip", "run_dir": "/work/runs/x",
        "kimg": 12.5, "note": "faces:64", "training": {"lr": 0.002, "cache": "~/cache", "seed": 3},
        "sources": ["/tmp/a.png", "b.png"]})
    provenance = json.loads(read_metadata(path)["provenance"])
    assert provenance["data"] == "photos" and provenance["data_b"] == "horses.zip"
    assert "run_dir" not in provenance and provenance["training"] == {"lr": 0.002, "seed": 3}
    assert provenance["sources"] == ["b.png"] and provenance["kimg"] == 12.5 and provenance["note"] == "faces:64"
    assert load_model(path).provenance == provenance


@pytest.fixture
def good_file(tmp_path):
    model = build_model("stylegan", **TINY["stylegan"])
    return save_model(model, tmp_path / "good.safetensors"), model


def _tensors(model):
    return {k: v.clone().contiguous() for k, v in model.state_dict().items()}


def _meta(model, **changes):
    meta = {"format": "gan_explorer", "family": model.family, "config": model.config.to_json()}
    meta.update(changes)
    return meta


def _bad(tmp_path, kind, good):
    path, model = good
    bad = tmp_path / f"{kind}.safetensors"
    data = path.read_bytes()
    if kind == "zero":
        bad.write_bytes(b"")
    elif kind == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "random":
        bad.write_bytes(os.urandom(4096))
    elif kind == "tiny":
        bad.write_bytes(b"abc")
    elif kind == "directory":
        bad.mkdir()
    elif kind == "no_metadata":
        save_file(_tensors(model), str(bad))
    elif kind == "unknown_family":
        save_file(_tensors(model), str(bad), metadata=_meta(model, family="biggan"))
    elif kind == "bad_config":
        save_file(_tensors(model), str(bad), metadata=_meta(model, config='{"img_resolution": 48}'))
    elif kind == "missing":
        tensors = _tensors(model)
        del tensors["mapping.fc0.weight"]
        save_file(tensors, str(bad), metadata=_meta(model))
    elif kind == "extra":
        save_file({**_tensors(model), "foo": torch.zeros(1)}, str(bad), metadata=_meta(model))
    elif kind == "shape":
        tensors = _tensors(model)
        tensors["mapping.fc0.weight"] = torch.zeros(3, 3)
        save_file(tensors, str(bad), metadata=_meta(model))
    elif kind == "nan":
        tensors = _tensors(model)
        tensors["synthesis.b4.const"][0, 0, 0] = float("nan")
        save_file(tensors, str(bad), metadata=_meta(model))
    elif kind == "huge_header":
        bad.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    return bad


@pytest.mark.parametrize("kind,reason", [
    ("zero", "empty file"),
    ("tiny", "too short"),
    ("truncated", "truncated"),
    ("random", "not a safetensors file|not a readable safetensors|truncated"),
    ("huge_header", "not a safetensors file"),
    ("directory", "is a directory"),
    ("no_metadata", "without gan_explorer metadata"),
    ("unknown_family", "unknown model family 'biggan'"),
    ("bad_config", "invalid stylegan config"),
    ("missing", "missing tensors: mapping.fc0.weight"),
    ("extra", "unexpected tensors: foo"),
    ("shape", "'mapping.fc0.weight' has shape \\[3, 3\\]"),
    ("nan", "'synthesis.b4.const' contains NaN"),
])
def test_bad_files_give_one_clear_error(tmp_path, good_file, kind, reason):
    bad = _bad(tmp_path, kind, good_file)
    with pytest.raises(CheckpointError, match=reason) as info:
        load_model(bad)
    message = str(info.value)
    assert message.startswith(str(bad)) and "\n" not in message


def test_missing_file_and_wrong_family(tmp_path, good_file):
    with pytest.raises(CheckpointError, match="no such file"):
        load_model(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="holds a 'stylegan' model, expected 'vae'"):
        load_model(good_file[0], family="vae")


def test_foreign_suffixes_go_to_the_importers(tmp_path):
    pkl = tmp_path / "network.pkl"
    pkl.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(CheckpointError, match="not a readable network pickle"):
        open_model(pkl)


def test_save_is_atomic(tmp_path, good_file):
    path, model = good_file
    before = path.read_bytes()
    bigger = build_model("stylegan", **{**TINY["stylegan"], "channel_max": 64})
    # A real write failure: the file-size limit stops the write part-way (EFBIG), as a full disk would.
    script = (f"import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
              f"resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) // 2}, {len(before) // 2}));"
              f"from gan_explorer.core.io.checkpoint import load_model, save_model;"
              f"from gan_explorer.core.errors import GanExplorerError;"
              f"m = load_model(sys.argv[1])\n"
              f"try:\n    save_model(m, sys.argv[2])\nexcept GanExplorerError as e:\n    print(e); sys.exit(2)")
    save_model(bigger, tmp_path / "bigger.safetensors")
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "bigger.safetensors"), str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    line = result.stdout.strip()
    assert "\n" not in line and str(path) in line and "file size limit" in line and "bytes needed" in line
    assert path.read_bytes() == before  # the old file survives a failed write
    assert [p.name for p in path.parent.iterdir() if ".tmp" in p.name] == []
