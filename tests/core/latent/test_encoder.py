"""The learned initialisation: trained on the model's own pairs, saved keyed by the model, found again
only for that model, and a better start for projection than w_avg."""

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import CheckpointError
from gan_explorer.core.generate import render_ws, ws_for_seeds
from gan_explorer.core.latent.encoder import (
    EncoderConfig, EncoderTrainingConfig, LatentEncoder, find_encoder, load_encoder, save_encoder,
    save_encoder_beside, train_encoder,
)
from gan_explorer.core.io.identity import file_identity, identity_key, memory_identity
from gan_explorer.core.latent.projection import Cancelled, project
from gan_explorer.core.models.registry import build_model
from tests.conftest import TINY

QUICK = EncoderTrainingConfig(steps=100, batch=16, pool=256, fresh=4, validation=64, learning_rate=3e-3)


pytestmark = pytest.mark.usefixtures("one_intra_op_thread")  # see conftest.py


def trained_looking_stylegan():
    """A tiny StyleGAN with two things training gives and a random init lacks: w_avg is the mean of
    w, and pictures lie in [-1, 1] (at init a third of the pixels saturate, so many ws look alike)."""
    torch.manual_seed(0)
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    with torch.no_grad():
        model.mapping.w_avg.copy_(model.map(torch.randn(2000, model.z_dim))[:, 0].mean(0))
        spread = model.synthesize(model.map(torch.randn(64, model.z_dim))).std()
        for block in model.synthesis.blocks():
            block.torgb.weight.mul_(0.4 / spread)
    return model


@pytest.fixture(scope="module")
def trained():
    model = trained_looking_stylegan()
    encoder, report = train_encoder(model, QUICK)
    return model, encoder, report


@pytest.fixture(scope="module")
def untrained():
    """A model and an encoder for it that was never trained: enough for files and lookups."""
    model = trained_looking_stylegan()
    config = EncoderConfig(num_ws=model.num_ws, w_dim=model.w_dim, input_resolution=model.img_resolution)
    encoder = LatentEncoder(config)
    torch.nn.init.normal_(encoder.head[-1].weight, std=0.01)
    return model, encoder.eval(), {"held_out_w_error": 0.5}


@pytest.mark.slow
def test_encoder_learns_the_models_own_pairs(trained):
    model, encoder, report = trained
    # Held-out pairs: its guess is far closer to the true ws than w_avg, and renders closer to the picture.
    assert report["held_out_w_error"] < 0.9 * report["w_avg_w_error"]
    assert report["held_out_median_psnr"] > report["w_avg_median_psnr"] + 1.5
    guess = encoder.predict(torch.zeros(2, 3, 16, 16))
    assert guess.shape == (2, model.num_ws, model.w_dim)


@pytest.mark.slow
def test_projection_starts_from_the_encoders_guess(trained):
    model, encoder, _ = trained
    target = render_ws(model, ws_for_seeds(model, range(20, 36), 0.7))
    plain = project(model, target, space="w+", steps=1, loss="l2")
    guided = project(model, target, space="w+", steps=1, loss="l2", encoder=encoder)
    assert plain.start == "w_avg" and guided.start == "encoder"
    assert np.median(guided.start_psnr) > np.median(plain.start_psnr) + 1


def test_saved_beside_the_model_and_found_only_for_it(untrained, tmp_path):
    from gan_explorer.core.io.checkpoint import save_model

    model, encoder, report = untrained
    model_path = tmp_path / "tiny.safetensors"
    save_model(model, model_path)
    path = save_encoder_beside(encoder, model, model_path, report)
    assert path.parent == tmp_path and path.name == f"tiny.encoder-{identity_key(file_identity(model_path))}.safetensors"
    found = find_encoder(model, model_path)
    assert found is not None and found.report["held_out_w_error"] == report["held_out_w_error"]
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert torch.equal(found.predict(x), encoder.predict(x))
    # another model (the same config, other weights) finds nothing, and refuses this file, also
    # when it is said to come from this model's file
    other = build_model("stylegan", **TINY["stylegan"]).eval()
    assert find_encoder(other) is None
    with pytest.raises(CheckpointError, match="trained for another model"):
        load_encoder(path, other)
    with pytest.raises(CheckpointError, match="trained for another model"):
        find_encoder(other, model_path)


def test_bad_encoder_files_are_one_line(untrained, tmp_path):
    model, encoder, _ = untrained
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    model_file = tmp_path / "a-model.safetensors"
    from gan_explorer.core.io.checkpoint import save_model

    save_model(model, model_file)
    for path, reason in ((junk, "not a readable encoder"), (model_file, "not a latent encoder file"),
                         (tmp_path / "missing.safetensors", "not a readable encoder")):
        with pytest.raises(CheckpointError, match=reason) as info:
            load_encoder(path, model)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
    # a tensor made non-finite is refused
    state = save_encoder(encoder, tmp_path / "ok.safetensors", model)
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(state), "pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(state))
    tensors["head.3.bias"] = torch.full_like(tensors["head.3.bias"], float("nan"))
    save_file(tensors, str(tmp_path / "nan.safetensors"), metadata=metadata)
    with pytest.raises(CheckpointError, match="NaN"):
        load_encoder(tmp_path / "nan.safetensors", model)


def test_training_cancels(untrained):
    model = untrained[0]
    calls = []
    with pytest.raises(Cancelled):
        train_encoder(model, QUICK, progress=lambda *a: calls.append(a), should_stop=lambda: len(calls) >= 3)
    assert len(calls) == 3


def test_cli_trains_an_encoder_that_later_projections_find(tmp_path, capsys):
    from gan_explorer.cli import main
    from gan_explorer.core.io.checkpoint import save_model
    from PIL import Image

    model = trained_looking_stylegan()
    model_path = tmp_path / "tiny.safetensors"
    save_model(model, model_path)
    assert main(["project", "--train-encoder", str(model_path), "--encoder-steps", "5", "--encoder-batch", "8",
                 "--no-progress"]) == 0
    assert "held-out samples" in capsys.readouterr().out
    saved = list(tmp_path.glob("tiny.encoder-*.safetensors"))
    assert len(saved) == 1 and identity_key(file_identity(model_path)) in saved[0].name
    picture = tmp_path / "p.png"
    Image.fromarray(render_ws(model, ws_for_seeds(model, [3], 0.7))[0]).save(picture)
    assert main(["project", str(model_path), str(picture), "--steps", "2", "--out", str(tmp_path / "p.npy"),
                 "--no-progress"]) == 0
    assert "start encoder" in capsys.readouterr().out
    assert main(["project", str(model_path), str(picture), "--steps", "2", "--out", str(tmp_path / "p.npy"),
                 "--encoder", "none", "--no-progress"]) == 0
    assert "start w_avg" in capsys.readouterr().out


def test_an_encoder_saved_under_the_old_name_is_found_and_moved(untrained, tmp_path):
    """Before one model identity, encoders were named by the first 16 hex digits of the hash of the
    model's tensors and recorded that hash: such a file beside the model is found, moved to the
    name it has now, and still loads (it was trained for these very tensors)."""
    from gan_explorer.core.io.checkpoint import save_model

    model, encoder, report = untrained
    model_path = tmp_path / "tiny.safetensors"
    save_model(model, model_path)
    fresh = build_model("stylegan", **TINY["stylegan"]).eval()  # the same weights, as a new process has them
    fresh.load_state_dict(model.state_dict())
    old = save_encoder(encoder, tmp_path / f"tiny.encoder-{memory_identity(fresh)[:16]}.safetensors", fresh, report)
    found = find_encoder(fresh, model_path)
    assert found is not None and found.report == report
    assert not old.exists() and (tmp_path / f"tiny.encoder-{identity_key(file_identity(model_path))}.safetensors").is_file()
    assert find_encoder(fresh, model_path) is not None  # and found there again


def test_an_old_encoder_in_the_data_folder_is_found(untrained, tmp_path):
    from gan_explorer.core.paths import default_data_dir

    _, encoder, report = untrained
    model = trained_looking_stylegan()  # made in memory: its identity is the hash of its tensors
    folder = default_data_dir() / "encoders"
    old = save_encoder(encoder, folder / f"{memory_identity(model)[:16]}.safetensors", model, report)
    try:
        assert find_encoder(model) is not None
        assert not old.exists() and (folder / f"{identity_key(memory_identity(model))}.safetensors").is_file()
    finally:
        for path in folder.glob("*.safetensors"):
            path.unlink()
