"""Network bending: each op does what it says to a feature map, bends change the picture and leave
the model exactly as it was, a bent picture re-renders bit for bit from its PNG, and a bend the
model cannot take is one line."""

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.explorer.provenance import export_metadata
from gan_explorer.core.io.images import png_info, save_image
from gan_explorer.core.io.models import open_model
from gan_explorer.core.latent.state import LatentState, validate_state
from gan_explorer.core.models.bend import bend_features, bend_layers
from gan_explorer.core.render import Renderer, RenderRequest

DEMO = "resources/demo/stylegan-faces64.safetensors"


@pytest.fixture(scope="module")
def demo():
    return open_model(DEMO, device="cpu")


def render(model, state):
    result = Renderer(model).render(RenderRequest(1, validate_state(state)))
    return result


def test_ops_on_a_known_feature_map():
    x = torch.zeros(1, 3, 8, 8)
    x[0, :, 2, 3] = 1.0
    assert torch.equal(bend_features(x, "translate", (0.25, 0.5)), torch.roll(x, (4, 2), (-2, -1)))
    assert torch.equal(bend_features(x, "scale", (3.0,)), 3 * x)
    dilated = bend_features(x, "dilate", (1,))
    assert dilated[0, 0, 1:4, 2:5].min() == 1 and dilated.sum() == 3 * 9
    assert bend_features(dilated, "erode", (1,)).sum() == 3        # erosion undoes the dilation
    zeroed = bend_features(x, "zero", (0, 2))
    assert zeroed[0, 0].sum() == 0 and zeroed[0, 2].sum() == 0 and torch.equal(zeroed[0, 1], x[0, 1])
    inverted = bend_features(x, "invert", ())
    assert inverted[0, 0, 2, 3] == 0 and inverted[0, 0, 0, 0] == 1   # within each channel's own range
    assert torch.allclose(bend_features(x, "rotate", (0.0,)), x, atol=1e-6)
    turned = bend_features(x, "rotate", (90.0,))
    assert turned.sum() > 0 and not torch.allclose(turned, x)


def test_layers_are_listed_for_stylegan2_and_3(demo):
    layers = bend_layers(demo)
    assert layers[0].name == "b4.conv1" and layers[0].resolution == 4
    assert [layer.index for layer in layers] == list(range(len(layers)))
    sg3 = open_model("tests/fixtures/stylegan_official/sg3t_64.pkl", device="cpu")
    names = [layer.name for layer in bend_layers(sg3)]
    assert names == sg3.synthesis.layer_names[:-1]         # every layer but the last (ToRGB)


@pytest.mark.parametrize("op, params", [("scale", (0.0,)), ("translate", (0.25, 0.0)), ("rotate", (30.0,)),
                                        ("erode", (1,)), ("dilate", (1,)), ("invert", ()), ("zero", (0, 1, 2, 3))])
def test_every_op_changes_the_picture_and_leaves_the_model_as_it_was(demo, op, params):
    before = render(demo, LatentState(seed=2)).image
    bent = render(demo, LatentState(seed=2, bends=((3, op, params),)))
    assert bent.error is None
    assert np.abs(bent.image.astype(int) - before).mean() > 0.5
    assert np.array_equal(render(demo, LatentState(seed=2)).image, before)


def test_a_bent_picture_re_renders_bit_for_bit_from_its_png(demo, tmp_path):
    state = validate_state(LatentState(seed=7, bends=((2, "rotate", (25.0,)), (5, "scale", (1.5,)))))
    result = render(demo, state)
    picture = tmp_path / "bent.png"
    save_image(picture, result.image, pnginfo=png_info(export_metadata("demo", "", state, result.ws)))
    again = tmp_path / "again.png"
    assert main(["generate", DEMO, "--device", "cpu", "--latent", str(picture), "--out", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(again)), result.image)


@pytest.mark.parametrize("bend, words", [((99, "scale", (1.0,)), "layers 0 to"), ((0, "melt", ()), "must be one of"),
                                         ((0, "zero", (9999,)), "channels must be"),
                                         ((0, "erode", (0.5,)), "radius")])
def test_a_bend_the_model_cannot_take_is_one_line(demo, bend, words):
    result = render(demo, LatentState(bends=(bend,)))
    assert result.image is None and words in result.error and "\n" not in result.error
    assert render(demo, LatentState()).error is None     # and the model still renders after it
