import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent import lerp, mix_styles, parse_layers, slerp, truncate


def test_truncation_psi_and_cutoff():
    ws = torch.randn(2, 6, 4)
    avg = torch.randn(4)
    assert truncate(ws, avg, 1.0) is ws
    assert torch.allclose(truncate(ws, avg, 0.0), avg.expand_as(ws))
    half = truncate(ws, avg, 0.5, cutoff=3)
    assert torch.allclose(half[:, :3], (ws[:, :3] + avg) / 2, atol=1e-6)
    assert torch.equal(half[:, 3:], ws[:, 3:])
    assert torch.allclose(truncate(ws, avg, -1.0), 2 * avg - ws, atol=1e-6)


def test_parse_layers():
    assert parse_layers("0-3", 10) == [0, 1, 2, 3]
    assert parse_layers("5,1,2-3", 10) == [1, 2, 3, 5]
    assert parse_layers("coarse", 10) == [0, 1, 2, 3]
    assert parse_layers("fine", 10) == [8, 9]
    with pytest.raises(ConfigError, match="outside 0..9"):
        parse_layers("8-12", 10)
    with pytest.raises(ConfigError, match="expected"):
        parse_layers("a-b", 10)


def test_mix_styles_takes_only_given_layers():
    a, b = torch.zeros(1, 5, 3), torch.ones(1, 5, 3)
    m = mix_styles(a, b, [1, 3])
    assert m[0, :, 0].tolist() == [0, 1, 0, 1, 0]
    assert torch.equal(a, torch.zeros(1, 5, 3))  # inputs untouched


def test_lerp_and_slerp_end_points_and_norm():
    torch.manual_seed(0)
    a, b = torch.randn(512), torch.randn(512)
    for f in (lerp, slerp):
        assert torch.allclose(f(a, b, 0.0), a, atol=1e-5)
        assert torch.allclose(f(a, b, 1.0), b, atol=1e-5)
    mid_s, mid_l = slerp(a, b, 0.5), lerp(a, b, 0.5)
    # Slerp keeps a typical Gaussian norm; lerp shrinks it toward the centre.
    assert mid_s.norm() > 0.95 * min(a.norm(), b.norm())
    assert mid_l.norm() < 0.8 * min(a.norm(), b.norm())
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-4)  # parallel: plain lerp
