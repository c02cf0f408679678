"""rosinality stylegan2-pytorch checkpoints: names mapped to ours, widths inferred from shapes."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import CheckpointError
from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.io.models import open_model
from gan_explorer.core.models import build_model


def to_rosinality(model):
    """Write our StyleGAN's tensors under rosinality's names and layouts (the inverse of the importer)."""
    sd = model.state_dict()
    out = {}
    for i in range(model.config.mapping_layers):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]
    noise = iter(range(100))

    def styled(src, dst):
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        out[f"noises.noise_{next(noise)}"] = sd[f"{src}.noise_const"][None, None]

    def torgb(src, dst):
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)

    styled("synthesis.b4.conv1", "conv1")
    torgb("synthesis.b4.torgb", "to_rgb1")
    for i, res in enumerate(model.synthesis.block_resolutions[1:]):
        styled(f"synthesis.b{res}.conv0", f"convs.{2 * i}")
        styled(f"synthesis.b{res}.conv1", f"convs.{2 * i + 1}")
        torgb(f"synthesis.b{res}.torgb", f"to_rgbs.{i}")
        out[f"convs.{2 * i}.conv.blur.kernel"] = torch.ones(4, 4)  # rosinality's extra buffers are ignored
    return out


@pytest.fixture
def model():
    torch.manual_seed(3)
    m = build_model("stylegan", z_dim=32, w_dim=32, img_resolution=32, channel_base=1024, channel_max=64,
                    mapping_layers=3).eval()
    for name, p in m.named_parameters():
        if name.endswith("noise_strength"):
            p.data.fill_(0.3)
    m.mapping.w_avg.normal_()
    return m


@pytest.mark.parametrize("full_checkpoint", [True, False])
def test_rosinality_checkpoint_renders_like_the_source(tmp_path, model, full_checkpoint):
    path = tmp_path / "550000.pt"
    data = {"g_ema": to_rosinality(model), "latent_avg": model.w_avg.clone()}
    if full_checkpoint:
        data.update(g=to_rosinality(model), args=argparse.Namespace(size=32, n_mlp=3, lr_mlp=0.01, latent=32))
    torch.save(data, path)
    imported = open_model(path)
    assert imported.config.channel_base == 1024 and imported.config.channel_max == 64
    assert imported.config.mapping_layers == 3 and imported.num_ws == model.num_ws
    with torch.no_grad():
        z = model.sample_z(2, 7)
        assert torch.allclose(imported.generate(z, 0.7), model.generate(z, 0.7), atol=1e-6)
    assert imported.provenance["format"] == "rosinality"


def test_not_a_rosinality_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(CheckpointError, match="not a rosinality stylegan2 checkpoint"):
        open_model(path)


# ---- the real thing: a checkpoint rosinality's train.py wrote, references from its own code ------

ROSI = Path(__file__).resolve().parents[2] / "fixtures" / "rosinality"
ROSI_REF = ROSI / "rosi_32_ref"
SEEDS_PSIS = [(s, p) for s in range(4) for p in (1.0, 0.7)]


@pytest.fixture(scope="module")
def rosi():
    assert (ROSI / "rosi_32.pt").is_file(), f"the rosinality fixture belongs in tests/fixtures: {ROSI}"
    return open_model(ROSI / "rosi_32.pt")


@pytest.fixture(scope="module")
def rosi_with_latent():
    return open_model(ROSI / "rosi_32.pt", truncation_latent=ROSI_REF / "truncation_latent.npy")


def test_train_py_checkpoint_imports_with_its_widths_and_noise(rosi):
    manifest = json.loads((ROSI_REF / "manifest.json").read_text())
    assert rosi.img_resolution == 32 and rosi.num_ws == 8 and rosi.z_dim == 64  # style_dim 64 in this small file
    assert rosi.config.channel_max == 32 and rosi.config.mapping_layers == 8
    state = rosi.state_dict()
    for i in range(7):  # g_ema's own noise buffers (g's differ): rendering uses these
        key = ["synthesis.b4.conv1", "synthesis.b8.conv0", "synthesis.b8.conv1", "synthesis.b16.conv0",
               "synthesis.b16.conv1", "synthesis.b32.conv0", "synthesis.b32.conv1"][i] + ".noise_const"
        assert np.array_equal(state[key].numpy(), np.load(ROSI_REF / f"noise_{i}.npy")[0, 0])
    assert rosi.provenance["sha256"] == manifest["sha256"]  # the very file train.py wrote


def test_missing_latent_avg_is_estimated_as_rosinality_generate_does(rosi):
    """train.py checkpoints have no latent_avg; generate.py averages the mapping of 4096 z. Ours
    draws them with torch seed 0, which is the recipe of the fixture's truncation_latent.npy."""
    assert "estimated" in rosi.provenance["w_avg"]
    reference = np.load(ROSI_REF / "truncation_latent.npy")[0]
    assert np.abs(rosi.w_avg.numpy() - reference).max() <= 1e-5
    assert np.abs(reference).max() > 0.1  # zeros (the old importer's w_avg) would be far off


@pytest.mark.parametrize("which", ["estimated", "file"])
def test_every_seed_and_psi_matches_rosinality_generator(rosi, rosi_with_latent, which):
    model = rosi if which == "estimated" else rosi_with_latent
    if which == "file":
        assert model.provenance["w_avg"] == "truncation latent file truncation_latent.npy"
    with torch.no_grad():
        for seed, psi in SEEDS_PSIS:
            z = model.sample_z(1, seed)
            assert np.array_equal(z.numpy(), np.load(ROSI_REF / f"seed{seed}_z.npy").astype(np.float32))
            ws = model.map(z, truncation_psi=psi)
            assert np.abs(ws.numpy() - np.load(ROSI_REF / f"seed{seed}_psi{psi}_ws.npy")).max() <= 1e-5
            img = model.synthesize(ws, noise_mode="const")
            assert np.abs(img.numpy() - np.load(ROSI_REF / f"seed{seed}_psi{psi}_img.npy")).max() <= 1e-4


def test_import_cli_takes_a_truncation_latent(tmp_path):
    from gan_explorer.cli import main

    out = tmp_path / "rosi.safetensors"
    assert main(["import", str(ROSI / "rosi_32.pt"), "--out", str(out),
                 "--truncation-latent", str(ROSI_REF / "truncation_latent.npy")]) == 0
    saved = load_model(out)
    assert np.array_equal(saved.w_avg.numpy(), np.load(ROSI_REF / "truncation_latent.npy")[0])
    bad = tmp_path / "tl.npy"
    np.save(bad, np.zeros((1, 7), np.float32))
    assert main(["import", str(ROSI / "rosi_32.pt"), "--out", str(out), "--truncation-latent", str(bad)]) == 2
