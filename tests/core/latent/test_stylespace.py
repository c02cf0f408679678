"""StyleSpace: the style layers of StyleGAN2 / imported / StyleGAN3 networks, S edits applied inside
synthesis (and the model left exactly as it was), and an S edit exported to a PNG re-rendered bit
for bit by `generate --latent`."""

from pathlib import Path

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.state import LatentState, SEdit
from gan_explorer.core.latent.stylespace import (
    apply_s_edits, num_channels, sample_styles, style_layers, style_spread, styles_for_ws,
)
from gan_explorer.core.render import RenderRequest, Renderer, ws_for_state
from gan_explorer.core.synthesis_edits import synthesis_edits
from tests.conftest import TINY

OFFICIAL = Path(__file__).parents[2] / "fixtures" / "stylegan_official"
DEMO = Path(__file__).parents[3] / "resources" / "demo" / "stylegan-faces64.safetensors"


def tiny(family="stylegan"):
    from gan_explorer.core.models import build_model

    torch.manual_seed(1)
    return build_model(family, **TINY[family]).eval()


def render(model, state):
    result = Renderer(model).render(RenderRequest(1, state))
    assert result.error is None, result.error
    return result.image


def test_layers_of_our_stylegan_follow_the_synthesis_plan():
    model = tiny()
    layers = style_layers(model)
    assert [l.name for l in layers[:5]] == ["b4.conv1", "b4.torgb", "b8.conv0", "b8.conv1", "b8.torgb"]
    assert [l.w_index for l in layers[:5]] == [0, 1, 1, 2, 3]
    assert num_channels(model) == sum(m.out_features for n, m in model.named_modules() if n.endswith("affine"))
    ws = ws_for_state(model, LatentState(seed=3))
    styles = styles_for_ws(model, ws)
    assert torch.equal(styles[2], model.synthesis.b8.conv0.affine(ws[:, 1]))


@pytest.mark.parametrize("path", ["sg2ada_64.pkl", "sg3t_64.pkl"])
def test_imported_nvidia_networks_have_style_layers_and_s_edits_change_them(path):
    from gan_explorer.core.io.models import open_model

    model = open_model(OFFICIAL / path)
    layers = style_layers(model)
    affines = [n for n, _ in model.named_modules() if n.endswith("affine") and "input" not in n]
    assert len(layers) == len(affines) and all(l.channels > 0 for l in layers)
    base = LatentState(seed=0)
    edited = base.with_changes(s_edits=(SEdit(1, 0, 5.0), SEdit(1, 0, 5.0)))
    assert not np.array_equal(render(model, base), render(model, edited))


def test_the_applier_adds_to_one_channel_and_restores_the_model_exactly():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ws = ws_for_state(model, LatentState(seed=2))
    with torch.no_grad():
        plain = model.synthesize(ws)
    state = LatentState(seed=2, s_edits=(SEdit(3, 5, 2.0), SEdit(3, 5, 0.5)))
    seen = []
    with torch.no_grad(), synthesis_edits(model, state):  # registered after the edit's hook: sees its output
        handle = model.synthesis.b8.conv1.affine.register_forward_hook(lambda m, i, o: seen.append(o.clone()))
        edited = model.synthesize(ws)
    handle.remove()
    expected = model.synthesis.b8.conv1.affine(ws[:, 2]).detach()
    expected[:, 5] += 2.5
    assert torch.allclose(seen[0], expected)
    assert not torch.equal(plain, edited)
    with torch.no_grad():
        assert torch.equal(model.synthesize(ws), plain)  # same bits after the applier closed
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks for m in model.modules())


def test_a_failure_inside_still_removes_the_hooks():
    model = tiny()
    with pytest.raises(RuntimeError):
        with apply_s_edits(model, LatentState(s_edits=(SEdit(0, 0, 1.0),))):
            raise RuntimeError("boom")
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("edit, words", [(SEdit(99, 0, 1.0), "layer 99"), (SEdit(0, 999, 1.0), "channels")])
def test_an_edit_the_model_has_no_room_for_is_one_line(edit, words):
    with pytest.raises(ConfigError, match=words):
        with apply_s_edits(tiny(), LatentState(s_edits=(edit,))):
            pass
    with pytest.raises(ConfigError, match="no styles"):
        style_layers(tiny("dcgan"))


def test_spread_is_the_std_of_sampled_styles():
    model = tiny()
    spread = style_spread(model, num=200)
    styles = sample_styles(model, num=200).numpy()
    assert [len(s) for s in spread] == [l.channels for l in style_layers(model)]
    np.testing.assert_allclose(np.concatenate(spread), styles.std(0), rtol=1e-5)


def test_an_s_edit_exported_to_png_re_renders_bit_identically(tmp_path):
    from gan_explorer.cli import main
    from gan_explorer.core.explorer.jobs import SaveImage
    from gan_explorer.core.explorer.session import ExplorerSession
    from gan_explorer.core.io.identity import file_identity
    from PIL import Image
    from gan_explorer.core.io.models import open_model

    model = open_model(DEMO)
    state = LatentState(seed=5, truncation_psi=0.7, s_edits=(SEdit(9, 3, 4.0), SEdit(12, 7, -3.0)))
    session = ExplorerSession(sync=True)
    picture = tmp_path / "edited.png"
    handle = session.submit(SaveImage(path=str(picture), state=state, model_name=DEMO.name,
                                      content_hash=file_identity(DEMO)), session.set_model(model))
    assert handle.ok, handle.error
    shown = render(model, state)
    assert not np.array_equal(shown, render(model, state.with_changes(s_edits=())))
    again = tmp_path / "again.png"
    assert main(["generate", str(DEMO), "--latent", str(picture), "--out", str(again)]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(again).convert('RGB')), shown)
    np.testing.assert_array_equal(np.asarray(Image.open(picture).convert('RGB')), shown)
