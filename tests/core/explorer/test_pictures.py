"""PicturesModel: a picture or a latent file that becomes the image replaces the state (no hidden
edit on top, issue #25); an exported PNG restores the exact state it was made from."""

import numpy as np
import pytest
from PIL import Image

from gan_explorer.core.explorer.provenance import read_picture_provenance
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.render import ws_for_state
from gan_explorer.core.explorer.state import LatentState
from tests.core.explorer.conftest import UNIT, Recorder, rendered_ws, tiny_model

def edit_in_every_way(explorer):
    """Edits a user makes in the W tab, the Directions tab and the Library tab."""
    explorer.latent.set_w(3, 1.5, (0, 5))
    explorer.directions.find("pca", count=3)
    explorer.directions.set_value(0, 2.0, (0, 5))
    explorer.directions.save("smile", UNIT, 0.5, (0, -1))
    explorer.directions.set_library_value("smile", 3.0)
    explorer.latent.end_gesture()
    assert {e.key for e in explorer.latent.edits()} == {"w:3", "d:0", "lib:smile"}


@pytest.fixture
def from_file(explorer, tmp_path):
    """A model opened from its file, as the window opens one."""
    path = save_model(tiny_model(), tmp_path / "faces.safetensors")
    explorer.viewer.open_model(path)
    return explorer, path


def picture_of(model, seed):
    return to_uint8(model.synthesize(ws_for_state(model, LatentState(seed=seed))))[0]


# --- pictures and latents in: they replace the state -------------------------------------------------------
def test_a_projection_replaces_every_edit_and_is_rendered_exactly(opened):
    explorer, model = opened
    edit_in_every_way(explorer)
    frames = Recorder(explorer.viewer.events, "frame_shown", "message")
    projected = Recorder(explorer.pictures.events, "projected")
    handle = explorer.pictures.project(picture_of(model, 11), space="w+", steps=4, loss="l2")
    assert handle.ok, handle.error
    result = handle.result
    assert explorer.pictures.last_projection is result and projected.of("projected") == [result]
    assert explorer.pictures.projecting is None
    assert explorer.latent.edits() == [] and explorer.latent.state.w_offsets == ()
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, result.ws[0])  # exactly: nothing on top
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, explorer.latent.state))
    assert frames.of("frame_shown")  # the reconstruction so far was shown while it ran
    assert any(m.startswith("Projected into W+") for m in frames.of("message"))
    explorer.latent.undo()  # the edited image is one undo away
    assert {e.key for e in explorer.latent.edits()} == {"w:3", "d:0", "lib:smile"}


def test_an_encoded_picture_replaces_every_edit(explorer):
    model = tiny_model("vae")
    explorer.viewer.use_model(model)
    explorer.latent.set_w(2, 1.0, (0, 0))
    explorer.latent.set_offset("lib:x", (0, 0), np.ones(16) / 4, 1.0)
    picture = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    handle = explorer.pictures.encode(picture)
    assert handle.ok, handle.error
    assert explorer.latent.edits() == []
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, handle.result.ws)


def test_a_model_without_an_encoder_says_so_and_keeps_the_image(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    before = explorer.latent.state
    handle = explorer.pictures.encode(np.zeros((16, 16, 3), np.uint8))
    assert handle.error == "the stylegan family has no encoder"
    assert messages.of("message") == [handle.error] and explorer.latent.state == before


def test_a_saved_latent_opens_as_the_image_it_was(opened, tmp_path):
    explorer, model = opened
    explorer.latent.set_seed(13)
    explorer.latent.set_offset("d:2", (2, 5), UNIT, 1.2)
    saved_ws = explorer.viewer.current_ws.copy()
    path = tmp_path / "mine.npy"
    explorer.pictures.save_latent(path)
    explorer.latent.set_seed(1)
    edit_in_every_way(explorer)
    assert explorer.pictures.open_latent(path).ok
    assert explorer.latent.edits() == []
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, saved_ws)
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, explorer.latent.state))


def test_a_latent_of_another_shape_is_refused_in_one_line(opened, tmp_path):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    path = tmp_path / "small.npy"
    np.save(path, np.zeros((1, 3, 8), np.float32))
    before = explorer.latent.state
    assert not explorer.pictures.open_latent(path).ok
    (message,) = messages.of("message")
    assert "small.npy" in message and "\n" not in message and explorer.latent.state == before


def test_nothing_to_save_before_an_image(explorer, tmp_path):
    from gan_explorer.core.errors import GanExplorerError

    with pytest.raises(GanExplorerError, match="no image"):
        explorer.pictures.save_latent(tmp_path / "x.npy")
    assert explorer.pictures.save_image(tmp_path / "x.png") is None


# --- exported pictures back in ------------------------------------------------------------------------------
def test_an_exported_png_restores_the_exact_state_on_the_same_model(from_file, tmp_path):
    explorer, _ = from_file
    latent = explorer.latent
    latent.change(seed=21, truncation_psi=0.6, noise_seed=4)
    latent.set_w(5, -1.0, (1, 3))
    latent.set_offset("lib:glasses", (0, 5), -UNIT, 0.8)
    latent.change(mix_seed=3, mix_layers=(5,))
    made = latent.state
    shown = explorer.viewer.current_ws.copy()
    png = tmp_path / "shot.png"
    handle = explorer.pictures.save_image(png)
    assert handle.ok and handle.result.path == str(png)
    provenance = read_picture_provenance(png)
    np.testing.assert_array_equal(provenance.ws, shown)
    latent.set_seed(2)
    latent.reset_edits()
    messages = Recorder(explorer.viewer.events, "message")
    assert explorer.pictures.restore(png)
    assert latent.state == made
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, shown)
    assert messages.of("message")[-1] == "Restored the latent of shot.png"


def test_an_exported_png_of_another_model_says_which_model_it_needs(from_file, tmp_path):
    explorer, _ = from_file
    explorer.latent.set_seed(5)
    png = tmp_path / "shot.png"
    explorer.pictures.save_image(png)
    other = save_model(tiny_model(seed=8), tmp_path / "other.safetensors")
    explorer.viewer.open_model(other)
    before = explorer.latent.state
    messages = Recorder(explorer.viewer.events, "message")
    assert explorer.pictures.restore(png)  # handled: not an ordinary picture to project
    (message,) = messages.of("message")
    assert "faces.safetensors" in message and "open that model" in message
    assert explorer.latent.state == before


def test_an_ordinary_picture_is_not_restored(from_file, tmp_path):
    explorer, _ = from_file
    path = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    assert not explorer.pictures.restore(path)


def test_damaged_provenance_is_one_line(from_file, tmp_path):
    from PIL.PngImagePlugin import PngInfo

    from gan_explorer.core.io.images import PROVENANCE_KEY

    explorer, _ = from_file
    info = PngInfo()
    info.add_itxt(PROVENANCE_KEY, "{damaged")
    path = tmp_path / "damaged.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, pnginfo=info)
    messages = Recorder(explorer.viewer.events, "message")
    before = explorer.latent.state
    assert explorer.pictures.restore(path)
    (message,) = messages.of("message")
    assert "damaged" in message and "\n" not in message and explorer.latent.state == before


def test_an_upscaled_export_says_so(from_file, tmp_path):
    explorer, _ = from_file
    png = tmp_path / "big.png"
    assert explorer.pictures.save_image(png, scale=2).ok
    with Image.open(png) as image:
        assert image.size == (32, 32)
    assert read_picture_provenance(png).raw["upscale"] == {"factor": 2, "method": "lanczos"}


# --- translation ----------------------------------------------------------------------------------------------
def test_a_translated_picture_is_shown_beside_its_source(explorer):
    explorer.viewer.use_model(tiny_model("cyclegan"))
    frames = Recorder(explorer.viewer.events, "frame_shown")
    translated = Recorder(explorer.pictures.events, "translated")
    picture = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    handle = explorer.pictures.translate(picture, "BA")
    assert handle.ok, handle.error
    (frame,) = frames.of("frame_shown")
    assert frame.shape == (32, 64, 3) and translated.of("translated") == [handle.result]
    np.testing.assert_array_equal(frame[:, :32], handle.result.source)


def test_a_sample_of_unknown_training_data_asks_for_a_picture(explorer):
    explorer.viewer.use_model(tiny_model("cyclegan"))
    messages = Recorder(explorer.viewer.events, "message")
    assert explorer.pictures.translate_sample("AB") is None
    assert "open a picture" in messages.of("message")[0]
