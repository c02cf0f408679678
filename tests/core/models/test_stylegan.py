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


def _noisy_tiny(**changes):
    model = build_model("stylegan", **{**TINY["stylegan"], **changes}).eval()
    with torch.no_grad():
        for layer in model.modules():
            if hasattr(layer, "noise_strength"):
                layer.noise_strength.fill_(0.3)
            if hasattr(layer, "bias") and isinstance(layer.bias, torch.nn.Parameter):
                layer.bias.normal_(0, 0.2)
    return model


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
def test_render_path_equals_the_autograd_path(batch, noise_mode):
    """No-grad renders (kernels cached, gain folded, batch-1 weight folding, channels-last) equal
    the training path, which runs the plain activation-scaling form."""
    model = _noisy_tiny(img_resolution=32, conv_clamp=0.8)
    ws = model.map(model.z_from_seeds(range(batch)), 0.7).detach()
    trained = model.synthesize(ws, noise_mode, torch.Generator().manual_seed(1))
    assert trained.requires_grad
    with torch.no_grad():
        rendered = model.synthesize(ws, noise_mode, torch.Generator().manual_seed(1))
    assert torch.allclose(rendered, trained.detach(), atol=1e-5)


def test_render_path_equals_the_textbook_formulation():
    """Per-sample modulated weights and grouped convolutions (NVIDIA's reference form)."""
    from gan_explorer.core.models.ops import modulated_conv2d_reference

    torch.manual_seed(3)
    f = setup_filter([1, 3, 3, 1])
    for up, flip in [(1, True), (2, False)]:
        x, weight, styles = torch.randn(3, 4, 8, 8), torch.randn(5, 4, 3, 3), torch.rand(3, 4) + 0.5
        ours = modulated_conv2d(x, weight, styles, up=up, padding=1, resample_filter=f, flip_weight=flip)
        textbook = modulated_conv2d_reference(x, weight, styles, up=up, padding=1, resample_filter=f, flip_weight=flip)
        assert ours.shape == textbook.shape and torch.allclose(ours, textbook, atol=1e-5)


def test_cached_kernels_follow_in_place_weight_updates():
    model = _noisy_tiny()
    ws = model.map(model.z_from_seeds([0]))
    with torch.no_grad():
        before = model.synthesize(ws)
        layer = model.synthesis.b8.conv0
        first = layer.kernels()
        assert layer.kernels() is first  # cached while the weight is unchanged
        layer.weight.mul_(1.5).add_(0.1)  # an optimizer step or a load: in place
        after = model.synthesize(ws)
        fresh = build_model("stylegan", model.config)
        fresh.load_state_dict(model.state_dict())
        expected = fresh.eval().synthesize(ws)
    assert not torch.allclose(before, after, atol=1e-3)
    assert torch.allclose(after, expected, atol=1e-6)


def test_preview_is_the_networks_own_lower_resolution_output():
    model = _noisy_tiny(img_resolution=32)
    ws = model.map(model.z_from_seeds([4, 5]))
    seen = {}

    def record(k, x, img):
        seen[k] = img

    with torch.no_grad():
        full = model.synthesis.run(ws, on_step=record)
        for res in (4, 8, 16):
            preview = model.synthesize(ws, max_resolution=res)
            # The image entering the first step of the next block is the one after block `res`.
            k = model.synthesis.plan_end(res)
            assert preview.shape == (2, 3, res, res)
            assert torch.equal(preview, seen[k])
        assert torch.equal(model.synthesize(ws, max_resolution=32), full)
    with pytest.raises(ValueError, match="max_resolution=12"):
        model.synthesize(ws, max_resolution=12)


def test_macs_match_the_issue_figure_for_the_256px_config():
    synthesis = build_model("stylegan", img_resolution=256).synthesis  # NVIDIA's stylegan2 widths
    assert synthesis.macs() / 1e9 == pytest.approx(45.4, abs=0.1)  # 90.7 GFLOP per image
    assert synthesis.macs(64) < synthesis.macs(128) < synthesis.macs()


def test_training_steps_report_where_their_time_goes():
    from gan_explorer.core.training.distributed import Distributed
    from gan_explorer.core.training.options import TrainingOptions
    from gan_explorer.core.training.trainers import TRAINERS

    options = TrainingOptions(family="stylegan", data="faces:16", resolution=16, batch=4, device="cpu",
                              augment="ada", progress=False, model=dict(TINY["stylegan"])).resolved()
    trainer = TRAINERS["stylegan"](options, torch.device("cpu"), Distributed())
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    first = trainer.train_step(real)  # step 0: both lazy regularisations run
    second = trainer.train_step(real)
    for phase in ("G_main", "G_pl", "D_main", "D_r1", "ema", "augment"):
        assert first[f"Timing/{phase}_sec"] > 0, phase
    assert second["Timing/G_pl_sec"] == 0 and second["Timing/D_r1_sec"] == 0  # lazy: not this step
    assert second["Timing/G_main_sec"] > 0


@pytest.mark.parametrize("stride,pad,size", [(1, (1, 1), 6), (2, (2, 2), 6), (2, (1, 1), 7)])
def test_fir_filters_differentiate_twice_as_the_plain_convolution(stride, pad, size):
    """R1 / path length go through the FIR filters twice; our adjoint Functions give PyTorch's grads."""
    from gan_explorer.core.models.ops import _DepthwiseFIR

    kernel = setup_filter([1, 3, 3, 1]).double().flip([0, 1])[None, None].repeat(3, 1, 1, 1)
    x = torch.randn(1, 3, size, size, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda t: _DepthwiseFIR.apply(t, kernel, stride, pad), (x,))
    ours = _DepthwiseFIR.apply(x, kernel, stride, pad)
    plain = F.conv2d(x, kernel, groups=3, stride=stride, padding=pad)
    (g1,) = torch.autograd.grad(ours.square().sum(), x, create_graph=True)
    (g2,) = torch.autograd.grad(plain.square().sum(), x, create_graph=True)
    (h1,) = torch.autograd.grad(g1.sin().sum(), x)
    (h2,) = torch.autograd.grad(g2.sin().sum(), x)
    assert torch.allclose(ours, plain) and torch.allclose(g1, g2) and torch.allclose(h1, h2)
