import numpy as np
import pytest
import torch

from gan_explorer.core.models import build_model
from gan_explorer.core.models.ops import upfirdn2d, upfirdn2d_reference, setup_filter
from gan_explorer.core.models.stylegan3 import StyleGAN3Config, design_lowpass_filter, reference_filters
from tests.conftest import TINY


@pytest.mark.parametrize("taps", [None, "2d", 7, 12])
@pytest.mark.parametrize("up,down", [(1, 1), (2, 1), (1, 2), (2, 2), (4, 2)])
def test_polyphase_upfirdn_equals_the_textbook_form(taps, up, down):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 11, 9)
    f = None if taps is None else setup_filter([1, 3, 3, 1]) if taps == "2d" else torch.rand(taps)
    for pad in [(3, 2, 1, 4), (10, 11, 9, 10), (-1, 6, 5, -2)]:
        try:
            expected = upfirdn2d_reference(x, f, up, down, pad, gain=up * up)
        except RuntimeError:
            continue  # padding too small for the filter: nothing to compare
        got = upfirdn2d(x, f, up, down, pad, gain=up * up)
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_tiny_stylegan3_reference_and_fast_filters_agree():
    model = build_model("stylegan3", **TINY["stylegan3"]).eval()
    ws = model.map(model.sample_z(2, 1))
    with torch.no_grad():
        fast = model.synthesize(ws)
        with reference_filters():
            slow = model.synthesize(ws)
    assert torch.allclose(fast, slow, atol=1e-5)


def test_layer_plan_follows_the_paper():
    config = StyleGAN3Config(img_resolution=1024)
    cutoffs, rates, half_widths, sizes, channels = config.layer_plan()
    assert len(sizes) == 15 and sizes[-1] == sizes[-2] == 1024
    assert cutoffs[0] == 2 and cutoffs[-1] == 512  # f_c from 2 to the Nyquist of the output
    assert channels[0] == 512 and channels[-1] == 3
    assert list(rates[:4]) == [16, 16, 32, 32] and rates[-1] == 1024
    assert list(sizes[:2]) == [36, 36]  # sampling rate + 2 x 10 px margin


def test_radial_filter_is_normalised_and_symmetric():
    f = design_lowpass_filter(12, cutoff=8, width=4, fs=32, radial=True)
    assert f.shape == (12, 12)
    assert np.isclose(float(f.sum()), 1.0)
    assert torch.allclose(f, f.T) and torch.allclose(f, f.flip(0))


@pytest.mark.parametrize("numtaps,cutoff,width,fs", [(6, 2.0, 4.0, 16), (12, 8.0, 4.0, 32), (24, 90.5, 50.0, 256),
                                                     (4, 1.0, 0.1, 64)])
def test_lowpass_design_equals_scipy_firwin(numtaps, cutoff, width, fs):
    scipy_signal = pytest.importorskip("scipy.signal")  # in the test extra; the app itself does not need scipy
    expected = scipy_signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
    got = design_lowpass_filter(numtaps, cutoff, width, fs)
    assert np.allclose(got.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_radial_design_uses_the_scipy_kaiser_window_and_bessel():
    scipy_signal = pytest.importorskip("scipy.signal")
    scipy_special = pytest.importorskip("scipy.special")
    numtaps, cutoff, width, fs = 12, 8.0, 4.0, 32
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy_special.j1(2 * np.pi * cutoff * r) / (np.pi * r)
    beta = scipy_signal.kaiser_beta(scipy_signal.kaiser_atten(numtaps, width / (fs / 2)))
    w = np.kaiser(numtaps, beta)
    f = f * np.outer(w, w)
    got = design_lowpass_filter(numtaps, cutoff, width, fs, radial=True)
    assert np.allclose(got.numpy(), f / f.sum(), rtol=1e-4, atol=1e-7)


def test_transform_moves_the_image():
    model = build_model("stylegan3", **TINY["stylegan3"]).eval()
    ws = model.map(model.sample_z(1, 0))
    with torch.no_grad():
        still = model.synthesize(ws)
        model.set_transform((0.2, 0.0), 0.0)
        moved = model.synthesize(ws)
    assert (still - moved).abs().mean() > 1e-3
