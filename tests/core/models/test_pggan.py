"""The progressive GAN's pieces against what the paper says they compute."""

import math

import pytest
import torch
import torch.nn.functional as F

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.checkpoint import load_model, save_model
from gan_explorer.core.models import build_model
from gan_explorer.core.models.pggan import EqualizedConv2d, pixel_norm

TINY_PGGAN = dict(z_dim=16, img_resolution=32, fmap_base=128, fmap_max=16)


def _model(**changes):
    return build_model("pggan", **{**TINY_PGGAN, **changes}).eval()


def test_fade_in_goes_from_the_upsampled_lower_resolution_to_the_new_block():
    model = _model()
    z = model.sample_z(3, seed=1)
    with torch.no_grad():
        low = model(z, 8, 1.0)
        faded_out = model(z, 16, 0.0)
        faded_in = model(z, 16, 1.0)
        half = model(z, 16, 0.5)
    assert low.shape == (3, 3, 8, 8) and faded_in.shape == (3, 3, 16, 16)
    # alpha 0: exactly the 8 px image, nearest-upsampled (the new block has no say yet).
    assert torch.allclose(faded_out, F.interpolate(low, scale_factor=2, mode="nearest"), atol=1e-6)
    assert not torch.allclose(faded_in, faded_out, atol=1e-3)
    assert torch.allclose(half, 0.5 * faded_out + 0.5 * faded_in, atol=1e-5)


def test_discriminator_fade_in_mirrors_the_generator():
    model = _model()
    D = model.make_discriminator().eval()
    img = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        at_zero = D(img, 0.0)
        at_one = D(img, 1.0)
        low = D(F.avg_pool2d(img, 2), 1.0)
    assert at_zero.shape == (4, 1)
    assert torch.allclose(at_zero, low, atol=1e-5)  # alpha 0: the 8 px critic on the pooled image
    assert not torch.allclose(at_one, low, atol=1e-4)
    with pytest.raises(ConfigError, match="12"):
        D(torch.randn(2, 3, 12, 12))


def test_a_model_at_a_lower_resolution_renders_what_training_drew_and_survives_a_file(tmp_path):
    model = _model()
    small = model.at_resolution(16, 0.3)
    assert small.img_resolution == 16 and small.config.alpha == 0.3
    assert "generator.blocks.32.conv1.weight" not in small.state_dict()  # only the layers it uses
    z = model.sample_z(2, seed=4)
    with torch.no_grad():
        expected = model(z, 16, 0.3)
        assert torch.equal(small.generate(z), expected)
    loaded = load_model(save_model(small, tmp_path / "g16.safetensors"))
    assert loaded.family == "pggan" and loaded.img_resolution == 16 and loaded.config.alpha == 0.3
    assert loaded.num_ws == 1 and loaded.w_dim == loaded.z_dim == 16
    with torch.no_grad():
        assert torch.equal(loaded.synthesize(loaded.map(z)), expected)
    # A copy, not a view: training the big model on does not change a snapshot.
    with torch.no_grad():
        model.generator.blocks["16"].conv1.weight.add_(1.0)
        assert torch.equal(small.generate(z), expected)


def test_a_lower_resolution_of_a_snapshot_taken_in_a_fade_in_has_finished_fading():
    """The config's alpha is the top block's: asked for 8 px without an alpha, a 16 px snapshot at
    alpha 0.3 draws its 8 px image (alpha 1), not a blend of 4 and 8 px."""
    small = _model().at_resolution(16, 0.3)
    z = small.sample_z(2, seed=5)
    with torch.no_grad():
        assert torch.equal(small(z, 8), small(z, 8, 1.0))
        assert not torch.allclose(small(z, 8), small(z, 8, 0.3), atol=1e-4)
        assert torch.equal(small(z), small(z, 16, 0.3))


def test_equalized_learning_rate_pixel_norm_and_minibatch_stddev():
    conv = EqualizedConv2d(16, 8, 3)
    # Stored weights are N(0, 1); He's constant is applied at run time (sec. 4.1).
    assert 0.8 < float(conv.weight.detach().std()) < 1.2
    assert math.isclose(conv.scale, math.sqrt(2) / math.sqrt(16 * 9))
    x = torch.randn(2, 16, 5, 5) * 7
    y = pixel_norm(x)
    assert torch.allclose(y.square().mean(dim=1), torch.ones(2, 5, 5), atol=1e-4)
    # Minibatch stddev: a group of identical images has no spread, a varied one does.
    mbstd = _model().make_discriminator().blocks["4"].mbstd
    same = torch.randn(1, 4, 3, 3).repeat(4, 1, 1, 1)
    out = mbstd(same)
    assert out.shape == (4, 5, 3, 3) and float(out[:, 4].max()) < 1e-3
    varied = torch.randn(4, 4, 3, 3)
    expected = varied.std(dim=0, unbiased=False).mean()
    assert torch.allclose(mbstd(varied)[:, 4], expected.expand(4, 3, 3), atol=1e-4)


@pytest.mark.parametrize("change, words", [({"alpha": 1.5}, "alpha=1.5"), ({"img_resolution": 48}, "img_resolution=48"),
                                           ({"fmap_max": 0}, "fmap_max=0")])
def test_bad_configs_are_one_line(change, words):
    with pytest.raises(ConfigError, match=words):
        _model(**change)


def test_truncation_changes_nothing_because_g_normalises_z():
    """README says so: pixel norm of z undoes psi * z (psi > 0); psi 0 leaves a flat image."""
    model = _model()
    z = model.sample_z(2, seed=6)
    with torch.no_grad():
        plain = model.synthesize(model.map(z))
        assert torch.allclose(model.synthesize(model.map(z, truncation_psi=0.4)), plain, atol=1e-4)  # rounding
        flat = model.synthesize(model.map(z, truncation_psi=0.0))
    assert float(flat.std(dim=[2, 3]).max()) < 1e-5 and float(plain.std(dim=[2, 3]).min()) > 1e-3
