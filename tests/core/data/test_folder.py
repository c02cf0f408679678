import io
import logging
import os
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.core.data import DatasetError, ImageFolderDataset, open_dataset
from gan_explorer.core.data.loader import EndlessSampler, make_loader


def _png(array, mode=None):
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(image):
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _gradient(w, h, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=3)
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    return np.clip(base + 100 * x + 50 * y, 0, 255).astype(np.uint8) * np.ones((h, w, 3), np.uint8)


@pytest.fixture
def messy_folder(tmp_path):
    root = tmp_path / "messy"
    (root / "cats").mkdir(parents=True)
    (root / "dogs" / "deep").mkdir(parents=True)
    good = {
        "cats/rgb.png": _png(_gradient(40, 30, 1)),
        "cats/rgba.png": _png(np.dstack([_gradient(32, 32, 2), np.full((32, 32), 128, np.uint8)])),
        "cats/cmyk.jpg": _jpeg(Image.fromarray(_gradient(48, 64, 3)).convert("CMYK")),
        "dogs/gray16.png": _png((np.arange(32 * 32).reshape(32, 32) * 60).astype(np.uint16)),
        "dogs/huge.jpg": _jpeg(Image.fromarray(_gradient(4000, 3000, 4))),
        "dogs/deep/photo.webp": None,
        "dogs/deep/pic.bmp": None,
    }
    buf = io.BytesIO()
    Image.fromarray(_gradient(20, 20, 5)).save(buf, format="WEBP")
    good["dogs/deep/photo.webp"] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(_gradient(20, 24, 6)).save(buf, format="BMP")
    good["dogs/deep/pic.bmp"] = buf.getvalue()
    full_png = _png(_gradient(64, 64, 7))
    full_jpg = _jpeg(Image.fromarray(_gradient(64, 64, 8)))
    bad = {
        "cats/corrupt.jpg": os.urandom(3000),
        "cats/truncated.png": full_png[: len(full_png) // 2],
        "dogs/truncated.jpg": full_jpg[: len(full_jpg) // 2],
        "dogs/empty.png": b"",
        "dogs/notes.png": b"this is a text file, not a PNG\n" * 20,
    }
    for name, data in {**good, **bad}.items():
        (root / name).write_bytes(data)
    (root / "README.txt").write_text("not an image")
    return root, good, bad


def test_messy_folder_loads_the_good_and_counts_the_bad(messy_folder, caplog):
    root, good, bad = messy_folder
    with caplog.at_level(logging.WARNING):
        ds = ImageFolderDataset(root, 32)
    assert sorted(ds.files) == sorted(good)
    assert sorted(name for name, _ in ds.report.skipped) == sorted(bad)
    assert ds.report.ignored == 1
    for name in bad:  # one warning per bad file, naming it
        assert sum(name in r.getMessage() for r in caplog.records) == 1
    reasons = dict(ds.report.skipped)
    assert "empty" in reasons["dogs/empty.png"]
    assert "truncated" in reasons["dogs/truncated.jpg"]
    for i in range(len(ds)):
        image, label = ds[i]
        assert image.shape == (3, 32, 32) and -1 <= image.min() <= image.max() <= 1
    assert ds.class_names == ["cats", "dogs"]
    assert ds.labels[ds.files.index("dogs/deep/pic.bmp")] == 1


def test_modes_are_converted_sensibly(messy_folder):
    root, _, _ = messy_folder
    ds = ImageFolderDataset(root, 32)
    gray16 = ds.load(ds.files.index("dogs/gray16.png"))
    assert gray16.max() > 200  # scaled from 16 bits, not saturated or truncated
    assert len(np.unique(gray16)) > 50
    rgba = ds.load(ds.files.index("cats/rgba.png"))
    assert rgba.mean() > 120  # half-transparent over white
    gray = ImageFolderDataset(root, 16, channels=1)
    assert gray[0][0].shape == (1, 16, 16)


def test_zip_and_folder_give_the_same_tensors(messy_folder, tmp_path):
    root, good, bad = messy_folder
    archive = tmp_path / "messy.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(root).as_posix())
    a, b = ImageFolderDataset(root, 24), ImageFolderDataset(archive, 24)
    assert a.files == b.files and a.labels == b.labels
    for i in range(len(a)):
        assert torch.equal(a[i][0], b[i][0])
    assert len(b.report.skipped) == len(bad)


def test_crop_pad_and_flip(tmp_path):
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, :20] = 255  # left half white
    (tmp_path / "wide.png").write_bytes(_png(image))
    crop = ImageFolderDataset(tmp_path, 20).load(0)
    pad = ImageFolderDataset(tmp_path, 20, fit="pad").load(0)
    assert crop.shape == pad.shape == (20, 20, 3)
    assert pad[0].max() == 0 and pad[10, 2].min() > 200  # padded rows are black; content in the middle
    flipped = ImageFolderDataset(tmp_path, 20, hflip=True)
    torch.manual_seed(0)
    seen = {tuple(flipped[0][0][0, 10, [0, -1]].tolist()) for _ in range(20)}
    assert len(seen) == 2  # both orientations occur


@pytest.mark.parametrize("setup,message", [
    ("missing", "no such folder or zip file"),
    ("empty", "no images found"),
    ("all_bad", "no readable image"),
    ("not_zip", "not a folder or a .zip"),
])
def test_unusable_datasets_are_one_clear_error(tmp_path, setup, message):
    path = tmp_path / "data"
    if setup == "empty":
        path.mkdir()
    elif setup == "all_bad":
        path.mkdir()
        (path / "a.png").write_bytes(b"nope")
    elif setup == "not_zip":
        path = tmp_path / "data.png"
        path.write_bytes(b"nope")
    with pytest.raises(DatasetError, match=message) as info:
        ImageFolderDataset(path, 32)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_loader_with_workers_streams_batches(messy_folder):
    root, good, _ = messy_folder
    ds = ImageFolderDataset(root, 16)
    loader = make_loader(ds, batch_size=4, workers=2, seed=1)
    batches = []
    for i, (images, labels) in enumerate(loader):
        batches.append(images)
        if i == 3:
            break
    assert all(b.shape == (4, 3, 16, 16) for b in batches)


def test_endless_sampler_is_seeded_sharded_and_resumable():
    take = lambda s, n: [i for _, i in zip(range(n), s)]  # noqa: E731
    full = take(EndlessSampler(10, seed=3), 25)
    assert sorted(full[:10]) == list(range(10)) and full[:10] != full[10:20]
    assert take(EndlessSampler(10, seed=3, start=7), 18) == full[7:25]
    r0 = take(EndlessSampler(10, seed=3, rank=0, world_size=2), 5)
    r1 = take(EndlessSampler(10, seed=3, rank=1, world_size=2), 5)
    assert sorted(r0 + r1) == sorted(full[:10])


def test_open_dataset_by_name(tmp_path):
    faces = open_dataset("faces:32")
    assert faces[0][0].shape == (3, 32, 32)
    assert open_dataset("faces", 16)[0][0].shape == (3, 16, 16)
    with pytest.raises(Exception, match="differs"):
        open_dataset("faces:32", 64)


def test_builtin_datasets_shipped_in_packages():
    digits = open_dataset("digits", 16, channels=1)
    assert len(digits) == 1797 and digits[0][0].shape == (1, 16, 16) and digits.class_names[3] == "3"
    assert digits[0][0].std() > 0.3  # a real digit, not a blank
    faces = open_dataset("lfw_subset", 32, channels=3)
    assert len(faces) == 200 and faces[0][0].shape == (3, 32, 32)


def test_builtin_missing_package_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(DatasetError, match="needs scikit-learn"):
        open_dataset("digits", 16)


def test_loader_workers_survive_an_inference_engine_in_the_process():
    """Forked workers of a process that loaded OpenVINO aborted ("Fatal Python error: Aborted");
    with an engine loaded, workers start from a forkserver and stream as usual."""
    import subprocess
    import sys

    code = ("import openvino, numpy as np\n"
            "from gan_explorer.core.data import FacesDataset\n"
            "from gan_explorer.core.data.loader import make_loader, worker_context\n"
            "assert worker_context() is not None\n"
            "batch = next(iter(make_loader(FacesDataset(16), 4, workers=2)))\n"
            "print(tuple(batch[0].shape) if isinstance(batch, (list, tuple)) else tuple(batch.shape))\n")
    pytest.importorskip("openvino", reason="the fast extra (OpenVINO) is not installed")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "(4, 3, 16, 16)" in run.stdout
