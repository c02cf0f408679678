"""The explorer with a conditional model: the class / factors a state holds reach map(), survive undo,
bookmark and PNG round trips, and mix per layer."""

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.explorer.conditions import class_condition, describe_condition, parse_condition, \
    parse_condition_list
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.models import build_model
from gan_explorer.core.render import ws_for_state
from tests.conftest import TINY


def conditional_stylegan(c_dim=3, **extra):
    torch.manual_seed(3)
    model = build_model("stylegan", **TINY["stylegan"], c_dim=c_dim, **extra).eval()
    # A freshly initialised embedding is small next to z: make the class visibly matter.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed" in name and p.dim() == 2:
                p.mul_(20)
    return model


def test_model_info_describes_the_classes(explorer):
    explorer.viewer.use_model(conditional_stylegan(3, c_names=("cat", "dog", "fox")))
    info = explorer.viewer.info
    assert (info.c_dim, info.c_kind, info.c_names) == (3, "class", ("cat", "dog", "fox"))
    assert len(info.c_default) == 3
    assert parse_condition(info, "dog") == (0.0, 1.0, 0.0) == parse_condition(info, "1")
    with pytest.raises(ConfigError, match="class 'wolf'"):
        parse_condition(info, "wolf")
    assert parse_condition_list(info, "all") == [class_condition(info, i) for i in range(3)]
    assert describe_condition(info, (0.0, 0.0, 1.0)) == "class fox"


def test_the_class_reaches_map_and_undo_restores_it(explorer):
    model = conditional_stylegan(3)
    explorer.viewer.use_model(model)
    info = explorer.viewer.info
    explorer.latent.change(seed=5, truncation_psi=1.0)
    explorer.latent.change(condition=class_condition(info, 2))
    ws = ws_for_state(model, explorer.latent.state)
    expected = model.map(model.sample_z(1, 5), c=torch.tensor([[0.0, 0.0, 1.0]]))
    assert torch.allclose(ws, expected)
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, ws[0].numpy())  # rendered with the class
    other = ws_for_state(model, explorer.latent.state.with_changes(condition=class_condition(info, 0)))
    assert not torch.allclose(ws, other, atol=1e-3)  # the class changes w
    explorer.latent.undo()
    assert explorer.latent.state.condition == ()
    explorer.latent.redo()
    assert explorer.latent.state.condition == (0.0, 0.0, 1.0)
    assert "class" in explorer.viewer.status_text()


def test_a_state_from_another_model_falls_back_to_the_default(explorer):
    model = conditional_stylegan(3)
    state = LatentState(seed=2, condition=(1.0, 0.0))  # two classes: made on another model
    default = model.map(model.sample_z(1, 2))
    assert torch.allclose(ws_for_state(model, state), default)


def test_mixing_takes_layers_from_the_same_seed_in_another_class(explorer):
    model = conditional_stylegan(3)
    explorer.viewer.use_model(model)
    info = explorer.viewer.info
    a, b = class_condition(info, 0), class_condition(info, 2)
    assert model.num_ws == 6
    layers = (3, 4, 5)
    mixed = ws_for_state(model, LatentState(seed=7, condition=a, mix_seed=7, mix_layers=layers, mix_condition=b))
    in_a = ws_for_state(model, LatentState(seed=7, condition=a))
    in_b = ws_for_state(model, LatentState(seed=7, condition=b))
    assert torch.equal(mixed[:, :3], in_a[:, :3])
    assert torch.equal(mixed[:, 3:], in_b[:, 3:])
    assert not torch.allclose(in_a, in_b, atol=1e-3)


def test_interpolation_in_z_carries_the_class_along(explorer):
    from gan_explorer.core.latent.interpolation import interpolation_ws

    model = conditional_stylegan(3)
    explorer.viewer.use_model(model)
    info = explorer.viewer.info
    keys = [LatentState(seed=1, condition=class_condition(info, 0)),
            LatentState(seed=1, condition=class_condition(info, 1))]
    frames = interpolation_ws(model, keys, frames_per_segment=4, method="lerp", space="z")
    assert torch.allclose(frames[0], ws_for_state(model, keys[0])[0], atol=1e-5)
    assert torch.allclose(frames[-1], ws_for_state(model, keys[1])[0], atol=1e-5)
    halfway = model.map(model.sample_z(1, 1), c=torch.tensor([[0.5, 0.5, 0.0]]))
    assert torch.allclose(frames[2], halfway[0], atol=1e-5)


def test_the_condition_survives_a_png_round_trip(explorer, tmp_path):
    from gan_explorer.core.io.checkpoint import save_model

    path = save_model(conditional_stylegan(3), tmp_path / "cond.safetensors")
    explorer.viewer.open_model(path)
    info = explorer.viewer.info
    explorer.latent.set_seed(3)
    explorer.latent.change(condition=class_condition(info, 1))
    png = tmp_path / "shot.png"
    assert explorer.pictures.save_image(png).ok
    explorer.latent.change(condition=class_condition(info, 0))
    assert explorer.pictures.restore(png)
    assert explorer.latent.state.condition == (0.0, 1.0, 0.0)
    assert np.asarray(explorer.latent.state.condition).sum() == 1.0
