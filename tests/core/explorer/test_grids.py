"""MixingGrid / MixingModel (the style-mixing figure) and BreedingModel (children, crossbreeding)."""

import numpy as np

from gan_explorer.core.explorer.grids import MixingGrid
from gan_explorer.core.explorer.state import LatentState
from tests.core.explorer.conftest import UNIT, Recorder, rendered_ws, tiny_model

# --- the mixing figure ----------------------------------------------------------------------------------
def test_a_seed_grid_has_headers_and_renders_in_the_order_of_gan_explorer_mix():
    base = LatentState(seed=0, truncation_psi=0.7, w_offsets=())
    grid = MixingGrid(base, row_seeds=(1, 2), col_seeds=(7, 8, 9), layers=(3, 4, 5), num_ws=6)
    assert grid.shape == (3, 4)
    assert grid.cell_state(0, 0) is None
    assert grid.cells() == [(0, 1), (0, 2), (0, 3), (1, 0), (2, 0), (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    assert grid.cell_state(0, 2) == LatentState(seed=8, truncation_psi=0.7)
    assert grid.cell_state(2, 0) == LatentState(seed=2, truncation_psi=0.7)
    assert grid.cell_state(2, 3) == LatentState(seed=2, truncation_psi=0.7, mix_seed=9, mix_layers=(3, 4, 5))
    assert len(grid.states()) == 11


def test_a_condition_grid_has_no_headers():
    conditions = ((1.0, 0.0), (0.0, 1.0))
    grid = MixingGrid(LatentState(), row_seeds=(4, 5), col_conditions=conditions, layers=(0, 1, 2), num_ws=6)
    assert grid.shape == (2, 2) and grid.cells() == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert grid.cell_state(1, 1) == LatentState(seed=5, mix_seed=5, mix_layers=(0, 1, 2), mix_condition=(0.0, 1.0))
    every_layer = MixingGrid(LatentState(), (4,), col_conditions=conditions, layers=tuple(range(6)), num_ws=6)
    assert every_layer.cell_state(0, 1) == LatentState(seed=4, condition=(0.0, 1.0))


def test_the_grid_renders_each_cell_and_a_clicked_cell_becomes_the_image(opened):
    explorer, model = opened
    explorer.latent.set_seed(3)
    explorer.latent.set_offset("d:0", (0, 5), UNIT, 1.0)  # the figure is of the seeds, without edits
    handle = explorer.mixing.render(row_seeds=(1, 2), col_seeds=(5,), layers=(4, 5))
    grid = explorer.mixing.grid
    assert handle.ok and len(handle.result.images) == len(grid.states()) == 5  # 1 + 2 headers, 2 cells
    for state, ws in zip(grid.states(), handle.result.ws):
        assert state.w_offsets == ()
        np.testing.assert_array_equal(ws, rendered_ws(model, state))
    mixed = handle.result.ws[grid.cells().index((2, 1))]
    np.testing.assert_array_equal(mixed[:4], rendered_ws(model, LatentState(seed=2, truncation_psi=0.7))[:4])
    np.testing.assert_array_equal(mixed[4:], rendered_ws(model, LatentState(seed=5, truncation_psi=0.7))[4:])
    explorer.mixing.open_cell(2, 1)
    state = explorer.latent.state
    assert (state.seed, state.mix_seed, state.mix_layers) == (2, 5, (4, 5))
    assert [e.label for e in explorer.latent.edits()] == ["mix with seed 5"]
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, mixed)
    before = explorer.latent.state
    explorer.mixing.open_cell(0, 0)  # the empty corner: nothing happens
    assert explorer.latent.state == before


# --- breeding --------------------------------------------------------------------------------------------
def test_children_grow_around_the_image_shown_and_a_chosen_one_becomes_it(opened):
    explorer, model = opened
    breeding = explorer.breeding
    explorer.latent.set_offset("lib:x", (0, 5), UNIT, 2.0)
    parent = explorer.viewer.current_ws.copy()
    handle = breeding.grow(4, 0.5, (0, 5), seed=1)
    assert handle.ok and len(breeding.children) == len(handle.result.images) == 4
    for child, ws in zip(breeding.children, handle.result.ws):
        assert child.w_offsets == () and child.ws  # an explicit latent: no edit on top
        np.testing.assert_array_equal(ws, np.asarray(child.ws, np.float32))
        assert not np.array_equal(ws, parent)
    again = breeding.grow(4, 0.5, (0, 5), seed=1, parent_ws=parent)
    for a, b in zip(handle.result.ws, again.result.ws):  # the same seed: the same children
        np.testing.assert_array_equal(a, b)
    breeding.open_child(2)
    assert explorer.latent.edits() == []
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, again.result.ws[2])
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, explorer.latent.state))


def test_crossbreeding_blends_or_takes_layers_from_parents(opened):
    explorer, model = opened
    breeding = explorer.breeding
    changed = Recorder(breeding.events, "parents_changed")
    breeding.add_current()
    assert breeding.add_state("seed 9", LatentState(seed=9)).ok
    a, b = breeding.parents[0][1], breeding.parents[1][1]
    np.testing.assert_array_equal(b, rendered_ws(model, LatentState(seed=9)))
    assert [p[0] for p in breeding.parents] == ["seed 0", "seed 9"] and len(changed.of("parents_changed")) == 2
    assert breeding.parents[1][2].shape == (16, 16, 3)
    blended = breeding.crossbreed(weights=[1.0, 3.0])
    np.testing.assert_allclose(np.asarray(blended.ws, np.float32), 0.25 * a + 0.75 * b, atol=1e-6)
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, np.asarray(blended.ws, np.float32))
    explorer.latent.set_offset("d:1", (0, 5), UNIT, 1.0)
    genes = breeding.crossbreed(owners=[0, 0, 0, 1, 1, 1])
    shown = explorer.viewer.last_result.ws
    np.testing.assert_array_equal(shown[:3], a[:3])
    np.testing.assert_array_equal(shown[3:], b[3:])
    assert genes.w_offsets == () and explorer.latent.edits() == []


def test_breeding_starts_over_with_another_model(opened):
    explorer, _ = opened
    explorer.breeding.add_current()
    explorer.breeding.grow(2, 0.5, (0, 5))
    explorer.viewer.use_model(tiny_model(seed=3))
    assert explorer.breeding.parents == [] and explorer.breeding.children == []


def test_no_children_without_an_image(explorer):
    assert explorer.breeding.grow(3, 0.5, (0, 5)) is None
