"""The layer viewer's core: every family's layers, activations equal to a hook's, ablation, spectrum."""

import numpy as np
import pytest
import torch

from gan_explorer.core.analysis.layers import (
    capture_activations, channel_grid, channel_stats, example_input, layer_view, list_layers, render_ablated,
    spectrum,
)
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models import build_model
from tests.conftest import TINY


@pytest.mark.parametrize("family", sorted(TINY))
def test_every_family_lists_its_layers_with_output_shapes(family):
    model = build_model(family, **TINY[family]).eval()
    layers = list_layers(model)
    assert len(layers) >= 5
    assert [info.index for info in layers] == list(range(len(layers)))
    last = layers[-1]
    if family not in ("gan",):  # the MLP's last layer outputs the flat image before its reshape
        assert last.shape[-2:] == (model.img_resolution, model.img_resolution)
    view = layer_view(model, example_input(model), layers[len(layers) // 2].name, layers=layers)
    assert view.grid.dtype == np.uint8 and view.image.dtype == np.uint8


@pytest.mark.parametrize("family,layer", [("dcgan", "generator.main.1"), ("stylegan", "synthesis.b8.conv1"),
                                          ("vae", "decoder.main.3")])
def test_activations_shown_equal_a_forward_hook(family, layer):
    """dcgan main.1 and vae decoder.main.3 are batch norms followed by an in-place ReLU: what is
    shown must be the batch norm output, not what the ReLU left in its tensor."""
    model = build_model(family, **TINY[family]).eval()
    ws = example_input(model, seed=3)
    expected = []
    module = dict(model.named_modules())[layer]
    handle = module.register_forward_hook(lambda _m, _i, out: expected.append(out.detach().clone()))
    with torch.no_grad():  # as the viewer runs (a grad-mode forward may take other kernels)
        model.synthesize(ws)
    handle.remove()
    view = layer_view(model, ws, layer, db=True)
    assert np.array_equal(view.activation, expected[0][0].numpy())
    assert np.array_equal(view.grid, channel_grid(expected[0][0].numpy(), db=True))
    assert (expected[0][0] < 0).any(), "the hook saw the pre-ReLU values"
    stats = channel_stats(view.activation)
    assert np.allclose(stats["mean"], expected[0][0].mean(dim=(1, 2)).numpy(), atol=1e-6)
    assert np.allclose(stats["max"], expected[0][0].amax(dim=(1, 2)).numpy())


@pytest.mark.parametrize("family,layer", [("stylegan", "synthesis.b8.conv0"), ("dcgan", "generator.main.2"),
                                          ("gan", "generator.1"), ("cyclegan", "G_AB.main.3")])
def test_ablating_a_channel_changes_the_image_and_scale_one_does_not(family, layer):
    model = build_model(family, **TINY[family]).eval()
    inputs = example_input(model, seed=1)
    _, plain = capture_activations(model, inputs, [layer])
    off = render_ablated(model, inputs, layer, channels=[0, 1], scale=0.0)
    same = render_ablated(model, inputs, layer, channels=[0, 1], scale=1.0)
    assert (off - plain).abs().max() > 1e-4
    assert torch.equal(same, plain)
    _, after = capture_activations(model, inputs, [layer])
    assert torch.equal(after, plain), "the ablation hook was removed"


def test_spectrum_of_a_sinusoid_peaks_at_its_frequency():
    y, x = np.mgrid[0:32, 0:32]
    wave = np.cos(2 * np.pi * 5 * x / 32)[None]
    spec = spectrum(wave)
    peak = np.unravel_index(np.argmax(spec), spec.shape)
    assert peak in [(16, 16 + 5), (16, 16 - 5)]


def test_bad_layer_and_channel_are_one_line():
    model = build_model("dcgan", **TINY["dcgan"]).eval()
    ws = example_input(model)
    with pytest.raises(ConfigError, match="no such layer"):
        capture_activations(model, ws, ["generator.nope"])
    with pytest.raises(ConfigError, match="channel.*has 16 channels"):
        render_ablated(model, ws, "generator.main.0", channels=[99])
