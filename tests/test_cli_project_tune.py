"""`gan-explorer project MODEL photo --tune`: pivotal tuning headless (a tiny StyleGAN, few steps)."""

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.models import build_model
from tests.conftest import TINY

pytestmark = pytest.mark.slow  # a projection and a tuning through the CLI (~10 s on the shared machine)


@pytest.fixture
def one_thread():
    """Small nets: two intra-op threads spin against each other on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def model_path(tmp_path):
    return save_model(build_model("stylegan", **TINY["stylegan"]), tmp_path / "m.safetensors")


def _grey_rotated_jpeg(path):
    """A non-square greyscale JPEG whose EXIF says 'rotate 90' (orientation 6): 40x24 stored, 24x40 seen."""
    from gan_explorer.core.data.faces import FacesDataset

    face = Image.fromarray(FacesDataset(24, seed=1).image(0)).convert("L")
    stored = Image.new("L", (40, 24), 128)
    stored.paste(face.rotate(90, expand=True), (8, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, exif=exif, quality=95)
    return path


def test_project_tune_writes_a_png_that_re_renders_and_the_photo_at_its_framing(model_path, tmp_path,
                                                                                one_thread, capsys):
    photo = _grey_rotated_jpeg(tmp_path / "photo.jpg")
    out, image, framed = tmp_path / "l.npy", tmp_path / "r.png", tmp_path / "f.png"
    assert main(["project", str(model_path), str(photo), "--tune", "--tune-steps", "4", "--steps", "3",
                 "--loss", "l2", "--out", str(out), "--out-image", str(image), "--out-framed", str(framed),
                 "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "tuned in 4 steps" in said and "W pivot" in said
    assert np.load(out).shape[:1] == (1,) and np.load(out).ndim == 3
    assert Image.open(framed).size == (24, 40)  # EXIF orientation honoured, the photo's own size
    again = tmp_path / "again.png"
    assert main(["generate", str(model_path), "--latent", str(image), "--out", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(image)))
    plain = tmp_path / "plain.png"
    assert main(["generate", str(model_path), "--latent", str(out), "--out", str(plain)]) == 0
    assert not np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(image)))


def test_project_tune_refuses_another_space_in_one_line(model_path, tmp_path, capsys):
    photo = _grey_rotated_jpeg(tmp_path / "photo.jpg")
    assert main(["project", str(model_path), str(photo), "--tune", "--space", "w+", "--out",
                 str(tmp_path / "l.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--tune starts from a W projection" in err and "\n" not in err


def test_project_tune_a_folder_tunes_each_picture(model_path, tmp_path, one_thread, capsys):
    from gan_explorer.core.data.faces import FacesDataset

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(FacesDataset(16, seed=1).image(i)).save(folder / f"p{i}.png")
    assert main(["project", str(model_path), str(folder), "--tune", "--tune-steps", "2", "--steps", "2", "--loss",
                 "l2", "--out", str(tmp_path / "latents"), "--out-image", str(tmp_path / "images"),
                 "--no-progress"]) == 0
    assert capsys.readouterr().out.count("tuned from a pivot") == 2
    for i in range(2):
        again = tmp_path / f"again{i}.png"
        assert main(["generate", str(model_path), "--latent", str(tmp_path / "images" / f"p{i}.png"),
                     "--out", str(again)]) == 0
        assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(tmp_path / "images" / f"p{i}.png")))
