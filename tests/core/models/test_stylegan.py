import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_explorer.core.latent import mix_styles
from gan_explorer.core.models import build_model
from gan_explorer.core.models.ops import conv2d_resample, modulated_conv2d, setup_filter, upsample2d
from gan_explorer.core.models.stylegan import StyleGANConfig, StyleGANDiscriminator
from tests.conftest import TINY


@pytest.mark.parametrize("resolution,num_ws", [(16, 6), (32, 8), (64, 10), (1024, 18)])
def test_num_ws_matches_nvidia(resolution, num_ws):
    config = StyleGANConfig(img_resolution=resolution, channel_base=1024, channel_max=4, z_dim=8, w_dim=8)
    assert build_model("stylegan", config).num_ws == num_ws


def test_channel_base_and_max_like_nvidia():
    config = StyleGANConfig(img_resolution=1024, channel_base=32768, channel_max=512)
    assert [config.channels(r) for r in (4, 64, 128, 256, 512, 1024)] == [512, 512, 256, 128, 64, 32]


def test_mapping_uses_equalized_lr_and_tracks_w_avg():
    model = build_model("stylegan", **TINY["stylegan"])
    fc = model.mapping.fc0
    assert fc.weight_gain == pytest.approx(0.01 / np.sqrt(model.z_dim))
    assert fc.bias_gain == 0.01
    before = model.w_avg.clone()
    model.map(model.sample_z(16, 0), update_emas=True)
    assert not torch.equal(before, model.w_avg)
    frozen = model.w_avg.clone()
    model.map(model.sample_z(16, 1))
    assert torch.equal(frozen, model.w_avg)


def test_mixing_coarse_layers_changes_structure_and_keeps_other_ws():
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    ws = model.map(model.z_from_seeds([1, 2]))
    mixed = mix_styles(ws[:1], ws[1:], range(4))
    assert torch.equal(mixed[0, :4], ws[1, :4])
    assert torch.equal(mixed[0, 4:], ws[0, 4:])
    with torch.no_grad():
        a, m = model.synthesize(ws[:1]), model.synthesize(mixed)
    # Coarse layers decide the layout: a 4x4 downsampled view changes clearly.
    diff = (F.avg_pool2d(a, 4) - F.avg_pool2d(m, 4)).abs().mean()
    assert diff > 0.01


def test_noise_modes():
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    for layer in model.modules():
        if hasattr(layer, "noise_strength"):
            layer.noise_strength.data.fill_(0.5)
    ws = model.map(model.sample_z(1, 0))
    with torch.no_grad():
        const = model.synthesize(ws, "const")
        assert torch.equal(const, model.synthesize(ws, "const"))
        none = model.synthesize(ws, "none")
        g1 = torch.Generator().manual_seed(5)
        g2 = torch.Generator().manual_seed(5)
        r1 = model.synthesize(ws, "random", g1)
        r2 = model.synthesize(ws, "random", g2)
    assert torch.equal(r1, r2)
    assert not torch.equal(const, none) and not torch.equal(const, r1)
    with pytest.raises(ValueError, match="noise_mode"):
        model.synthesize(ws, "loud")


def test_wrong_ws_shape_is_rejected():
    model = build_model("stylegan", **TINY["stylegan"])
    with pytest.raises(ValueError, match="expected"):
        model.synthesize(torch.zeros(1, 3, model.w_dim))


def test_modulated_conv_equals_per_sample_weights():
    torch.manual_seed(1)
    x = torch.randn(2, 4, 8, 8)
    weight = torch.randn(5, 4, 3, 3)
    styles = torch.rand(2, 4) + 0.5
    out = modulated_conv2d(x, weight, styles, padding=1)
    for i in range(2):
        w = weight * styles[i].reshape(1, -1, 1, 1)
        w = w / w.square().sum(dim=[1, 2, 3], keepdim=True).add(1e-8).sqrt()
        expected = F.conv2d(x[i:i + 1], w, padding=1)
        assert torch.allclose(out[i:i + 1], expected, atol=1e-5)


def test_fir_upsampling_keeps_constants_and_energy():
    f = setup_filter([1, 3, 3, 1])
    x = torch.ones(1, 1, 8, 8)
    y = upsample2d(x, f)
    assert y.shape == (1, 1, 16, 16)
    assert torch.allclose(y[..., 2:-2, 2:-2], torch.ones(1, 1, 12, 12))
    # A transposed-conv upsampling layer on a constant input also stays constant inside.
    w = torch.ones(1, 1, 3, 3) / 9
    z = conv2d_resample(x, w, f, up=2, padding=1, flip_weight=False)
    assert z.shape == (1, 1, 16, 16)
    assert torch.allclose(z[..., 4:-4, 4:-4], torch.ones(1, 1, 8, 8), atol=1e-6)


def test_discriminator_scores_and_backpropagates():
    config = StyleGANConfig(**TINY["stylegan"])
    d = StyleGANDiscriminator(config)
    img = torch.randn(6, 3, 16, 16, requires_grad=True)  # 6 is not a multiple of the group size 4
    logits = d(img)
    assert logits.shape == (6, 1)
    logits.sum().backward()
    assert img.grad.abs().sum() > 0
    names = dict(d.named_modules())
    assert "b16.fromrgb" in names and "b4.mbstd" in names and "b8.skip" in names
