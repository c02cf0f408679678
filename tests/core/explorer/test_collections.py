"""BookmarksModel and KeyframesModel: saved latents are exactly what was rendered, a bookmark taken
back shows its own seed and psi, keyframes that fit a newly opened model stay."""

import numpy as np

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.provenance import read_picture_provenance
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState
from tests.core.explorer.conftest import UNIT, Recorder, rendered_ws, tiny_model

# --- bookmarks -----------------------------------------------------------------------------------------
def test_going_to_a_bookmark_shows_its_state_and_renders_it(opened):
    explorer, model = opened
    latent = explorer.latent
    latent.change(seed=9, truncation_psi=0.5, noise_seed=3)
    latent.set_offset("d:0", (1, 4), UNIT, 1.5)
    latent.end_gesture()
    saved = latent.state
    explorer.bookmarks.add("nine")
    latent.set_seed(2)
    latent.change(truncation_psi=1.0)
    explorer.bookmarks.go_to(0)
    state = latent.state
    assert state == saved  # every control reads this: the seed and psi boxes show 9 and 0.5
    assert (state.seed, state.truncation_psi) == (9, 0.5)
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, state))
    latent.undo()  # going to a bookmark is one undo step
    assert (latent.state.seed, latent.state.truncation_psi) == (2, 1.0)


def test_bookmarks_are_kept_per_model_in_the_data_folder(opened, tmp_path):
    explorer, _ = opened
    changed = Recorder(explorer.bookmarks.events, "changed")
    explorer.latent.set_seed(3)
    explorer.bookmarks.add("three", thumbnail_png=b"\x89PNG fake")
    explorer.latent.set_seed(4)
    explorer.bookmarks.add()
    assert len(explorer.bookmarks) == 2 and len(changed.of("changed")) == 2
    assert explorer.bookmarks.name(1) == "seed 4" and explorer.bookmarks.thumbnail(0) == b"\x89PNG fake"
    again = Explorer(ExplorerSession(sync=True), data_dir=tmp_path / "data")
    again.viewer.use_model(tiny_model())  # the same model: its identity finds the same file
    assert [again.bookmarks.name(i) for i in range(len(again.bookmarks))] == ["three", "seed 4"]
    assert again.bookmarks.state(0) == explorer.bookmarks.state(0)
    other = Explorer(ExplorerSession(sync=True), data_dir=tmp_path / "data")
    other.viewer.use_model(tiny_model(seed=7))
    assert len(other.bookmarks) == 0


def test_rename_move_remove_and_names_of_a_state(opened):
    explorer, _ = opened
    for seed in (1, 2, 3):
        explorer.latent.set_seed(seed)
        explorer.bookmarks.add(f"b{seed}")
    explorer.bookmarks.rename(0, "first")
    explorer.bookmarks.move(0, 2)
    assert [explorer.bookmarks.name(i) for i in range(3)] == ["b2", "b3", "first"]
    assert explorer.bookmarks.names_of(explorer.latent.state) == ["b3"]
    explorer.bookmarks.remove(1)
    assert [s.seed for s in explorer.bookmarks.states()] == [2, 1]


def test_peeking_at_a_bookmark_shows_it_without_making_it_current(opened):
    explorer, model = opened
    frames = Recorder(explorer.viewer.events, "frame_shown")
    explorer.latent.set_seed(5)
    explorer.bookmarks.add()
    explorer.latent.set_seed(6)
    before = explorer.latent.state
    assert explorer.bookmarks.peek(0).ok
    (frame,) = frames.of("frame_shown")
    assert frame.shape == (16, 16, 3) and explorer.latent.state == before
    assert explorer.viewer.last_result.ws is not None
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, before))


def test_a_bookmark_sheet_carries_every_bookmark(opened, tmp_path):
    explorer, _ = opened
    assert explorer.bookmarks.export_sheet(tmp_path / "none.png") is None  # nothing to lay out
    for seed in (1, 2):
        explorer.latent.set_seed(seed)
        explorer.bookmarks.add(f"seed {seed}")
    path = tmp_path / "sheet.png"
    handle = explorer.bookmarks.export_sheet(path)
    assert handle.ok and handle.result.frames == 2
    provenance = read_picture_provenance(path)
    assert [b["name"] for b in provenance.raw["bookmarks"]] == ["seed 1", "seed 2"]
    assert provenance.made_with(explorer.viewer.info.content_hash)


def test_a_translation_model_has_no_bookmarks(explorer):
    explorer.viewer.use_model(tiny_model("cyclegan"))
    explorer.bookmarks.add("x")
    assert len(explorer.bookmarks) == 0 and explorer.bookmarks.store is None


# --- keyframes ------------------------------------------------------------------------------------------
def add_keyframes(explorer, seeds=(1, 2, 3)):
    for seed in seeds:
        explorer.latent.set_seed(seed)
        explorer.keyframes.add()


def test_keyframes_hold_the_state_its_image_and_a_bookmarks_name(opened):
    explorer, _ = opened
    explorer.latent.set_seed(4)
    explorer.bookmarks.add("favourite")
    explorer.keyframes.add()
    explorer.latent.set_seed(5)
    explorer.keyframes.add()
    first, second = explorer.keyframes.items
    assert first.label == "bookmark: favourite" and second.label == "seed 5"
    assert first.state.seed == 4 and first.shape == (6, 32)
    np.testing.assert_array_equal(second.thumbnail, explorer.viewer.last_result.image)
    assert explorer.keyframes.move(0, 1) == 1
    assert [s.seed for s in explorer.keyframes.states()] == [5, 4]
    assert explorer.keyframes.move(1, 1) == 1  # off the end: stays
    explorer.keyframes.remove(0)
    assert [s.seed for s in explorer.keyframes.states()] == [4]


def test_keyframes_that_fit_a_newly_opened_model_are_kept(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    add_keyframes(explorer)
    kept = explorer.keyframes.states()
    explorer.viewer.use_model(tiny_model(seed=2))  # other weights, the same shape
    assert explorer.keyframes.states() == kept
    assert not any("keyframe" in m for m in messages.of("message"))
    assert explorer.keyframes.play(2, "lerp", "w", False).ok  # and they play on it


def test_keyframes_that_do_not_fit_are_dropped_with_a_message(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    changed = Recorder(explorer.keyframes.events, "changed")
    add_keyframes(explorer, (1, 2))
    explorer.viewer.use_model(tiny_model("dcgan"))  # num_ws 1, w_dim 16: nothing fits
    assert len(explorer.keyframes) == 0 and changed.of("changed")[-1] == []  # the panel was told
    (message,) = [m for m in messages.of("message") if "keyframe" in m]
    assert "2 keyframe(s)" in message and "0 kept" in message
    add_keyframes(explorer, (7,))
    assert len(explorer.keyframes) == 1 and explorer.keyframes.items[0].shape == (1, 16)
    explorer.viewer.use_model(tiny_model("stylegan"))  # back: the dcgan keyframe does not fit
    assert len(explorer.keyframes) == 0


def test_playing_keyframes_renders_every_frame_from_first_to_last(opened):
    explorer, model = opened
    add_keyframes(explorer, (1, 2))
    handle = explorer.keyframes.play(3, "lerp", "w", False)
    images, ws = handle.result.images, handle.result.ws
    assert len(images) == len(ws) == 4
    np.testing.assert_allclose(ws[0], rendered_ws(model, explorer.keyframes.states()[0]), atol=1e-5)
    np.testing.assert_allclose(ws[-1], rendered_ws(model, explorer.keyframes.states()[1]), atol=1e-5)
    assert explorer.latent.state.seed == 2  # playing does not change the current latent


def test_an_exported_walk_carries_its_keyframes(opened, tmp_path):
    from PIL import Image

    explorer, _ = opened
    add_keyframes(explorer, (1, 2))
    path = tmp_path / "walk.gif"
    handle = explorer.keyframes.export(path, 2, "slerp", "w", False, fps=10)
    assert handle.ok and handle.result.frames == 3 and path.exists()
    with Image.open(path) as gif:
        assert gif.n_frames == 3
    interpolation = explorer.keyframes.interpolation(2, "slerp", "w", False, export_path=path, fps=10)
    assert [k["seed"] for k in interpolation.metadata["keyframes"]] == [1, 2]
    assert interpolation.metadata["interpolation"]["method"] == "slerp"


def test_a_keyframe_is_not_added_without_a_latent_model(explorer):
    explorer.keyframes.add()
    explorer.viewer.use_model(tiny_model("cyclegan"))
    explorer.keyframes.add()
    assert len(explorer.keyframes) == 0


def test_states_in_a_collection_survive_json_exactly(opened):
    explorer, model = opened
    latent = explorer.latent
    latent.replace_latent(np.random.default_rng(1).standard_normal((model.num_ws, model.w_dim)).astype(np.float32))
    latent.set_offset("lib:x", (0, 5), UNIT, 0.3)
    explorer.bookmarks.add("explicit")
    again = Explorer(ExplorerSession(sync=True), data_dir=explorer.bookmarks.data_dir)
    again.viewer.use_model(tiny_model())
    again.bookmarks.go_to(0)
    assert again.latent.state == latent.state
    np.testing.assert_array_equal(again.viewer.last_result.ws, explorer.viewer.last_result.ws)
    assert LatentState() != latent.state
