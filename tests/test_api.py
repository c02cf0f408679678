"""The public Python API (gan_explorer/api.py): README's example runs; every method on a tiny model,
and the official StyleGAN2-ADA pickle against the original implementation's outputs."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gan_explorer as gx
from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.provenance import read_picture_provenance
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.generate import render_ws, ws_for_seeds
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.io.identity import file_identity, memory_identity
from gan_explorer.core.io.images import save_image, to_uint8
from gan_explorer.core.models.registry import build_model
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT / "tests" / "fixtures" / "stylegan_official"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny nets: two intra-op threads spin against each other on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("api") / "tiny.safetensors"
    save_model(build_model("stylegan", **TINY["stylegan"]).eval(), path)
    return path


@pytest.fixture(scope="module")
def m(model_file):
    return gx.open(model_file)


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python API section holds one python example"
    return blocks[0]


def test_readme_example_runs(model_file, m, tmp_path, monkeypatch):
    code = readme_example()
    assert '"model.pkl"' in code and '"photo.png"' in code
    photo = tmp_path / "a photo.png"
    save_image(photo, m.render(seed=9, psi=0.5))
    code = code.replace('"model.pkl"', repr(str(model_file))).replace('"photo.png"', repr(str(photo)))
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md (Python API)", "exec"), scope)
    for name in ("seed3.png", "seed3-edited.png", "photo-latent.png"):
        assert read_picture_provenance(tmp_path / name).made_with(file_identity(model_file))
    assert scope["img"].shape == (16, 16, 3) and scope["img"].dtype == np.uint8
    assert scope["grid"].shape == (3 * 16, 3 * 16, 3)


def test_import_gan_explorer_loads_no_torch():
    script = ("import sys, gan_explorer as gx\n"
              "assert callable(gx.open) and gx.Model and gx.Directions and 'open' in dir(gx)\n"
              "assert 'torch' not in sys.modules, 'torch was imported'\n"
              "try:\n    gx.no_such_name\nexcept AttributeError:\n    print('ok')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_render_is_the_cores_image_and_info_says_what_the_model_is(m, model_file):
    expected = render_ws(m.network, ws_for_seeds(m.network, [3], 0.7))[0]
    assert np.array_equal(m.render(seed=3, psi=0.7), expected)
    assert np.array_equal(m.render(m.state(seed=3, psi=0.7)), expected)
    assert not np.array_equal(m.render(seed=4, psi=0.7), expected)
    info = m.info
    assert info["family"] == "stylegan" and info["img_resolution"] == 16 and info["num_ws"] == m.network.num_ws
    assert info["identity"] == m.identity == file_identity(model_file) and info["name"] == "tiny.safetensors"
    assert info["capabilities"]["style_mixing"] and "tiny.safetensors" in repr(m)


def test_states_ws_and_their_settings(m):
    state = m.state(seed=4, psi=0.5, cutoff=2, noise="random", noise_seed=7)
    assert state == LatentState(seed=4, truncation_psi=0.5, truncation_cutoff=2, noise_mode="random", noise_seed=7)
    assert m.state(state, seed=5) == state.with_changes(seed=5)
    ws = m.ws(seed=4, psi=0.5)
    assert ws.shape == (m.network.num_ws, m.network.w_dim) and ws.dtype == np.float32
    assert np.array_equal(m.render(ws=ws), m.render(seed=4, psi=0.5))  # explicit ws render as they are
    assert np.array_equal(m.render(ws=ws[None]), m.render(ws=ws))
    assert m.state(mix_seed=2, mix_layers="0-3").mix_layers == (0, 1, 2, 3)
    with pytest.raises(TypeError, match="unknown setting 'sed'"):
        m.state(sed=3)
    with pytest.raises(ValueError, match="shape"):
        m.state(ws=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        m.state(ws=np.full_like(ws, np.nan))


def test_directions_move_w_in_sigma_units_on_the_chosen_layers(m):
    d = m.directions("pca", count=5)
    assert len(d) == 5 and d.vectors.shape == (5, m.network.w_dim) and d.sigma.shape == (5,)
    assert np.allclose(np.linalg.norm(d.vectors, axis=1), 1, atol=1e-5)
    base = m.state(seed=2, psi=0.8)
    moved = d.edit(base, 1, 2.0, layers=(0, 3))
    delta = m.ws(moved) - m.ws(base)
    assert np.allclose(delta[:4], 2.0 * d.sigma[1] * d.vectors[1], atol=1e-5) and not delta[4:].any()
    assert d.edit(moved, 1, -1.0, layers=(0, 3)).w_offsets[0].amount == pytest.approx(-d.sigma[1])  # replaced
    assert not np.array_equal(m.render(moved), m.render(base))
    assert len(m.directions("sefa", count=3)) == 3
    with pytest.raises(IndexError):
        d.edit(base, 5, 1.0)
    with pytest.raises(ValueError, match="layers"):
        d.edit(base, 0, 1.0, layers=(3, 99))
    with pytest.raises(ValueError, match="method"):
        m.directions("ica")


def test_mix_lays_out_the_style_mixing_figure(m):
    grid = m.mix([1, 2], [5, 6, 7], layers="0-3")
    assert grid.shape == (3 * 16, 4 * 16, 3)
    cell = grid[2 * 16:3 * 16, 3 * 16:4 * 16]  # row seed 2 with column seed 7's layers 0-3
    one = m.render(seed=2, mix_seed=7, mix_layers="0-3")
    assert np.abs(cell.astype(int) - one.astype(int)).max() <= 1  # seeds mapped in one batch: within 1 LSB
    assert np.array_equal(grid[0:16, 16:32], m.render(seed=5))


def test_project_finds_a_latent_closer_than_the_mean(m):
    target = m.render(seed=11, psi=0.7)
    latent = m.project(target, steps=30, loss="l2")
    assert isinstance(latent, LatentState) and np.asarray(latent.ws).shape == (m.network.num_ws, m.network.w_dim)
    error = np.abs(m.render(latent).astype(float) - target).mean()
    start = np.abs(m.render(seed=11, psi=0.0).astype(float) - target).mean()  # w_avg: where it starts
    assert error < start
    both = m.project(np.stack([target, m.render(seed=12)]), steps=2, loss="l2", encoder=None)
    assert isinstance(both, list) and len(both) == 2
    with pytest.raises(ValueError, match="noise"):
        m.project(target, steps=2, noise="optimize")


def test_saved_pngs_carry_provenance_the_window_restores(m, model_file, tmp_path):
    edited = m.directions(count=2).edit(m.state(seed=6, psi=0.6), 0, 1.5)
    path = m.save(tmp_path / "out.png", edited)
    provenance = read_picture_provenance(path)
    # what the window checks: made with the file it has open (its sha256), the state and its ws
    assert provenance.made_with(file_identity(model_file)) and provenance.state == edited
    assert np.array_equal(provenance.ws, m.ws(edited))
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(path)), m.render(edited))
    assert m.restore(path) == edited
    other = gx.Model(build_model("stylegan", **TINY["stylegan"]))  # made in memory: named by its tensors
    assert other.identity == memory_identity(other.network) and other.path is None
    with pytest.raises(GanExplorerError, match="made with tiny.safetensors"):
        other.restore(path)
    plain = tmp_path / "plain.png"
    save_image(plain, m.render(seed=1))
    with pytest.raises(GanExplorerError, match="no gan_explorer provenance"):
        m.restore(plain)
    assert read_picture_provenance(m.save(tmp_path / "out.jpg", seed=1)) is None  # JPEG: the picture only
    assert other.restore(other.save(tmp_path / "mem.png", seed=2)) == LatentState(seed=2)


def test_a_translation_model_says_it_has_no_latents():
    cyclegan = gx.Model(build_model("cyclegan", **TINY["cyclegan"]))
    assert cyclegan.info["family"] == "cyclegan" and "num_ws" not in cyclegan.info
    with pytest.raises(GanExplorerError, match="translates"):
        cyclegan.render(seed=1)


def test_the_official_pickle_renders_as_nvidias_code():
    m = gx.open(OFFICIAL / "sg2ada_64.pkl")
    ref = OFFICIAL / "sg2ada_64_ref"
    for seed in (0, 3):
        assert np.allclose(m.ws(seed=seed, psi=0.7), np.load(ref / f"seed{seed}_psi0.7_ws.npy")[0], atol=1e-5)
        expected = to_uint8(torch.from_numpy(np.load(ref / f"seed{seed}_psi0.7_img.npy")))[0]
        assert np.abs(m.render(seed=seed, psi=0.7).astype(int) - expected).max() <= 1
    grid = m.mix([0], [1], layers="0-3")
    mixed = to_uint8(torch.from_numpy(np.load(ref / "mix_row0_col1_styles0-3_img.npy")))[0]
    assert np.abs(grid[64:, 64:].astype(int) - mixed).max() <= 1
    assert m.identity == file_identity(OFFICIAL / "sg2ada_64.pkl")
