"""Ranking StyleSpace channels for a region or for marked examples, on a tiny StyleGAN."""

import numpy as np
import pytest
import torch

from gan_explorer.core.analysis.style_channels import (
    THRESHOLD, effect_maps, rank_by_examples, rank_by_overlap, rank_by_region,
)
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.state import LatentState
from gan_explorer.core.latent.stylespace import add_to_styles, style_layers, style_spread
from gan_explorer.core.render import ws_for_state
from tests.conftest import TINY


@pytest.fixture(scope="module")
def model():
    from gan_explorer.core.models import build_model

    torch.manual_seed(1)
    return build_model("stylegan", **TINY["stylegan"]).eval()


@pytest.fixture(scope="module")
def effects(model):
    ws = torch.cat([ws_for_state(model, LatentState(seed=s)) for s in (1, 2)])
    return effect_maps(model, ws, layers=[3, 4, 6])


def test_an_effect_map_is_the_change_of_one_channel_moved_by_its_spread(model, effects):
    layers = style_layers(model)
    assert effects.maps.shape == (2, sum(layers[k].channels for k in (3, 4, 6)), 16, 16)
    j = layers[3].channels + 5  # layer 4, channel 5
    assert tuple(effects.index[j]) == (4, 5) and effects.names[j] == f"4 {layers[4].name} #5"
    spread = style_spread(model)
    ws = ws_for_state(model, LatentState(seed=2))
    delta = torch.zeros(layers[4].channels)
    delta[5] = float(spread[4][5])
    with torch.no_grad():
        base = model.synthesize(ws)
        with add_to_styles(model, {4: delta}):
            moved = model.synthesize(ws)
    expected = (moved - base).abs().sum(dim=1)[0].numpy()
    np.testing.assert_allclose(effects.maps[1, j].astype(np.float32), expected, rtol=2e-3, atol=2e-3)


def test_a_region_drawn_from_one_channels_map_ranks_that_channel_first_by_overlap(model, effects):
    j = 40
    known = effects.maps[:, j].astype(np.float32)
    masks = known > THRESHOLD * known.max(axis=(1, 2), keepdims=True)
    ranking = rank_by_region(effects, masks.astype(np.float32), "known")
    best = rank_by_overlap(ranking)[0]
    assert (best.layer, best.channel) == tuple(effects.index[j]) and best.overlap == pytest.approx(1.0)
    everywhere = rank_by_region(effects, np.ones((16, 16)), "all")
    assert all(s.locality == pytest.approx(1.0, abs=1e-3) for s in everywhere.scores)
    ordered = [s.locality for s in ranking.scores if s.strength >= 0.1 * max(x.strength for x in ranking.scores)]
    assert ordered == sorted(ordered, reverse=True)  # strong channels first, most local first


def test_a_mask_count_that_fits_no_image_is_one_line(effects):
    with pytest.raises(ConfigError, match="3 masks for 2 images"):
        rank_by_region(effects, np.ones((3, 16, 16)))


def test_examples_that_share_a_pushed_channel_rank_it_first(model):
    layers = style_layers(model)
    ws = torch.cat([ws_for_state(model, LatentState(seed=s)) for s in range(6)])
    # The marked examples: latents whose style 5 (b16.conv0) channel 3 is pushed far, through their w
    assert layers[5].name == "b16.conv0"
    affine = model.synthesis.b16.conv0.affine
    row = affine.weight[3] * affine.weight_gain
    step = (row / row.square().sum()).detach() * 6.0  # moves channel 3 of layer 5 by +6
    pushed = ws.clone()
    pushed[:, layers[5].w_index] += step
    ranking = rank_by_examples(model, pushed, "pushed", population=500)
    top = ranking.scores[0]
    assert (top.layer, top.channel, top.sign) == (5, 3, 1.0)
    with pytest.raises(ConfigError, match="at least 2"):
        rank_by_examples(model, pushed[:1])


def test_effect_maps_draw_inside_around_and_check_outside_it():
    """The ranking job draws the image as shown (transform, tuning, blend, bends) only around its own
    synthesis: a render served by should_stop never sees them."""
    from contextlib import contextmanager

    import torch

    from gan_explorer.core.analysis.style_channels import effect_maps
    from gan_explorer.core.io.models import open_model

    model = open_model("resources/demo/stylegan-faces64.safetensors", device="cpu")
    inside, entered, checked = [], [], []

    @contextmanager
    def around():
        inside.append(True)
        entered.append(True)
        yield
        inside.pop()

    def should_stop():
        checked.append(not inside)
        return False

    with torch.no_grad():
        effect_maps(model, model.map(model.sample_z(1, 0)), layers=[0], around=around, should_stop=should_stop)
    assert entered and checked and all(checked)
