import numpy as np
import pytest
import torch

from gan_explorer.core.data import FaceFactors, FacesDataset, render_face
from gan_explorer.core.data.faces import FACTOR_NAMES, FACTOR_RANGES, factors_for
from gan_explorer.core.data.writer import write_faces
from gan_explorer.core.errors import ConfigError

NEUTRAL = FaceFactors()


def changed(a, b, threshold=8):
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > threshold


def test_same_seed_same_faces_and_different_seeds_differ():
    a, b, c = FacesDataset(32, seed=1), FacesDataset(32, seed=1), FacesDataset(32, seed=2)
    assert torch.equal(a[5][0], b[5][0]) and torch.equal(a[5][1], b[5][1])
    assert not torch.equal(a[5][0], c[5][0])
    assert not torch.equal(a[5][0], a[6][0])


@pytest.mark.parametrize("resolution", [16, 64, 128])
def test_shapes_and_range(resolution):
    image, factors = FacesDataset(resolution)[0]
    assert image.shape == (3, resolution, resolution) and image.dtype == torch.float32
    assert -1 <= image.min() and image.max() <= 1
    assert factors.shape == (len(FACTOR_NAMES),)
    gray, _ = FacesDataset(resolution, channels=1)[0]
    assert gray.shape == (1, resolution, resolution)


def test_factors_stay_in_documented_ranges_and_vary_independently():
    table = np.stack([factors_for(i).to_array() for i in range(2000)])
    for k, name in enumerate(FACTOR_NAMES):
        lo, hi = FACTOR_RANGES[name]
        assert lo <= table[:, k].min() and table[:, k].max() <= hi, name
        assert table[:, k].std() > 0.1, name
    corr = np.corrcoef(table.T)
    off_diagonal = corr[~np.eye(len(FACTOR_NAMES), dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.1
    assert 0.15 < table[:, FACTOR_NAMES.index("glasses")].mean() < 0.35


def test_smile_changes_only_the_mouth_region():
    a = render_face(NEUTRAL.replace(smile=-1), 64)
    b = render_face(NEUTRAL.replace(smile=1), 64)
    ys, xs = np.nonzero(changed(a, b))
    assert len(ys) > 10
    assert ys.min() > 64 * 0.55 and ys.max() < 64 * 0.85  # below the nose, above the chin
    assert xs.min() > 64 * 0.3 and xs.max() < 64 * 0.7


def test_glasses_change_only_the_eye_row():
    a = render_face(NEUTRAL.replace(glasses=0), 64)
    b = render_face(NEUTRAL.replace(glasses=1), 64)
    ys, _ = np.nonzero(changed(a, b))
    assert len(ys) > 20
    assert ys.min() > 64 * 0.3 and ys.max() < 64 * 0.6


def test_background_hue_changes_only_the_background():
    a = render_face(NEUTRAL.replace(background_hue=0.0), 64)
    b = render_face(NEUTRAL.replace(background_hue=0.5), 64)
    mask = changed(a, b)
    assert mask[0, 0] and mask[0, -1]  # corners are background
    assert not mask[30:40, 28:36].any()  # the middle of the face is not


@pytest.mark.parametrize("name", ["face_width", "skin_tone", "hair_color", "hair_length", "eye_size",
                                  "eye_spacing", "eyebrow_angle", "head_tilt", "offset_x", "light_direction",
                                  "face_shape"])
def test_every_factor_changes_the_picture(name):
    lo, hi = FACTOR_RANGES[name]
    a = render_face(NEUTRAL.replace(**{name: lo}), 64)
    b = render_face(NEUTRAL.replace(**{name: hi}), 64)
    assert changed(a, b).sum() > 5, name


def test_write_faces_is_reproducible_and_carries_factors(tmp_path):
    import json
    import zipfile

    a = write_faces(tmp_path / "a.zip", 12, 32, seed=4, progress=False)
    b = write_faces(tmp_path / "b.zip", 12, 32, seed=4, progress=False)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        names = z.namelist()
        meta = json.loads(z.read("factors.json"))
        csv_lines = z.read("factors.csv").decode().splitlines()
    assert len([n for n in names if n.endswith(".png")]) == 12
    assert meta["factors"][3]["file"] == "img00000003.png"
    assert meta["factors"][3]["smile"] == pytest.approx(factors_for(3, 4).smile)
    assert len(csv_lines) == 13 and csv_lines[0].startswith("file,face_width")
    folder = write_faces(tmp_path / "dir", 3, 32, seed=4, progress=False)
    assert (folder / "img00000002.png").exists() and (folder / "factors.csv").exists()


def test_bad_resolution():
    with pytest.raises(ConfigError, match="from 16 to 512"):
        FacesDataset(8)
