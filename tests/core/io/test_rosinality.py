"""rosinality stylegan2-pytorch checkpoints: names mapped to ours, widths inferred from shapes."""

import argparse

import pytest
import torch

from gan_explorer.core.errors import CheckpointError
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
