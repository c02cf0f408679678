"""Projection: it finds generated pictures, cancels promptly, reads pictures safely, and the CLI's
latent re-renders exactly what it reported."""

import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.generate import render_ws, ws_for_seeds
from gan_explorer.core.latent.projection import Cancelled, ProjectionConfig, load_target, project
from gan_explorer.core.models.registry import build_model
from gan_explorer.resources import demo_model
from tests.conftest import TINY


pytestmark = pytest.mark.usefixtures("one_intra_op_thread")  # see conftest.py


@pytest.fixture(scope="module")
def tiny_stylegan():
    torch.manual_seed(0)
    return build_model("stylegan", **TINY["stylegan"]).eval()


def _target(model, seed=5, psi=0.7):
    return render_ws(model, ws_for_seeds(model, [seed], psi))  # [1, H, W, C] uint8, the model's own picture


def _smoothed_blocks(history, blocks):
    return history[: len(history) // blocks * blocks].reshape(blocks, -1).mean(axis=1)


def test_w_projection_decreases_its_loss_and_beats_the_w_avg_start(tiny_stylegan):
    steps = 60
    progress = []
    result = project(tiny_stylegan, _target(tiny_stylegan), space="w", steps=steps, loss="l2",
                     progress=lambda *a: progress.append(a))
    assert result.start == "w_avg"
    # Monotone in the smoothed sense: the mean loss of each block of 10 steps is below the one before.
    blocks = _smoothed_blocks(result.loss_history[:, 0], 6)
    assert all(b < a for a, b in zip(blocks, blocks[1:])), blocks
    assert blocks[-1] < 0.2 * blocks[0]
    # A wide margin over the w_avg start (8 dB there on this model).
    assert result.psnr[0] > result.start_psnr[0] + 8
    # Progress: every step, a preview every 10 steps and at the end, as uint8 images.
    assert [p[0] for p in progress] == list(range(1, steps + 1)) and all(p[1] == steps for p in progress)
    previews = [p[3] for p in progress if p[3] is not None]
    assert len(previews) == steps // 10 and previews[-1].dtype == np.uint8
    assert previews[-1].shape == (16, 16, 3)
    assert result.ws.shape == (1, tiny_stylegan.num_ws, tiny_stylegan.w_dim)
    assert np.allclose(result.ws, result.ws[:, :1])  # one w shared by every layer


def test_w_plus_starts_from_w_and_goes_further(tiny_stylegan):
    target = _target(tiny_stylegan)
    w = project(tiny_stylegan, target, space="w", steps=40, loss="l2")
    w_plus = project(tiny_stylegan, target, space="w+", steps=80, loss="l2", w_phase=0.5)
    assert w_plus.psnr[0] > w.psnr[0] + 1  # the same 40 W steps, then 40 more per layer
    assert not np.allclose(w_plus.ws, w_plus.ws[:, :1])  # layers differ
    assert w_plus.loss_history.shape == (80, 1)


def test_optimised_noise_is_returned_and_kept_normalised(tiny_stylegan):
    layers = tiny_stylegan.synthesis.noise_layers()
    with torch.no_grad():  # make the noise matter on this random model
        for _, layer in layers:
            layer.noise_strength.fill_(0.3)
    try:
        result = project(tiny_stylegan, _target(tiny_stylegan, seed=9), space="w", steps=30, loss="l2",
                         noise="optimize")
    finally:
        with torch.no_grad():
            for _, layer in layers:
                layer.noise_strength.zero_()
    assert result.noise is not None and len(result.noise) == len(layers)
    for noise, (_, layer) in zip(result.noise, layers):
        assert noise.shape == (1, 1, layer.resolution, layer.resolution)
        assert abs(noise.mean()) < 1e-4 and abs(noise.std() - 1) < 0.05
    assert not np.allclose(result.noise[-1][0, 0], layers[-1][1].noise_const.numpy())  # it moved
    assert result.psnr_const_noise is not None and result.psnr_const_noise[0] != result.psnr[0]


@pytest.mark.parametrize("family", ["dcgan", "gan"])
def test_z_projection_for_families_without_mapping(family):
    model = build_model(family, **TINY[family]).eval()
    target = render_ws(model, model.map(model.sample_z(1, 3)))
    result = project(model, target, space="z", steps=40, loss="l2")
    assert result.start == "z candidates" and result.z.shape == (1, model.z_dim)
    assert result.loss_history[-1, 0] < result.loss_history[0, 0]
    assert result.psnr[0] >= result.start_psnr[0]


def test_vae_starts_from_its_own_encoder():
    model = build_model("vae", **TINY["vae"]).eval()
    target = (np.random.default_rng(0).random((1, 16, 16, 3)) * 255).astype(np.uint8)
    result = project(model, target, space="w+", steps=5, loss="l2")
    assert result.start == "model encoder" and result.ws.shape == (1, 1, model.w_dim)


def test_cancel_stops_within_a_second():
    from gan_explorer.core.io.models import open_model

    model = open_model(demo_model())
    stop = threading.Event()
    seen = []
    outcome = {}

    def run():
        try:
            project(model, _target(model, 100), space="w+", steps=100_000, loss="l2",
                    progress=lambda *a: seen.append(time.perf_counter()), should_stop=stop.is_set)
        except Cancelled:
            outcome["cancelled"] = time.perf_counter()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.perf_counter() + 60
    while len(seen) < 3 and time.perf_counter() < deadline:
        time.sleep(0.01)
    asked = time.perf_counter()
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and "cancelled" in outcome
    assert outcome["cancelled"] - asked < 1.0


def test_bad_options_are_one_line(tiny_stylegan):
    with pytest.raises(ConfigError, match="space 'x'"):
        project(tiny_stylegan, _target(tiny_stylegan), space="x")
    with pytest.raises(ConfigError, match="steps 0"):
        project(tiny_stylegan, _target(tiny_stylegan), steps=0)
    with pytest.raises(ConfigError, match="unknown projection option"):
        project(tiny_stylegan, _target(tiny_stylegan), learning_rat=0.1)
    assert ProjectionConfig().validate().space == "w+"


# --- pictures --------------------------------------------------------------------------------------
def test_unreadable_pictures_are_one_line(tmp_path):
    garbage = tmp_path / "photo.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG" * 10)
    postscript = tmp_path / "face.png"
    postscript.write_bytes(b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path, reason in ((garbage, "not a readable picture"), (postscript, "PNG, JPEG, WebP or BMP"),
                         (empty, "empty file"), (tmp_path / "missing.png", "no such file"),
                         (tmp_path, "not a regular file")):
        with pytest.raises(GanExplorerError) as info:
            load_target(path, 16)
        message = str(info.value)
        assert "\n" not in message and str(path) in message and reason in message


def test_picture_modes_crop_and_resize(tmp_path):
    # left half red, right half blue, 200 x 100, as a palette PNG with transparency in one corner
    array = np.zeros((100, 200, 3), np.uint8)
    array[:, :100, 0] = 255
    array[:, 100:, 2] = 255
    path = tmp_path / "halves.png"
    Image.fromarray(array).convert("P").save(path)
    centred = load_target(path, 16)  # the centred square holds both halves
    assert centred.shape == (1, 3, 16, 16)
    assert centred[0, 0, :, 2].mean() > 0.9 and centred[0, 2, :, -3].mean() > 0.9
    right = load_target(path, 16, crop=(120, 0, 200, 80))  # only blue
    assert right[0, 2].min() > 0.9 and right[0, 0].max() < -0.9
    gray = load_target(path, 16, channels=1)
    assert gray.shape == (1, 1, 16, 16)
    with pytest.raises(ConfigError, match="must lie inside the 200x100 picture"):
        load_target(path, 16, crop=(0, 0, 300, 50))
    assert torch.equal(load_target(array[:, 50:150], 16), load_target(path, 16, crop=(50, 0, 150, 100)))


# --- the command -----------------------------------------------------------------------------------
def test_cli_latent_re_renders_identically(tmp_path, capsys, tiny_stylegan):
    from gan_explorer.cli import main
    from gan_explorer.core.io.checkpoint import save_model

    model_path = tmp_path / "tiny.safetensors"
    save_model(tiny_stylegan, model_path)
    picture = tmp_path / "photo.png"
    Image.fromarray(np.kron(_target(tiny_stylegan, 11)[0], np.ones((4, 4, 1), np.uint8))).save(picture)  # 64 px
    out, recon, again = tmp_path / "photo.npy", tmp_path / "recon.png", tmp_path / "again.png"
    video = tmp_path / "progress.gif"
    assert main(["project", str(model_path), str(picture), "--space", "w+", "--steps", "12", "--loss", "l2",
                 "--out", str(out), "--out-image", str(recon), "--video", str(video), "--no-progress",
                 "--json", str(tmp_path / "report.json")]) == 0
    line = capsys.readouterr().out
    assert "PSNR" in line and "start w_avg" in line
    assert main(["generate", str(model_path), "--latent", str(out), "--out", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(recon)), np.asarray(Image.open(again)))
    assert np.load(out).shape == (1, tiny_stylegan.num_ws, tiny_stylegan.w_dim)
    assert Image.open(video).n_frames >= 2


def test_cli_unreadable_picture_is_one_line(tmp_path, capsys, tiny_stylegan):
    from gan_explorer.cli import main
    from gan_explorer.core.io.checkpoint import save_model

    model_path = tmp_path / "tiny.safetensors"
    save_model(tiny_stylegan, model_path)
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"GIF89a not allowed and not complete")
    assert main(["project", str(model_path), str(bad), "--out", str(tmp_path / "x.npy"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "photo.jpg" in err and "not a readable picture" in err
    assert not (tmp_path / "x.npy").exists()


# --- many pictures at once ---------------------------------------------------------------------------
@pytest.mark.parametrize("space,loss", [("w+", "l2"), ("w", "structural")])
def test_a_batch_ends_where_each_picture_ends_alone(tiny_stylegan, space, loss):
    targets = np.concatenate([_target(tiny_stylegan, seed) for seed in (3, 4, 7)])
    together = project(tiny_stylegan, targets, space=space, steps=16, loss=loss)
    for i in range(len(targets)):
        alone = project(tiny_stylegan, targets[i:i + 1], space=space, steps=16, loss=loss)
        # the same path, step by step, to float rounding (the w noise is on for most of these steps)
        assert np.allclose(together.ws[i], alone.ws[0], atol=1e-4), np.abs(together.ws[i] - alone.ws[0]).max()
        assert np.allclose(together.loss_history[:, i], alone.loss_history[:, 0], rtol=1e-3, atol=1e-6)
        assert abs(together.psnr[i] - alone.psnr[0]) < 0.05
    assert together.ws.shape == (3, tiny_stylegan.num_ws, tiny_stylegan.w_dim)
    assert len(set(np.round(together.psnr, 3))) == 3  # three different pictures, three different answers


def test_cli_projects_a_folder_in_batches(tmp_path, capsys, tiny_stylegan):
    from gan_explorer.cli import main
    from gan_explorer.core.io.checkpoint import save_model

    model_path = tmp_path / "tiny.safetensors"
    save_model(tiny_stylegan, model_path)
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed, name in ((11, "a.png"), (12, "a.jpg"), (13, "b.png")):  # two share a stem
        Image.fromarray(_target(tiny_stylegan, seed)[0]).save(folder / name, quality=95)
    (folder / "notes.txt").write_text("not a picture")
    out, recon = tmp_path / "latents", tmp_path / "recon"
    assert main(["project", str(model_path), str(folder), "--space", "w+", "--steps", "6", "--loss", "l2",
                 "--batch", "2", "--out", str(out), "--out-image", str(recon), "--no-progress",
                 "--json", str(tmp_path / "report.json")]) == 0
    printed = capsys.readouterr().out
    assert "projected 3 pictures" in printed and "median PSNR" in printed
    assert sorted(p.name for p in out.iterdir()) == ["a_jpg.npy", "a_png.npy", "b.npy"]
    for name in ("a_jpg", "a_png", "b"):  # each latent re-renders its reconstruction exactly
        again = tmp_path / f"{name}-again.png"
        assert main(["generate", str(model_path), "--latent", str(out / f"{name}.npy"), "--out", str(again)]) == 0
        assert np.array_equal(np.asarray(Image.open(recon / f"{name}.png")), np.asarray(Image.open(again)))
    # b.png was in the second batch, alone: the same latent as projecting it by itself
    alone = tmp_path / "b-alone.npy"
    assert main(["project", str(model_path), str(folder / "b.png"), "--space", "w+", "--steps", "6", "--loss", "l2",
                 "--out", str(alone), "--no-progress"]) == 0
    assert np.allclose(np.load(out / "b.npy"), np.load(alone), atol=1e-4)
    # a.png shared its batch with a.jpg: still its own answer
    a_alone = tmp_path / "a-alone.npy"
    assert main(["project", str(model_path), str(folder / "a.png"), "--space", "w+", "--steps", "6", "--loss", "l2",
                 "--out", str(a_alone), "--no-progress"]) == 0
    assert np.allclose(np.load(out / "a_png.npy"), np.load(a_alone), atol=1e-4)
    capsys.readouterr()
    # a folder with nothing to project, or a crop (one picture's box) for a folder: one line each
    empty = tmp_path / "empty"
    empty.mkdir()
    for extra, folder_arg, reason in (([], empty, "no pictures"), (["--crop", "0,0,8,8"], folder, "--crop applies")):
        assert main(["project", str(model_path), str(folder_arg), "--out", str(tmp_path / "x"), "--no-progress",
                     *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and reason in err and str(folder_arg) in err
