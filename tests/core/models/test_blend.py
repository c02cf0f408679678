"""Blended networks: weight 0 and 1 equal each parent bit for bit, a layer swap lies between them,
the model is left exactly as it was, and what cannot blend says why in one line."""

import numpy as np
import pytest
import torch

from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.io.models import open_model
from gan_explorer.core.latent.state import LatentState, validate_state
from gan_explorer.core.latent.ws import ws_for_state
from gan_explorer.core.models.blend import blend_stages, layer_swap, open_partner
from gan_explorer.core.render import Renderer, RenderRequest

DEMO = "resources/demo/stylegan-faces64.safetensors"
OTHER = "ab" * 32   # the partner's content hash


@pytest.fixture(scope="module")
def parents():
    base = open_model(DEMO, device="cpu")
    other = open_model(DEMO, device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():   # a "fine-tuned" relative: every synthesis weight moved a little
        for param in other.synthesis.parameters():
            spread = param.std() if param.numel() > 1 else param.abs()
            param.add_(0.05 * spread * torch.randn(param.shape, generator=generator))
        for buffer in other.synthesis.buffers():   # its constant noise differs too
            buffer.add_(0.1 * torch.randn(buffer.shape, generator=generator))
    open_partner(OTHER, other)
    return base, other


def render(model, state):
    result = Renderer(model).render(RenderRequest(1, validate_state(state)))
    assert result.error is None, result.error
    return result.image


def test_weights_0_and_1_are_the_parents_and_a_swap_is_between(parents):
    base, other = parents
    state = LatentState(seed=11)
    alone = render(base, state)
    stages = len(blend_stages(base))
    assert np.array_equal(render(base, state.with_changes(blend=(OTHER,) + (0.0,) * stages)), alone)
    with torch.no_grad():
        theirs = to_uint8(other.synthesize(ws_for_state(base, state)))[0]
    assert np.array_equal(render(base, state.with_changes(blend=(OTHER, 1.0))), theirs)
    swap = render(base, state.with_changes(blend=(OTHER,) + layer_swap(base, 3)))
    assert not np.array_equal(swap, alone) and not np.array_equal(swap, theirs)
    half = render(base, state.with_changes(blend=(OTHER, 0.5)))
    assert 0 < np.abs(half.astype(int) - alone).mean() < np.abs(theirs.astype(int) - alone).mean()
    assert np.array_equal(render(base, state), alone)      # restored exactly


def test_a_stylegan3_partner_is_drawn_with_its_own_buffers():
    base = open_model("tests/fixtures/stylegan_official/sg3t_64.pkl", device="cpu")
    other = open_model("tests/fixtures/stylegan_official/sg3t_64.pkl", device="cpu")
    with torch.no_grad():
        for name, buffer in other.synthesis.named_buffers():
            if name.endswith("magnitude_ema"):   # the input gain each layer learnt
                buffer.mul_(1.3)
    open_partner("5e" * 32, other)
    state = LatentState(seed=3, transform=(0.1, 0.0, 10.0))
    with torch.no_grad():
        other.set_transform((0.1, 0.0), 10.0)
        theirs = to_uint8(other.synthesize(ws_for_state(base, state)))[0]
    assert np.array_equal(render(base, state.with_changes(blend=("5e" * 32, 1.0))), theirs)
    alone = render(base, state)
    assert not np.array_equal(alone, theirs)
    assert np.array_equal(render(base, state), alone)


def test_what_cannot_blend_is_one_line(parents):
    base, _ = parents
    result = Renderer(base).render(RenderRequest(1, LatentState(blend=("cd" * 32, 1.0))))
    assert "not open" in result.error and "\n" not in result.error
    result = Renderer(base).render(RenderRequest(1, LatentState(blend=(OTHER, 0.5, 0.5))))
    assert "takes" in result.error and "weights" in result.error
    narrower = open_model("tests/fixtures/stylegan_official/sg2ada_64.pkl", device="cpu")  # NVIDIA's, other widths
    open_partner("ef" * 32, narrower)
    result = Renderer(base).render(RenderRequest(1, LatentState(blend=("ef" * 32, 1.0))))
    assert "differ in architecture" in result.error and "\n" not in result.error


def test_a_blended_picture_re_renders_with_its_partner_named(parents, tmp_path, capsys):
    from PIL import Image

    from gan_explorer.cli import main
    from gan_explorer.core.explorer.provenance import export_metadata
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.io.identity import file_identity
    from gan_explorer.core.io.images import png_info, save_image

    base, other = parents
    partner_file = save_model(other, tmp_path / "relative.safetensors")
    state = LatentState(seed=5, blend=(file_identity(partner_file),) + layer_swap(base, 2))
    open_partner(file_identity(partner_file), other)
    result = Renderer(base).render(RenderRequest(1, validate_state(state)))
    image = result.image
    picture = tmp_path / "blended.png"
    save_image(picture, image, pnginfo=png_info(export_metadata("demo", "", state, result.ws)))
    from gan_explorer.core.models import blend

    blend._partners.pop(file_identity(partner_file))   # a fresh process knows no partner
    again = tmp_path / "again.png"
    assert main(["generate", DEMO, "--device", "cpu", "--latent", str(picture), "--out", str(again)]) == 2
    assert "not open" in capsys.readouterr().err
    assert main(["generate", DEMO, "--device", "cpu", "--latent", str(picture), "--blend-with", str(partner_file),
                 "--out", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(again)), image)
