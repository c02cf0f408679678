"""NetworkModel: the panel's lists come from the worker; bends and blends are state edits (one undo
step each) that change the image, and a bend the model cannot take is refused in one line."""

import numpy as np
import torch

from gan_explorer.core.io.checkpoint import save_model
from tests.core.explorer.conftest import Recorder, tiny_model


def test_the_layout_is_listed_for_a_stylegan(opened):
    explorer, model = opened
    assert explorer.network.list_layout().ok
    layout = explorer.network.layout
    assert layout.stages == tuple(f"b{r}" for r in model.synthesis.block_resolutions)
    assert layout.layers[0][0] == "b4.conv1"


def test_a_bend_is_an_undoable_edit_that_changes_the_image(opened):
    explorer, _ = opened
    explorer.network.list_layout()
    before = explorer.viewer.last_result.image.copy()
    assert explorer.network.add_bend(1, "scale", (0.0,))
    bent = explorer.viewer.last_result.image
    assert explorer.latent.state.bends and np.abs(bent.astype(int) - before).mean() > 0.5
    explorer.network.set_bend(0, (0.5,), gesture="bend0")
    assert explorer.latent.state.bends[0].params == (0.5,)
    explorer.latent.undo()
    explorer.latent.undo()
    assert explorer.latent.state.bends == ()
    np.testing.assert_array_equal(explorer.viewer.last_result.image, before)


def test_a_bend_the_model_cannot_take_is_one_line(opened):
    explorer, _ = opened
    said = Recorder(explorer.network.events, "message")
    explorer.network.list_layout()
    assert not explorer.network.add_bend(999, "scale", (1.0,))
    assert not explorer.network.add_bend(0, "melt", ())
    assert explorer.latent.state.bends == ()
    assert len(said.of("message")) == 2 and all("\n" not in m for m in said.of("message"))


def test_blending_with_a_partner_moves_the_image_and_a_swap_sets_every_stage(opened, tmp_path):
    explorer, model = opened
    explorer.network.list_layout()
    other = tiny_model(seed=7)   # the same architecture, other weights
    path = tmp_path / "other.safetensors"
    save_model(other, path)
    partnered = Recorder(explorer.network.events, "partner_opened")
    assert explorer.network.open_partner(path).ok and partnered.of("partner_opened")
    before = explorer.viewer.last_result.image.copy()
    stages = len(explorer.network.layout.stages)
    explorer.network.set_blend_weight(stages - 1, 1.0)
    assert explorer.network.blend_weights()[-1] == 1.0
    assert not np.array_equal(explorer.viewer.last_result.image, before)
    explorer.network.layer_swap(1)
    assert explorer.network.blend_weights() == (0.0,) + (1.0,) * (stages - 1)
    explorer.network.clear_blend()
    assert explorer.latent.state.blend == ()
    np.testing.assert_array_equal(explorer.viewer.last_result.image, before)

