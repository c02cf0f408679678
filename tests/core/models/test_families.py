import numpy as np
import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models import build_model, family_names
from tests.conftest import TINY

LATENT_FAMILIES = [f for f in TINY if f != "cyclegan"]


def test_every_family_is_registered():
    assert set(family_names()) == set(TINY)


@pytest.mark.parametrize("family", LATENT_FAMILIES)
@pytest.mark.parametrize("resolution", [16, 32])
def test_latent_family_shapes_and_range(family, resolution):
    model = build_model(family, **{**TINY[family], "img_resolution": resolution}).eval()
    z = model.sample_z(3, seed=1)
    assert z.shape == (3, model.z_dim)
    ws = model.map(z)
    assert ws.shape == (3, model.num_ws, model.w_dim)
    with torch.no_grad():
        img = model.synthesize(ws)
    assert img.shape == (3, model.img_channels, resolution, resolution)
    assert torch.isfinite(img).all()
    if family not in ("stylegan", "stylegan3", "pggan"):  # tanh outputs; StyleGAN and PGGAN (linear toRGB) are unbounded by design
        assert img.abs().max() <= 1.0
    assert img.std() > 0


@pytest.mark.parametrize("family", LATENT_FAMILIES)
def test_same_seed_same_image(family):
    model = build_model(family, **TINY[family]).eval()
    a = model.generate(model.sample_z(1, 7))
    b = model.generate(model.sample_z(1, 7))
    c = model.generate(model.sample_z(1, 8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("family", LATENT_FAMILIES)
def test_seed_follows_nvidia_convention(family):
    model = build_model(family, **TINY[family])
    expected = np.random.RandomState(85).randn(1, model.z_dim).astype(np.float32)
    assert np.array_equal(model.sample_z(1, 85).numpy(), expected)


@pytest.mark.parametrize("family", LATENT_FAMILIES)
def test_psi_zero_gives_the_w_avg_image(family):
    model = build_model(family, **TINY[family]).eval()
    if family == "stylegan":
        model.mapping.w_avg.normal_()  # a non-trivial centre
    ws = model.map(model.z_from_seeds([3, 4]), truncation_psi=0)
    expected = model.w_avg.expand_as(ws)
    assert torch.allclose(ws, expected)
    with torch.no_grad():
        img = model.synthesize(ws)
        avg_img = model.synthesize(model.w_avg.expand(1, model.num_ws, -1))
    assert torch.allclose(img[0], avg_img[0], atol=1e-5) and torch.allclose(img[1], avg_img[0], atol=1e-5)


@pytest.mark.parametrize("resolution", [32, 64])
def test_cyclegan_translates_both_ways(resolution):
    model = build_model("cyclegan", **{**TINY["cyclegan"], "img_resolution": resolution}).eval()
    x = torch.rand(2, 3, resolution, resolution) * 2 - 1
    for direction in ("AB", "BA"):
        y = model.translate(x, direction)
        assert y.shape == x.shape and y.abs().max() <= 1
    assert not torch.equal(model.translate(x, "AB"), model.translate(x, "BA"))
    # Sizes that are not multiples of 4 work at inference (reflect-padded).
    assert model.translate(torch.zeros(1, 3, 18, 22)).shape == (1, 3, 18, 22)
    d_a, _ = model.make_discriminators()
    assert d_a(x).ndim == 4
    with pytest.raises(ConfigError, match="direction"):
        model.translate(x, "AC")


def test_patchgan_sees_70_pixels():
    from gan_explorer.core.models.cyclegan import receptive_field

    assert receptive_field(3) == 70


@pytest.mark.parametrize("family", ["dcgan", "gan"])
def test_gan_discriminators_score_images(family):
    model = build_model(family, **TINY[family])
    d = model.make_discriminator()
    x = torch.randn(4, 3, 16, 16)
    assert d(x).shape == (4, 1)


def test_wgan_critic_has_no_batch_norm():
    model = build_model("dcgan", **{**TINY["dcgan"], "d_norm": "none"})
    critic = model.make_discriminator()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in critic.modules())


def test_vae_encodes_and_reparameterises():
    model = build_model("vae", **TINY["vae"])
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    recon, mu, logvar = model(x)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (2, model.z_dim)
    assert model.encode(x).shape == (2, 1, model.z_dim)


def test_autoencoder_samples_from_fitted_gaussian():
    model = build_model("autoencoder", **TINY["autoencoder"])
    rng = torch.Generator().manual_seed(0)
    mean = torch.linspace(-1, 1, model.z_dim)
    codes = mean + 0.1 * torch.randn(4000, model.z_dim, generator=rng)
    model.fit_code_distribution(codes)
    ws = model.map(torch.randn(4000, model.z_dim, generator=rng))[:, 0]
    assert torch.allclose(ws.mean(0), mean, atol=0.02)
    assert torch.allclose(ws.std(0), torch.full((model.z_dim,), 0.1), atol=0.01)
    assert torch.allclose(model.w_avg, mean.to(model.w_avg.dtype), atol=0.01)


@pytest.mark.parametrize("family,bad", [
    ("stylegan", {"img_resolution": 48}),
    ("stylegan", {"img_resolution": 2048}),
    ("dcgan", {"d_norm": "spectral"}),
    ("gan", {"img_resolution": 4}),
    ("vae", {"z_dim": 0}),
    ("cyclegan", {"img_resolution": 30}),
    ("cyclegan", {"img_resolution": 16}),
])
def test_bad_config_is_a_clear_error(family, bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        build_model(family, **{**TINY[family], **bad})


def test_unknown_option_and_family():
    with pytest.raises(ConfigError, match="unknown option"):
        build_model("dcgan", colour="red")
    with pytest.raises(ConfigError, match="unknown model family 'biggan'"):
        build_model("biggan")


def test_dcgan_upsample_defaults_to_transposed_so_old_checkpoints_keep_their_layout():
    from gan_explorer.core.models.dcgan import DCGANConfig

    old = {k: v for k, v in build_model("dcgan", **TINY["dcgan"]).config.to_dict().items() if k != "upsample"}
    assert DCGANConfig.from_dict(old).upsample == "transposed"  # a config saved before the option existed
    g = build_model("dcgan", **TINY["dcgan"]).generator
    ups = [m for m in g.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Upsample))]
    assert all(isinstance(m, torch.nn.ConvTranspose2d) for m in ups) and len(ups) == 3  # 1->4->8->16
    with pytest.raises(ConfigError, match="upsample"):
        build_model("dcgan", **{**TINY["dcgan"], "upsample": "pixelshuffle"})


@pytest.mark.parametrize("resolution", [16, 32])
def test_resize_convolution_removes_the_checkerboard(resolution):
    """Odena et al. 2016: at random init a stride-2 transposed conv paints a period-2 pattern,
    nearest resize + conv does not. Measured as power at the stride frequency over the average."""
    from gan_explorer.core.models.dcgan import checkerboard_ratio

    ratios = {}
    for upsample in ("transposed", "resize"):
        torch.manual_seed(3)
        model = build_model("dcgan", **{**TINY["dcgan"], "img_resolution": resolution, "upsample": upsample}).eval()
        assert (model.config.upsample == "resize") == any(isinstance(m, torch.nn.Upsample) for m in model.modules())
        with torch.no_grad():
            images = model.generate(model.sample_z(16, 0))
        assert images.shape == (16, 3, resolution, resolution)
        ratios[upsample] = checkerboard_ratio(images)
    noise = checkerboard_ratio(torch.randn(16, 3, resolution, resolution, generator=torch.Generator().manual_seed(0)))
    assert 0.8 < noise < 1.2  # no pattern: the stride lines hold an average share of the power
    assert ratios["transposed"] > 2.0, ratios
    assert ratios["resize"] < 0.2, ratios
    assert ratios["transposed"] > 20 * ratios["resize"], ratios


def test_resize_dcgan_round_trips_through_a_checkpoint(tmp_path):
    from gan_explorer.core.io.checkpoint import load_model, save_model

    model = build_model("dcgan", **{**TINY["dcgan"], "upsample": "resize"}).eval()
    loaded = load_model(save_model(model, tmp_path / "resize.safetensors")).eval()
    assert loaded.config.upsample == "resize"
    z = model.sample_z(2, 5)
    with torch.no_grad():
        assert torch.equal(model.generate(z), loaded.generate(z))
