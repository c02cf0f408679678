"""The typed jobs: frozen data in, typed numpy results out, one-line errors, progress and cancel."""

import dataclasses

import numpy as np
import pytest
import torch

from gan_explorer.core.explorer.jobs import (
    AblateChannels, BookmarkSheet, EncodedLatent, EncodePicture, FindDirections, FitAttribute, Interpolate,
    ListLayers, MapMarks, PlaceOnMap, RenderBatch, RenderedImages, SampleForAttribute, SaveImage, TranslatePicture,
    ViewLayer,
)
from gan_explorer.core.explorer.provenance import read_picture_provenance
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState
from tests.core.explorer.conftest import rendered_ws, tiny_model


@pytest.fixture
def model():
    return tiny_model()


def run(job, model):
    """`job` on a synchronous session with `model` open -> its finished handle."""
    session = ExplorerSession(sync=True)
    return session.submit(job, session.set_model(model))


def test_jobs_are_frozen_data():
    job = RenderBatch(states=(LatentState(seed=1),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.states = ()
    assert job == RenderBatch(states=(LatentState(seed=1),))


def test_a_batch_renders_each_state_with_progress(model):
    states = (LatentState(seed=1), LatentState(seed=2, truncation_psi=0.5))
    handle = run(RenderBatch(states=states), model)
    result = handle.result
    assert isinstance(result, RenderedImages) and len(result.images) == len(result.ws) == 2
    assert all(isinstance(w, np.ndarray) for w in result.ws)  # numpy, never torch
    for state, ws, image in zip(states, result.ws, result.images):
        np.testing.assert_array_equal(ws, rendered_ws(model, state))
        assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    assert handle.last_progress.done == handle.last_progress.total == 2
    assert handle.last_progress.preview is not None


def test_interpolation_starts_and_ends_at_its_keyframes(model):
    keys = (LatentState(seed=1, truncation_psi=0.7), LatentState(seed=5, truncation_psi=0.7))
    job = Interpolate(keyframes=keys, frames_per_segment=4, method="lerp", space="w")
    states = job.states(model)
    assert len(states) == 5 and all(s.ws and s.w_offsets == () for s in states)
    result = run(job, model).result
    np.testing.assert_allclose(result.ws[0], rendered_ws(model, keys[0]), atol=1e-5)
    np.testing.assert_allclose(result.ws[-1], rendered_ws(model, keys[1]), atol=1e-5)
    np.testing.assert_allclose(result.ws[2], (result.ws[0] + result.ws[-1]) / 2, atol=1e-5)
    looped = Interpolate(keyframes=keys, frames_per_segment=4, loop=True).states(model)
    assert len(looped) > len(states)


def test_interpolation_exports_frame_by_frame(model, tmp_path):
    path = tmp_path / "frames"
    handle = run(Interpolate(keyframes=(LatentState(seed=1), LatentState(seed=2)), frames_per_segment=2,
                             export_path=str(path), export_size=8, metadata={"note": "x"}), model)
    assert handle.ok, handle.error
    assert handle.result.frames == 3 and handle.result.path == str(path)
    assert len(list(path.glob("*.png"))) == 3


def test_an_export_to_an_unknown_format_is_one_line(model, tmp_path):
    handle = run(Interpolate(keyframes=(LatentState(seed=1), LatentState(seed=2)), frames_per_segment=2,
                             export_path=str(tmp_path / "walk.xyz")), model)
    assert "unknown format" in handle.error and "\n" not in handle.error


def test_a_saved_image_carries_the_state_and_the_ws_it_shows(model, tmp_path):
    state = LatentState(seed=4, truncation_psi=0.8).with_w_offset("w:1", 0, 5, dim=1, amount=0.5)
    path = tmp_path / "one.png"
    handle = run(SaveImage(path=str(path), state=state, model_name="tiny.pkl", content_hash="ab" * 32), model)
    assert handle.ok and handle.result.path == str(path)
    provenance = read_picture_provenance(path)
    assert provenance.state == state and provenance.model_name == "tiny.pkl"
    np.testing.assert_array_equal(provenance.ws, rendered_ws(model, state))
    assert provenance.made_with("ab" * 32) and not provenance.made_with("cd" * 32)


def test_a_bookmark_sheet_lays_out_every_state(model, tmp_path):
    from PIL import Image

    path = tmp_path / "sheet.png"
    handle = run(BookmarkSheet(path=str(path), states=(LatentState(seed=1), LatentState(seed=2)),
                               captions=("one", "two"), metadata={"model": {}}), model)
    assert handle.ok and handle.result.frames == 2
    with Image.open(path) as sheet:
        assert sheet.size[0] >= 32


def test_pictures_need_the_right_family_and_a_readable_file(model, tmp_path):
    assert run(EncodePicture(picture=np.zeros((16, 16, 3), np.uint8)), model).error == \
        "the stylegan family has no encoder"
    assert run(TranslatePicture(picture=np.zeros((16, 16, 3), np.uint8)), model).error == \
        "the stylegan family does not translate pictures"
    bad = tmp_path / "not-a-picture.png"
    bad.write_bytes(b"nothing")
    error = run(EncodePicture(picture=str(bad)), tiny_model("vae")).error
    assert "not-a-picture.png" in error and "not a readable image" in error and "\n" not in error


def test_an_encoded_picture_is_a_numpy_latent_of_the_models_shape(tmp_path):
    from PIL import Image

    vae = tiny_model("vae")
    path = tmp_path / "in.png"
    Image.fromarray(np.full((24, 24, 3), 128, np.uint8)).save(path)
    result = run(EncodePicture(picture=str(path)), vae).result
    assert isinstance(result, EncodedLatent) and isinstance(result.ws, np.ndarray)
    assert result.ws.shape == (vae.num_ws, vae.w_dim)


def test_find_directions(model):
    result = run(FindDirections(method="sefa", count=4), model).result
    assert result.method == "sefa" and result.directions.shape == (4, 32) and (result.sigma > 0).all()
    handle = run(FindDirections(method="nope"), model)
    assert handle.error == "direction method 'nope': use one of pca, sefa"


def test_attribute_samples_of_count_0_fail_in_one_clear_line(model):
    handle = run(SampleForAttribute(count=0), model)
    assert handle.error == "attribute samples: the count must be at least 1, not 0"


def test_attribute_samples_come_in_batches_with_progress(model):
    handle = run(SampleForAttribute(count=20, seed=2), model)
    result = handle.result
    assert result.images.shape == (20, 16, 16, 3) and result.ws.shape == (20, 6, 32) and len(result.seeds) == 20
    assert handle.last_progress.done == handle.last_progress.total == 20
    fit = run(FitAttribute(positive=result.ws[:10], negative=result.ws[10:]), model)
    assert fit.ok, fit.error


def test_marks_on_a_map_are_the_ws_of_their_states(model):
    states = (LatentState(seed=1), LatentState(seed=2, truncation_psi=0.5))
    result = run(PlaceOnMap(bookmarks=states[:1], keyframes=states), model).result
    assert isinstance(result, MapMarks) and len(result.bookmarks) == 1 and len(result.path) == 2
    np.testing.assert_array_equal(result.path[1], rendered_ws(model, states[1]))


def test_layer_jobs_work_on_the_ws_given(model):
    layers = run(ListLayers(), model).result
    conv = next(layer for layer in layers if len(layer.shape) == 3)
    ws = rendered_ws(model, LatentState(seed=3))
    view = run(ViewLayer(ws=ws, layer=conv.name), model).result
    assert view.activation.shape == conv.shape
    kept = run(AblateChannels(ws=ws, layer=conv.name, channels=(), scale=0.0), model).result
    removed = run(AblateChannels(ws=ws, layer=conv.name, channels=tuple(range(conv.shape[0]))), model).result
    assert kept.shape == removed.shape == (16, 16, 3) and not np.array_equal(kept, removed)
    missing = run(ViewLayer(ws=ws, layer="no.such.layer"), model)
    assert "no.such.layer" in missing.error and "\n" not in missing.error


def test_a_job_cancelled_between_frames_stops_there(model):
    session = ExplorerSession(sync=True)
    token = session.set_model(model)
    rendered = []

    def attach(handle):
        handle.on_progress(lambda p: (rendered.append(p.done), handle.cancel() if p.done == 2 else None))

    handle = session.submit(RenderBatch(states=tuple(LatentState(seed=s) for s in range(10))), token,
                            before_run=attach)
    assert handle.cancelled and rendered == [1, 2] and handle.result is None


def test_jobs_run_without_autograd(model):
    from gan_explorer.core.explorer.jobs import Job

    class GradState(Job):
        def run(self, context):
            return torch.is_grad_enabled()

    assert run(GradState(), model).result is False
