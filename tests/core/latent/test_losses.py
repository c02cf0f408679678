"""The projection losses: SSIM equals scikit-image's, MS-SSIM and gradients behave as distances."""

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.losses import (
    LOSSES, PerceptualLoss, StructuralLoss, gradient_loss, make_loss, ms_ssim, ms_ssim_levels, psnr, psnr_uint8,
    ssim,
)


pytestmark = pytest.mark.usefixtures("one_intra_op_thread")  # see conftest.py


def _pair(seed=0, n=2, size=32, noise=0.2):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    x = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), 3, 1)  # some structure
    y = (x + noise * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    return x, y


def test_ssim_equals_scikit_image():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    x, y = _pair()
    ours = ssim(x, y, window_size=11, sigma=1.5)
    for i in range(len(x)):
        # scikit-image with Gaussian weights: sigma 1.5 truncated at radius 5 (11 taps), the same
        # constants, population covariances, and the mean over the region the window fits.
        theirs = skimage_metrics.structural_similarity(
            x[i].permute(1, 2, 0).numpy(), y[i].permute(1, 2, 0).numpy(), channel_axis=2, data_range=2.0,
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        assert float(ours[i]) == pytest.approx(theirs, abs=1e-4)


def test_ms_ssim_is_one_for_equal_images_and_falls_with_noise():
    x, _ = _pair(size=64)
    assert torch.allclose(ms_ssim(x, x), torch.ones(len(x)), atol=1e-5)
    values = [float(ms_ssim(x, _pair(size=64, noise=s)[1]).mean()) for s in (0.05, 0.2, 0.6)]
    assert values[0] > values[1] > values[2]
    assert ms_ssim_levels(64) == 4 and ms_ssim_levels(256) == 5 and ms_ssim_levels(8) == 1
    with pytest.raises(ConfigError, match="at least 7 px"):
        ms_ssim(x[..., :4, :4], x[..., :4, :4])


def test_ms_ssim_gradient_is_finite_for_anticorrelated_images():
    x, _ = _pair(size=32)
    y = (-x).requires_grad_(True)
    value = ms_ssim(x, y).sum()
    (grad,) = torch.autograd.grad(value, y)
    assert torch.isfinite(value) and torch.isfinite(grad).all()


def test_gradient_loss_sees_edges_not_offsets():
    x, _ = _pair()
    assert torch.allclose(gradient_loss(x, x + 0.3), torch.zeros(len(x)), atol=1e-6)  # a flat shift has no edges
    assert (gradient_loss(x, torch.roll(x, 1, dims=3)) > 0.01).all()


def test_losses_are_per_image_and_zero_at_the_target():
    x, y = _pair(size=32)
    for name in ("l1", "l2", "structural"):
        loss = make_loss(name)
        assert loss(x, x).shape == (2,)
        assert torch.allclose(loss(x, x), torch.zeros(2), atol=1e-4)
        assert (loss(y, x) > loss(x, x) + 1e-3).all()
        # each image's loss depends only on that image
        assert torch.allclose(loss(y[:1], x[:1]), loss(y, x)[:1], atol=1e-6)
    with pytest.raises(ConfigError, match="must be one of"):
        make_loss("vgg")
    assert set(LOSSES) >= {"auto", "structural", "perceptual"}
    assert isinstance(make_loss("structural"), StructuralLoss)


def test_perceptual_loss_on_a_feature_network():
    from gan_explorer.core.metrics.features import load_features

    loss = PerceptualLoss(load_features("random:0"))  # the same architecture as the shipped one
    x, y = _pair(size=64)
    assert torch.allclose(loss(x, x), torch.zeros(2), atol=1e-5)
    assert (loss(y, x) > 1e-3).all()
    assert (loss(_pair(size=64, noise=0.6)[1], x) > loss(y, x)).all()


def test_psnr():
    x = torch.zeros(1, 3, 8, 8)
    assert float(psnr(x + 0.02, x)) == pytest.approx(10 * np.log10(4 / 0.0004), abs=1e-3)
    a = np.zeros((4, 4, 3), np.uint8)
    assert psnr_uint8(a, a) == float("inf")
    assert psnr_uint8(a, a + 1) == pytest.approx(10 * np.log10(255**2), abs=1e-9)
