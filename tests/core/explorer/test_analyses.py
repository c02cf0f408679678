"""AnalysesModel: the Understand dock's work without Qt (map, layers, attribute, probe, metrics)."""

import numpy as np
import pytest

from gan_explorer.core.explorer.jobs import MeasureQuality, ProbeFactors, SampleForAttribute
from gan_explorer.core.explorer.state import LatentState
from tests.core.explorer.conftest import UNIT, Recorder, rendered_ws, tiny_model

@pytest.fixture
def mapped(opened):
    explorer, model = opened
    handle = explorer.analyses.compute_map(12, "w", "pca")
    assert handle.ok, handle.error
    return explorer, model, handle.result


# --- the map ------------------------------------------------------------------------------------------------
def test_the_map_is_kept_and_announced(opened):
    explorer, _ = opened
    changed = Recorder(explorer.analyses.events, "map_changed")
    handle = explorer.analyses.compute_map(12, "w", "pca")
    latent_map = explorer.analyses.latent_map
    assert latent_map is handle.result and changed.of("map_changed") == [latent_map]
    assert latent_map.points.shape == (12, 2) and latent_map.truncation_psi == explorer.latent.state.truncation_psi


def test_a_map_point_replaces_every_edit_and_the_state_shown_is_the_state_rendered(mapped):
    explorer, model, latent_map = mapped
    latent = explorer.latent
    latent.change(seed=99, truncation_psi=1.0)
    latent.set_w(2, 1.0, (0, 5))
    latent.set_offset("lib:smile", (0, 5), UNIT, 1.0)
    latent.end_gesture()
    assert explorer.analyses.go_to_point(7).ok
    state = latent.state
    assert latent.edits() == [] and state.w_offsets == ()
    point_ws = latent_map.ws(model, 7)[0].numpy()
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, point_ws)  # exactly the point
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, state))
    # The seed and psi boxes show the point's own seed and the map's psi, not the previous ones:
    assert (state.seed, state.truncation_psi) == (int(latent_map.seeds[7]), latent_map.truncation_psi)
    np.testing.assert_allclose(rendered_ws(model, state.with_changes(ws=())), point_ws, atol=1e-5)


def test_the_current_image_and_bookmarks_are_placed_on_the_map(mapped):
    explorer, model, latent_map = mapped
    explorer.analyses.go_to_point(3)
    np.testing.assert_allclose(explorer.analyses.current_point(), latent_map.points[3], atol=1e-4)
    marks = explorer.analyses.place_marks([LatentState(seed=4)], [LatentState(seed=5), LatentState(seed=6)])
    assert marks.ok and len(marks.result.bookmarks) == 1 and len(marks.result.path) == 2
    np.testing.assert_array_equal(marks.result.bookmarks[0], rendered_ws(model, LatentState(seed=4)))
    assert explorer.analyses.project_on_map(list(marks.result.path)).shape == (2, 2)
    assert explorer.analyses.place_marks([], []) is None


def test_a_map_of_a_previous_model_is_dropped(mapped):
    explorer, _, _ = mapped
    changed = Recorder(explorer.analyses.events, "map_changed")
    explorer.viewer.use_model(tiny_model("dcgan"))
    assert explorer.analyses.latent_map is None and changed.of("map_changed") == [None]
    assert explorer.analyses.go_to_point(0) is None and explorer.analyses.current_point() is None


def test_a_z_map_places_the_image_by_its_z(opened):
    explorer, _ = opened
    explorer.analyses.compute_map(10, "z", "pca")
    latent_map = explorer.analyses.latent_map
    explorer.latent.set_seed(int(latent_map.seeds[4]))
    np.testing.assert_allclose(explorer.analyses.current_point(), latent_map.points[4], atol=1e-4)
    assert explorer.analyses.place_marks([LatentState(seed=1)], []) is None  # ws cannot be placed on z


# --- attributes -----------------------------------------------------------------------------------------------
def test_attribute_samples_with_no_count_given_work(opened):
    """The button passed clicked(checked=False) as the count: the default must work (issue #25)."""
    explorer, _ = opened
    handle = explorer.analyses.attribute_samples()
    assert handle.ok, handle.error
    samples = handle.result
    assert len(samples.seeds) == 48 and samples.images.shape == (48, 16, 16, 3) and samples.ws.shape == (48, 6, 32)
    assert handle.job == SampleForAttribute(count=48, seed=explorer.latent.state.seed,
                                            truncation_psi=explorer.latent.state.truncation_psi)


def test_attribute_samples_of_count_0_fail_in_one_clear_line(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    handle = explorer.analyses.attribute_samples(count=0)
    assert handle.error == "attribute samples: the count must be at least 1, not 0"
    assert "torch.cat" not in handle.error and messages.of("message") == [handle.error]


def test_an_attribute_is_fitted_from_marked_samples(opened):
    explorer, _ = opened
    samples = explorer.analyses.attribute_samples(count=12, seed=3).result
    marks = {i: i % 2 == 0 for i in range(12)}
    handle = explorer.analyses.fit_attribute(samples.ws, marks)
    assert handle.ok, handle.error
    np.testing.assert_array_equal(handle.job.positive, samples.ws[0::2])
    np.testing.assert_array_equal(handle.job.negative, samples.ws[1::2])
    assert np.isclose(np.linalg.norm(handle.result.direction), 1.0, atol=1e-4)


# --- layers -----------------------------------------------------------------------------------------------------
def test_layers_are_listed_viewed_and_ablated_without_changing_the_state(opened):
    explorer, _ = opened
    layers = explorer.analyses.list_layers().result
    assert layers and all(layer.name for layer in layers)
    conv = next(layer for layer in layers if len(layer.shape) == 3)
    view = explorer.analyses.view_layer(conv.name, None, False, True)
    assert view.ok, view.error
    assert view.result.activation.shape == conv.shape
    frames = Recorder(explorer.viewer.events, "frame_shown")
    before, shown = explorer.latent.state, explorer.viewer.last_result
    ablated = explorer.analyses.ablate(conv.name, range(conv.shape[0]), 0.0)
    assert ablated.ok, ablated.error
    (frame,) = frames.of("frame_shown")
    assert frame.shape == (16, 16, 3) and not np.array_equal(frame, shown.image)
    assert explorer.latent.state == before and explorer.viewer.last_result is shown
    assert explorer.analyses.view_layer("", None, False, True) is None


def test_layers_of_no_image_are_not_asked_for(explorer):
    assert explorer.analyses.view_layer("x", None, False, True) is None
    assert explorer.analyses.ablate("x", (0,), 0.0) is None


# --- the probe and metrics (the jobs they submit; running them is tested in core/analysis, core/metrics) ---
def test_the_probe_and_metrics_submit_what_was_asked(opened, monkeypatch):
    explorer, _ = opened
    explorer.latent.change(truncation_psi=0.8)
    submitted = []
    monkeypatch.setattr(explorer.viewer, "submit", lambda job: submitted.append(job))
    explorer.analyses.probe(300, conditional=False, effect_seeds=8)
    explorer.analyses.measure("faces:16", ["fd", "kid"], 200, grid_path="nn.png")
    probe, measure = submitted
    assert probe == ProbeFactors(num=300, conditional=None, truncation_psi=0.8, options=(("effect_seeds", 8),))
    assert measure == MeasureQuality(data="faces:16", metrics=("fd", "kid"), num=200, grid_path="nn.png")


def test_a_metric_on_data_that_cannot_be_opened_is_one_line(opened):
    explorer, _ = opened
    handle = explorer.analyses.measure("no-such-folder-xyz", ["fd"], 10)
    assert handle.error and "\n" not in handle.error
