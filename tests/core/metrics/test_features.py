"""Feature networks: the random CNN, Inception-v3 from a file (loaded safely), errors, resizing."""

import pickle

import pytest
import torch

from gan_explorer.core.errors import CheckpointError, ConfigError
from gan_explorer.core.metrics.features import load_features
from gan_explorer.core.metrics.inception import InceptionV3FID, load_inception, resize_bilinear_tf1


def test_random_features_are_seeded_and_take_any_resolution_and_grayscale():
    a, b, other = load_features("random"), load_features("random:0"), load_features("random:1")
    images = torch.rand(4, 3, 64, 64) * 2 - 1
    fa = a(images)
    assert fa.shape == (4, a.dim) and fa.dtype == torch.float32 and a.dim == 256
    assert torch.equal(fa, b(images))
    assert not torch.allclose(fa, other(images))
    assert a(torch.rand(2, 3, 128, 128) * 2 - 1).shape == (2, a.dim)
    assert a(torch.rand(2, 1, 32, 32) * 2 - 1).shape == (2, a.dim)
    assert "random" in a.label and a.identity != other.identity
    maps = a.feature_maps(images)
    assert [m.shape[-1] for m in maps] == [64, 32, 16, 8, 4]


def test_unknown_specs_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="expected gan_explorer"):
        load_features("vgg")
    with pytest.raises(ConfigError, match="seed must be an integer"):
        load_features("random:abc")
    with pytest.raises(ConfigError, match="inception:PATH"):
        load_features("inception:")
    with pytest.raises(CheckpointError, match="no such Inception weights file"):
        load_features(f"inception:{tmp_path / 'missing.pth'}")


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch evil-ran",))


def test_inception_weights_never_unpickle_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"Conv2d_1a_3x3.conv.weight": _Evil()}, protocol=2))
    with pytest.raises(CheckpointError, match="loads safely"):
        load_inception(path)
    assert not (tmp_path / "evil-ran").exists()
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(3)}, wrong)
    with pytest.raises(CheckpointError, match="not the FID Inception-v3 layout"):
        load_inception(wrong)


@pytest.mark.slow
def test_inception_loads_a_state_dict_file_and_gives_2048_features(tmp_path):
    torch.manual_seed(0)
    net = InceptionV3FID().eval()
    state = net.state_dict()
    path = tmp_path / "inception.pth"
    torch.save(state, path)
    extractor = load_features(f"inception:{path}")
    assert extractor.dim == 2048 and extractor.label.startswith("FID")
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = net(extractor.prepare(images))
        assert torch.allclose(extractor(images), expected, atol=1e-5)


def test_tensorflow1_bilinear_resize_keeps_constants_and_samples_without_half_pixel_offset():
    x = torch.full((1, 3, 8, 8), 5.0)
    assert torch.allclose(resize_bilinear_tf1(x, 299), torch.full((1, 3, 299, 299), 5.0))
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    out = resize_bilinear_tf1(ramp, 8)
    # Output column j samples input column j * 4 / 8 (no half-pixel centre), clamped at the edge.
    assert torch.allclose(out[0, 0, 0], torch.tensor([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.0]))
