import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer

from gan_explorer.core.explorer.requests import RenderRequest
from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.render import Renderer
from tests.gui.conftest import FIXTURES, open_and_wait


def render_state(path, state):
    return Renderer(load_model(path), 0).render(RenderRequest(0, state)).image


def test_opens_a_model_and_shows_its_image(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    assert window.info.family == "stylegan" and window.view.image.shape == (16, 16, 3)
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))
    assert "stylegan" in window.info_box.toPlainText()
    assert tiny_model_file.name in window.windowTitle()  # the title bar names the open model
    assert tiny_model_file.name in window.status.text()


def test_moving_a_slider_changes_the_image(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    before = window.view.image.copy()
    window.tabs.setCurrentWidget(window.z_panel)
    window.z_panel.bank.sliders[0].setValue(250)  # z[0] + 2.5
    assert window.state.z_edits == ((0, 2.5),)
    assert not np.array_equal(before, window.view.image)
    window.latent_panel.psi.setValue(0.0)  # psi = 0: every seed gives the w_avg image
    first = window.view.image.copy()
    window.latent_panel.seed.setValue(7)
    assert np.array_equal(first, window.view.image)


def test_z_readout_shows_the_value_not_only_the_edit(make_window, qtbot, tiny_model_file):
    from gan_explorer.core.models.base import z_from_seed

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(3)
    window.z_panel.bank.sliders[1].setValue(50)
    z1 = z_from_seed(3, window.info.z_dim)[0, 1]
    assert window.z_panel.bank.readouts[1].text() == f"{z1 + 0.5:+.2f} (+0.50)"


def test_undo_redo_restore_exact_latents(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    states = [window.state]
    window.latent_panel.seed.setValue(3)
    states.append(window.state)
    for v in (10, 20, 30):  # one drag = one undo step
        window.w_panel.bank.sliders[1].setValue(v)
    window.latent.end_gesture()
    states.append(window.state)
    window.latent_panel.psi.setValue(0.5)
    states.append(window.state)
    images = [render_state(tiny_model_file, s) for s in states]
    for expected_state, expected_image in zip(reversed(states[:-1]), reversed(images[:-1])):
        window.undo_action.trigger()
        assert window.state == expected_state
        assert np.array_equal(window.view.image, expected_image)
    assert window.latent_panel.seed.value() == 0
    for expected_state in states[1:]:
        window.redo_action.trigger()
        assert window.state == expected_state
    assert window.latent_panel.psi.value() == 0.5 and window.w_panel.bank.values == {1: pytest.approx(0.3)}


def test_typing_a_seed_renders_and_records_only_the_committed_value(make_window, qtbot, tiny_model_file):
    from PySide6.QtCore import Qt

    window = make_window()
    window.show()
    open_and_wait(qtbot, window, tiny_model_file)
    shown = []
    window.sigImageShown.connect(shown.append)
    box = window.latent_panel.seed
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "123")
    assert window.state.seed == 0 and shown == []  # no render per keystroke (1, 12, 123)
    qtbot.keyClick(box, Qt.Key_Return)
    assert window.state.seed == 123 and len(shown) == 1
    window.undo_action.trigger()
    assert window.state.seed == 0  # one undo step for the typed seed


def test_w_sliders_move_in_units_of_the_real_sigma(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    model = load_model(tiny_model_file)
    with torch.no_grad():
        w = model.map(torch.randn(20000, model.z_dim))[:, 0]
    window.w_panel.bank.sliders[2].setValue(100)  # +1 sigma
    (offset,) = window.state.w_offsets
    assert offset.amount == pytest.approx(float(w[:, 2].std()), rel=0.1)
    assert abs(offset.amount - 1.0) > 0.05  # not the old constant 1.0


def test_a_storm_of_slider_events_ends_on_the_last_value(make_window, qtbot, tiny_model_file):
    window = make_window(sync=False)
    open_and_wait(qtbot, window, tiny_model_file)
    window.tabs.setCurrentWidget(window.z_panel)
    slider = window.z_panel.bank.sliders[2]
    for i in range(1000):
        slider.setValue(-250 + (i % 500))
    slider.setValue(123)
    window.latent.end_gesture()  # let go: the full frame follows the previews
    qtbot.waitUntil(lambda: window.viewer.last_result.request_id == window.viewer._next_request, timeout=20000)
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))
    assert window.state.z_edits == ((2, 1.23),)
    session = window.explorer.session
    assert session.rendered_count < 1000  # latest-wins: most requests were replaced unseen
    assert session.dropped_renders > 0


def test_the_ui_thread_never_renders(make_window, qtbot):
    """Every render runs on the session's worker thread while the UI thread keeps serving events.
    (How long the UI thread's longest gap is depends on the machine's load: that figure lives in
    `gan-explorer bench latency`, not in an assertion here.)"""
    import threading

    window = make_window(sync=False)
    open_and_wait(qtbot, window, FIXTURES / "stylegan_official" / "sg2ada_64.pkl", timeout=60000)
    session = window.explorer.session
    threads, beats = [], []
    real_render = session.renderer.render

    def recording_render(request):
        threads.append(threading.current_thread())
        return real_render(request)

    session.renderer.render = recording_render
    timer = QTimer()
    timer.timeout.connect(lambda: beats.append(session.rendered_count))
    timer.start(5)
    for seed in range(1, 40):  # renders back to back
        window.latent_panel.seed.setValue(seed)
        qtbot.wait(20)
    qtbot.waitUntil(lambda: window.viewer.last_result.request_id == window.viewer._next_request, timeout=30000)
    timer.stop()
    assert len(threads) >= 3 and all(t is session._thread for t in threads)
    assert threading.main_thread() not in threads
    assert len(set(beats)) >= 3  # the UI thread ran its timer between frames, as they arrived
    assert window.state.seed == 39


def test_corrupt_file_shows_an_error_and_keeps_the_previous_model(make_window, qtbot, tiny_model_file, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    with qtbot.waitSignal(window.sigError) as blocker:
        window.open_model(str(bad))
    assert str(bad) in blocker.args[0]
    assert window.info.path == str(tiny_model_file)
    window.latent_panel.seed.setValue(5)  # still renders with the previous model
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))


def test_saved_latent_rerenders_from_the_cli(make_window, qtbot, tiny_model_file, tmp_path):
    from PIL import Image

    from gan_explorer.cli import main

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(11)
    window.w_panel.bank.sliders[0].setValue(150)
    window.save_latent(str(tmp_path / "w.npy"))
    window.save_image(str(tmp_path / "shown.png"))
    out = tmp_path / "again.png"
    assert main(["generate", str(tiny_model_file), "--latent", str(tmp_path / "w.npy"), "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(tmp_path / "shown.png")))


def test_bookmarks_survive_a_restart_click_shows_double_click_opens(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(42)
    bookmarked = window.view.image.copy()
    window.bookmarks_panel.add_btn.click()
    assert window.bookmarks_panel.list.count() == 1
    window.close()
    again = make_window()
    open_and_wait(qtbot, again, tiny_model_file)
    panel = again.bookmarks_panel
    assert panel.list.count() == 1 and not panel.list.item(0).icon().isNull()
    with qtbot.waitSignal(again.sigJobFinished):
        panel._clicked(panel.list.item(0))   # a single click shows it...
    assert np.array_equal(again.view.image, bookmarked) and again.state.seed == 0  # ...without opening it
    panel._opened(panel.list.item(0))
    assert again.state.seed == 42 and again.latent_panel.seed.value() == 42


def test_bookmarks_rename_reorder_delete(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.bookmarks_panel
    for seed in (1, 2, 3):
        window.latent_panel.seed.setValue(seed)
        panel.add_btn.click()
    panel.list.item(0).setText("Ada")  # what F2 + typing does
    assert window.explorer.bookmarks.name(0) == "Ada"
    window.explorer.bookmarks.move(0, 2)
    panel.refresh()
    assert [panel.list.item(i).text() for i in range(3)] == ["seed 2", "seed 3", "Ada"]
    panel.list.setCurrentRow(0)
    panel.delete_selected()
    assert [b["name"] for b in window.explorer.bookmarks.store.items] == ["seed 3", "Ada"]


def test_a_damaged_bookmarks_file_is_kept_aside_and_the_user_told(make_window, qtbot, tiny_model_file, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.bookmarks_panel.add_btn.click()
    path = window.explorer.bookmarks.store.path
    path.write_text("{ not json")
    window.close()
    again = make_window()
    messages = []
    again.viewer.events.message.connect(messages.append)
    open_and_wait(qtbot, again, tiny_model_file)
    assert any("damaged" in m for m in messages)
    kept = list(path.parent.glob(f"{path.stem}.damaged-*.json"))
    assert len(kept) == 1 and kept[0].read_text() == "{ not json"  # nothing lost
    again.bookmarks_panel.add_btn.click()
    assert kept[0].read_text() == "{ not json"


@pytest.mark.parametrize("method", ["pca", "sefa"])
def test_direction_sliders_move_the_image(make_window, qtbot, tiny_model_file, method):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.directions_panel
    panel.method.setCurrentIndex(panel.method.findData(method))
    panel.find()
    assert panel.bank.total == min(20, window.info.w_dim)
    before = window.view.image.copy()
    panel.range.preset.setCurrentText("coarse")
    panel.bank.sliders[0].setValue(300)
    (offset,) = window.state.w_offsets
    assert offset.key == "d:0" and (offset.layer_start, offset.layer_end) == (0, 3)
    assert not np.array_equal(before, window.view.image)
    panel.bank.reset()
    assert window.state.w_offsets == ()


def test_smoke_test_command(tiny_model_file, tmp_path):
    import subprocess
    import sys

    shot = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, "-m", "gan_explorer", "--smoke-test", "--screenshot", str(shot),
                             str(tiny_model_file)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "smoke test passed" in result.stdout and shot.stat().st_size > 1000
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"junk")
    result = subprocess.run([sys.executable, "-m", "gan_explorer", "--smoke-test", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "smoke test FAILED" in result.stderr and str(bad) in result.stderr


def test_stylegan3_can_be_moved_from_the_window(make_window, qtbot):
    fixture = FIXTURES / "stylegan_official"
    window = make_window()
    open_and_wait(qtbot, window, fixture / "sg3t_64.pkl", timeout=60000)
    assert window.latent_panel.rotate.isEnabled()
    window.latent_panel.psi.setValue(0.7)
    window.latent_panel.translate_x.setValue(0.1)
    window.latent_panel.translate_y.setValue(-0.2)
    window.latent_panel.rotate.setValue(15)
    ref = np.load(fixture / "sg3t_64_ref" / "seed0_psi0.7_transform_t0.1_-0.2_r15_img.npy")[0].transpose(1, 2, 0)
    expected = np.clip(ref * 127.5 + 128, 0, 255).astype(np.uint8)
    assert np.abs(window.view.image.astype(int) - expected).max() <= 1
    window.undo_action.trigger()
    assert window.state.transform == (0.1, -0.2, 0.0)


def test_translation_models_grey_out_latent_controls(make_window, qtbot, tmp_path):
    from PIL import Image

    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    path = save_model(build_model("cyclegan", **TINY["cyclegan"]), tmp_path / "cg.safetensors")
    window = make_window()
    with qtbot.waitSignal(window.sigModelReady):
        window.open_model(str(path))
    assert not window.latent_panel.isEnabled()
    enabled = [window.tabs.tabText(i) for i in range(window.tabs.count()) if window.tabs.isTabEnabled(i)]
    assert enabled == ["Pictures"] and window.tabs.count() > 7   # every latent tab greyed out
    assert "cyclegan" in window.info_box.toPlainText()
    picture = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8)).save(picture)
    with qtbot.waitSignal(window.sigJobFinished):
        window.open_path(str(picture))
    assert window.view.image.shape == (32, 64, 3)  # input and translation side by side


def test_mixing_grid_images_equal_the_core_mix(make_window, qtbot, tiny_model_file):
    from gan_explorer.core.generate import style_mixing_figure

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    mixing = window.mixing
    mixing.rows.setText("1,2")
    mixing.cols.setText("3,4,5")
    mixing.preset.setCurrentText("coarse")
    assert mixing.layers() == [0, 1, 2, 3]
    with qtbot.waitSignal(window.sigJobFinished):
        mixing.render_btn.click()
    figure = style_mixing_figure(load_model(tiny_model_file), [1, 2], [3, 4, 5], [0, 1, 2, 3])
    for r in range(3):  # the grid's own images, header row and column included
        for c in range(4):
            if (r, c) == (0, 0):
                continue
            cell = mixing.grid.cell_image(r, c)
            assert np.abs(cell.astype(int) - figure[16 * r:16 * (r + 1), 16 * c:16 * (c + 1)]).max() <= 1, (r, c)
    assert mixing.grid.row_labels == ["", "seed 1", "seed 2"]
    assert mixing.grid.col_labels == ["", "seed 3", "seed 4", "seed 5"]
    assert mixing._tooltip(2, 2).startswith("seed 2 with layers [0, 1, 2, 3] from seed 4")
    mixing._cell_clicked(2, 2)  # clicking a cell makes it the current image
    assert np.abs(window.view.image.astype(int) - figure[32:48, 32:48]).max() <= 1
    window.undo_action.trigger()
    assert window.state.mix_seed == -1


def test_mixing_grid_takes_duplicate_seeds(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.mixing.rows.setText("1,1")
    window.mixing.cols.setText("2")
    with qtbot.waitSignal(window.sigJobFinished):
        window.mixing.render_btn.click()
    a, b = window.mixing.grid.cell_image(1, 1), window.mixing.grid.cell_image(2, 1)
    assert a is not None and np.array_equal(a, b)


def add_keyframes(window, seeds):
    for seed in seeds:
        window.latent_panel.seed.setValue(seed)
        window.explorer.keyframes.add()


def test_exported_animations_have_the_asked_frames_and_size(make_window, qtbot, tiny_model_file, tmp_path):
    import imageio.v3 as iio

    from gan_explorer.core.latent.interpolation import frame_count

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    add_keyframes(window, (1, 2, 3))
    assert [window.interpolation.list.item(i).text() for i in range(3)] == ["seed 1", "seed 2", "seed 3"]
    assert not window.interpolation.list.item(0).icon().isNull()
    window.interpolation.frames_per_segment.setValue(5)
    for loop, suffix in ((False, "gif"), (True, "mp4")):
        window.interpolation.loop.setChecked(loop)
        window.interpolation.size.setCurrentIndex(1 if suffix == "gif" else 0)  # 256 px for the GIF
        path = tmp_path / f"anim.{suffix}"
        with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
            window.interpolation.export(path)
        expected = frame_count(3, 5, loop)
        assert expected == (15 if loop else 11)
        if suffix == "gif":
            assert iio.imread(path).shape == (expected, 256, 256, 3)
        else:
            import imageio.v2 as imageio

            assert imageio.get_reader(str(path)).count_frames() == expected
    assert window.interpolation.progress.value() == window.interpolation.progress.maximum()


def test_play_shows_frames_as_they_render_loops_and_scrubs(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    add_keyframes(window, (1, 2))
    window.interpolation.frames_per_segment.setValue(4)
    frames_seen = []
    window.viewer.events.frame_shown.connect(lambda image: frames_seen.append(image))
    with qtbot.waitSignal(window.sigJobFinished):
        window.interpolation.play()
    assert len(frames_seen) >= 5  # each frame was shown as it rendered
    panel = window.interpolation
    assert panel.scrub.isEnabled() and panel.scrub.maximum() == 4
    qtbot.waitUntil(lambda: len(frames_seen) >= 15, timeout=5000)  # playback goes round again
    panel.scrub.setValue(2)
    assert np.array_equal(window.view.image, panel.frames[2]) and not panel.timer.isActive()


def test_keyframes_that_do_not_fit_a_new_model_are_cleared(make_window, qtbot, tiny_model_file, tmp_path):
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    add_keyframes(window, (1, 2))
    messages = []
    window.viewer.events.message.connect(messages.append)
    other = save_model(build_model("dcgan", **TINY["dcgan"]).eval(), tmp_path / "dcgan.safetensors")
    open_and_wait(qtbot, window, other)
    assert window.explorer.keyframes.items == [] and window.interpolation.list.count() == 0
    assert any("keyframe" in m for m in messages)


def test_an_export_can_be_cancelled_mid_encode_leaving_no_file(make_window, qtbot, tiny_model_file, tmp_path):
    """A real GIF encode (frames rendered and quantised one by one on the worker) is cancelled."""
    window = make_window(sync=False)
    open_and_wait(qtbot, window, tiny_model_file)
    add_keyframes(window, (1, 2))
    window.interpolation.frames_per_segment.setValue(600)
    window.interpolation.size.setCurrentIndex(2)  # 512 px frames: encoding dominates
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000) as finished:
        window.interpolation.export(tmp_path / "never.gif")
        qtbot.waitUntil(lambda: window.interpolation.progress.value() > 3, timeout=20000)
        window.interpolation.cancel_btn.click()
        cancelled_at = window.interpolation.progress.value()
    assert finished.args == ["Interpolate"]
    assert window.interpolation.progress.value() < cancelled_at + 10 < 601  # stopped at once, not at the end
    assert list(tmp_path.glob("*never*")) == []  # no partial file, no temp file
    assert window.interpolation.export_btn.isEnabled() and window.interpolation.play_btn.isEnabled()
    assert "Cancelled" in window.statusBar().currentMessage()


def test_closing_during_an_export_cancels_and_joins(make_window, qtbot, tiny_model_file, tmp_path):
    window = make_window(sync=False)
    open_and_wait(qtbot, window, tiny_model_file)
    add_keyframes(window, (1, 2))
    window.interpolation.frames_per_segment.setValue(600)
    window.interpolation.export(tmp_path / "never.gif")
    qtbot.waitUntil(lambda: window.interpolation.progress.value() > 2, timeout=20000)
    thread = window.explorer.session._thread
    window.close()
    assert not thread.is_alive()
    assert list(tmp_path.glob("*never*")) == []


def test_vae_encodes_a_dropped_picture(make_window, qtbot, tmp_path):
    from PIL import Image

    from gan_explorer.core.data import FaceFactors, render_face
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    model = build_model("vae", **TINY["vae"]).eval()
    path = save_model(model, tmp_path / "vae.safetensors")
    window = make_window()
    open_and_wait(qtbot, window, path)
    picture = tmp_path / "face.png"
    Image.fromarray(render_face(FaceFactors(), 16)).save(picture)
    with qtbot.waitSignal(window.sigImageShown):
        window.open_path(str(picture))
    x = torch.from_numpy(np.asarray(Image.open(picture)).copy()).permute(2, 0, 1).float()[None] / 127.5 - 1
    with torch.no_grad():
        expected = model.encode(x)[0].numpy()
    assert np.allclose(np.asarray(window.state.ws), expected, atol=1e-5)

    broken = tmp_path / "broken.png"
    broken.write_bytes(picture.read_bytes()[:60])  # truncated: decoded (and refused) on the worker
    with qtbot.waitSignal(window.sigError, timeout=10000) as error:
        window.open_path(str(broken))
    assert str(broken) in error.args[0] and "not a readable image" in error.args[0]
    assert np.allclose(np.asarray(window.state.ws), expected, atol=1e-5)  # nothing lost


def test_render_errors_show_one_line_and_the_window_keeps_working(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    with qtbot.waitSignal(window.sigError) as blocker:
        window.latent.set_state(window.state.with_changes(ws=((1.0, 2.0),)))  # wrong shape for this model
    assert "\n" not in blocker.args[0] and blocker.args[0]
    assert "Render failed" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.sigImageShown):
        window.latent_panel.seed.setValue(11)  # and the app keeps working


def test_recent_files_and_open_on_start(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.close()
    again = make_window()
    assert again.settings.value("last_model") == str(tiny_model_file)
    assert [a.text() for a in again.recent_menu.actions()] == [str(tiny_model_file)]  # one entry, not letters
    assert again.start_model() is None  # by default the window opens on the demo...
    again.reopen_action.setChecked(True)
    assert again.start_model() == str(tiny_model_file)  # ...unless the user chose otherwise


def test_cyclegan_translates_a_training_sample(make_window, qtbot, tmp_path):
    from gan_explorer.core.data import FacesDataset
    from gan_explorer.core.training.loop import training_loop
    from gan_explorer.core.training.run_dir import RunDirectory
    from tests.core.training.conftest import tiny_options

    run = tmp_path / "cg"
    training_loop(run, tiny_options("cyclegan"))
    snapshot = RunDirectory(run).latest_snapshot()
    window = make_window()
    with qtbot.waitSignal(window.sigModelReady):
        window.open_model(str(snapshot))
    assert window.translate_panel.sample_btn.isEnabled()
    with qtbot.waitSignal(window.sigJobFinished):
        window.translate_panel.translate_training_sample(index=3)
    left, right = window.view.image[:, :32], window.view.image[:, 32:]
    assert np.array_equal(left, FacesDataset(32).image(3))
    model = load_model(snapshot)
    x = torch.from_numpy(left.copy()).permute(2, 0, 1).float()[None] / 127.5 - 1
    with torch.no_grad():
        expected = ((model.translate(x, "AB") * 127.5 + 128).clamp(0, 255).to(torch.uint8))[0].permute(1, 2, 0).numpy()
    assert np.abs(right.astype(int) - expected).max() <= 1


def test_direction_preview_strips(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    panel = window.directions_panel
    panel.find()
    before = window.state
    with qtbot.waitSignal(window.sigJobFinished):
        panel.preview_btn.click()
    strips = [panel.bank.previews[i].pixmap() for i in range(len(panel.bank.visible_items()))]
    assert strips and all(not p.isNull() and p.width() == 3 * p.height() for p in strips)
    assert window.state == before  # previews do not change the current latent
    panel.bank.page.setValue(1)
    assert panel.bank.previews[0].pixmap().isNull()  # another page: previews are stale, cleared


def test_window_fits_a_laptop_screen_and_keeps_the_picked_slider_tab(make_window, qtbot, tiny_model_file, tmp_path):
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    window = make_window()
    window.show()
    # The explorer's docks plus the view, and the Train tab (which scrolls), fit 1366 x 768.
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 700, hint
    open_and_wait(qtbot, window, tiny_model_file)
    assert window.tabs.currentWidget() is window.z_panel  # not wherever Qt went while tabs were off
    window.tabs.setCurrentWidget(window.mixing)
    open_and_wait(qtbot, window, tiny_model_file)
    assert window.tabs.currentWidget() is window.mixing
    vae = save_model(build_model("vae", **TINY["vae"]).eval(), tmp_path / "vae.safetensors")
    open_and_wait(qtbot, window, vae)  # no style mixing: back to the first tab
    assert window.tabs.currentWidget() is window.z_panel


def test_at_1366x768_the_window_and_every_slider_tab_are_on_screen(make_window, qtbot, tiny_model_file):
    from PySide6.QtCore import QRect

    window = make_window()
    window.resize(1366, 768 - 60)  # a laptop screen less a panel
    window.show()
    open_and_wait(qtbot, window, tiny_model_file)
    screen = QRect(0, 0, 1366, 768)
    assert screen.contains(window.frameGeometry()) or window.frameGeometry().height() <= 768
    bar = window.tabs.tabBar()
    for i in range(window.tabs.count()):
        rect = bar.tabRect(i)
        assert bar.rect().contains(rect), f"tab {window.tabs.tabText(i)} is cut off"
    status = window.statusBar()
    assert status.isVisible() and status.geometry().bottom() <= window.height()
    # The slider bank uses the height: more rows than the old fixed 8 on a tall dock.
    window.tabs.setCurrentWidget(window.w_panel)
    qtbot.wait(50)
    assert window.w_panel.bank.rows() > 8


def test_status_bar_is_truthful_after_a_switch_and_when_idle(make_window, qtbot, tiny_model_file, tmp_path):
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    other = save_model(build_model("dcgan", **TINY["dcgan"]).eval(), tmp_path / "other.safetensors")
    open_and_wait(qtbot, window, other)
    assert "other.safetensors" in window.status.text() and "tiny" not in window.status.text()
    window.viewer._frame_times = [time.monotonic() - 10]
    window._refresh_status()
    assert "fps" not in window.status.text()  # frames stopped flowing


def test_exported_png_remembers_its_latent_and_dropping_it_restores_it(make_window, qtbot, tiny_model_file,
                                                                        tmp_path):
    from PIL import Image

    from gan_explorer.core.explorer.provenance import GENERATED_NOTICE, read_picture_provenance
    from gan_explorer.core.io.identity import file_identity as file_content_hash

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(8)
    window.latent_panel.psi.setValue(0.7)
    window.w_panel.bank.sliders[3].setValue(120)
    window.z_panel.bank.sliders[1].setValue(-80)
    window.latent.end_gesture()  # the slider is let go: a full frame (a drag may show previews)
    made, shown = window.state, window.view.image.copy()
    path = tmp_path / "keep.png"
    with qtbot.waitSignal(window.sigJobFinished):
        window.save_image(str(path))
    provenance = read_picture_provenance(path)
    assert provenance.state == made and provenance.made_with(file_content_hash(tiny_model_file))
    assert np.array_equal(provenance.ws, window.viewer.last_result.ws)
    assert provenance.raw["notice"] == GENERATED_NOTICE and provenance.model_name == tiny_model_file.name
    assert np.array_equal(np.asarray(Image.open(path)), shown)

    window.latent_panel.seed.setValue(99)  # somewhere else, then drop the picture
    with qtbot.waitSignal(window.sigImageShown):
        window.open_path(str(path))
    assert window.state == made
    assert np.array_equal(window.view.image, shown)  # bit-identical re-render

    with qtbot.waitSignal(window.sigJobFinished):
        window.save_image(str(tmp_path / "big.png"), scale=4)
    big = read_picture_provenance(tmp_path / "big.png")
    assert Image.open(tmp_path / "big.png").size == (64, 64) and big.raw["upscale"]["factor"] == 4


def test_a_picture_from_another_model_says_which_model_it_needs(make_window, qtbot, tiny_model_file, tmp_path):
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    with qtbot.waitSignal(window.sigJobFinished):
        window.save_image(str(tmp_path / "from-tiny.png"))
    torch.manual_seed(7)
    other = save_model(build_model("stylegan", **TINY["stylegan"]).eval(), tmp_path / "other.safetensors")
    open_and_wait(qtbot, window, other)
    before = window.state
    messages = []
    window.viewer.events.message.connect(messages.append)
    window.open_path(str(tmp_path / "from-tiny.png"))
    assert window.state == before
    assert any("tiny.safetensors" in m and "was made with" in m for m in messages)


def test_exported_animations_carry_their_provenance(make_window, qtbot, tiny_model_file, tmp_path):
    import json

    from gan_explorer.core.io.video import read_gif_comment, read_mp4_comment

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    add_keyframes(window, (4, 5))
    window.interpolation.frames_per_segment.setValue(3)
    for suffix, read in (("gif", read_gif_comment), ("mp4", read_mp4_comment)):
        path = tmp_path / f"walk.{suffix}"
        with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
            window.interpolation.export(path)
        data = json.loads(read(path))
        assert data["model"]["name"] == tiny_model_file.name and "generated" in data["notice"]
        assert [k["seed"] for k in data["keyframes"]] == [4, 5]
        assert data["interpolation"]["frames_per_segment"] == 3


def test_a_drag_shows_previews_and_letting_go_shows_the_full_frame(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.explorer.session.renderer.last_full_ms = 10_000.0  # as on a 1024 px model: full frames are slow
    window.w_panel.bank.sliders[0].setValue(80)   # dragging
    assert window.view.image.shape[0] < 16 and "preview" in window.viewer.status_text()
    window.latent.end_gesture()                   # released
    assert window.view.image.shape[0] == 16
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))


def test_variations_grid_fills_and_more_like_this_regrows(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    breed = window.breed
    breed.size.setCurrentIndex(breed.size.findData(3))
    with qtbot.waitSignal(window.sigJobFinished):
        breed.grow()
    cells = [breed.grid.cell_image(r, c) for r in range(3) for c in range(3)]
    assert all(cell is not None for cell in cells)
    assert len({cell.tobytes() for cell in cells}) == 9  # children differ from each other...
    assert all(not np.array_equal(cell, window.view.image) for cell in cells)  # ...and from the parent
    for i, cell in enumerate(cells):
        assert np.array_equal(cell, render_state(tiny_model_file, breed.children[i]))
    chosen = breed.children[4]
    with qtbot.waitSignal(window.sigJobFinished):
        breed._child_clicked(1, 1)  # more like this
    assert window.state == chosen
    assert not np.array_equal(breed.grid.cell_image(0, 0), cells[0])  # the grid regrew around the child
    window.undo_action.trigger()
    assert window.state != chosen


def test_crossbreed_of_two_parents(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    breed = window.breed
    window.latent_panel.seed.setValue(1)
    breed.add_current_parent()
    a = window.viewer.last_result.ws.copy()
    window.latent_panel.seed.setValue(2)
    window.bookmarks_panel.add_btn.click()
    window.latent_panel.seed.setValue(3)
    with qtbot.waitSignal(window.sigJobFinished):
        breed._add_bookmark_parent()  # a bookmark's ws is rendered on the worker
    label, b, _image = breed.parents[1]
    assert label.startswith("bookmark: seed 2")
    breed.set_weights([1.0, 0.0])
    breed.breed()
    assert np.allclose(np.asarray(window.state.ws), a)  # weights (1, 0): parent A
    breed.mode.setCurrentIndex(1)
    breed.set_gene_owner("middle", 1)  # the tiny 16 px model has coarse (0-3) and middle (4-5) layers only
    breed.breed()
    ws = np.asarray(window.state.ws)
    fine = [i for i, owner in enumerate(breed.gene_owners()) if owner == 1]
    assert fine and np.allclose(ws[fine], b[fine]) and np.allclose(ws[:fine[0]], a[:fine[0]])


def test_a_named_direction_is_a_slider_that_survives_a_restart(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.directions_panel.find()
    window.directions_panel.range.preset.setCurrentText("middle")
    window.directions_panel.save_direction(2, "smile")
    assert window.library_panel.bank.names == ["smile"]
    window.library_panel.bank.sliders[0].setValue(150)
    window.latent.end_gesture()
    edited_state, edited = window.state, window.view.image.copy()
    window.close()
    again = make_window()
    open_and_wait(qtbot, again, tiny_model_file)
    assert again.library_panel.bank.names == ["smile"]
    again.library_panel.bank.sliders[0].setValue(150)
    again.latent.end_gesture()
    assert again.state == edited_state and np.array_equal(again.view.image, edited)


def test_a_direction_from_two_bookmarks(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    for seed in (1, 2):
        window.latent_panel.seed.setValue(seed)
        window.bookmarks_panel.add_btn.click()
    with qtbot.waitSignal(window.sigJobFinished):
        window.library_panel.direction_from_bookmarks(0, 1, "one to two")
    direction = window.explorer.directions.library.get("one to two")
    assert direction is not None and direction.source == "bookmarks A → B"
    assert window.library_panel.bank.names == ["one to two"]


def test_the_guide_opens_with_its_pictures(make_window):
    import re

    from gan_explorer.resources import resource

    window = make_window()
    guide = window.show_guide()
    html = (resource("guide") / "guide.html").read_text()
    pictures = re.findall(r'src="([^"]+)"', html)
    assert len(pictures) >= 5 and all((resource("guide") / p).is_file() for p in pictures)
    text = guide.browser.toPlainText()
    for term in ("Truncation", "Noise", "coarse", "PCA", "SeFa", "W+"):
        assert term in text


def test_bookmark_sheet_and_keyframe_labels_from_bookmarks(make_window, qtbot, tiny_model_file, tmp_path):
    from PIL import Image

    from gan_explorer.core.explorer.provenance import read_picture_provenance

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    for seed in (1, 2, 3):
        window.latent_panel.seed.setValue(seed)
        window.bookmarks_panel.add_btn.click()
    window.explorer.bookmarks.rename(0, "Ada")
    window.explorer.bookmarks.go_to(0)
    window.explorer.keyframes.add()
    assert window.explorer.keyframes.items[-1].label == "bookmark: Ada"
    with qtbot.waitSignal(window.sigJobFinished):
        window.explorer.bookmarks.export_sheet(tmp_path / "sheet.png")
    sheet = Image.open(tmp_path / "sheet.png")
    assert sheet.size == (2 * 128, 2 * (128 + 18))
    names = [b["name"] for b in read_picture_provenance(tmp_path / "sheet.png").raw["bookmarks"]]
    assert names == ["Ada", "seed 2", "seed 3"]


def test_an_exported_png_rerenders_identically_from_the_cli(make_window, qtbot, tiny_model_file, tmp_path):
    from PIL import Image

    from gan_explorer.cli import main
    from gan_explorer.core.explorer.provenance import read_picture_provenance

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(21)
    window.latent_panel.noise_mode.setCurrentText("random")
    window.latent_panel.noise_seed.setValue(5)
    window.w_panel.bank.sliders[2].setValue(-140)
    window.latent.end_gesture()
    with qtbot.waitSignal(window.sigJobFinished):
        window.save_image(str(tmp_path / "made.png"))
    out = tmp_path / "again.png"
    assert main(["generate", str(tiny_model_file), "--latent", str(tmp_path / "made.png"), "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(tmp_path / "made.png")))
    again = read_picture_provenance(out)  # the CLI's output remembers it too
    assert again.state.noise_mode == "random" and again.state.noise_seed == 5


def test_a_dropped_picture_is_projected_into_a_gan_and_becomes_the_current_latent(make_window, qtbot,
                                                                                  tiny_model_file, tmp_path):
    from PIL import Image

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    target = render_state(tiny_model_file, window.state.with_changes(seed=33))
    Image.fromarray(target).save(tmp_path / "photo.png")
    window.translate_panel.steps.setValue(20)
    previews = []
    window.viewer.events.frame_shown.connect(previews.append)
    before = window.state
    with qtbot.waitSignal(window.sigImageShown, timeout=60000):
        window.open_path(str(tmp_path / "photo.png"))
    assert previews  # the reconstruction was shown while it improved
    projection = window.translate_panel.last_projection
    assert projection.psnr[0] > projection.start_psnr[0]
    assert np.allclose(np.asarray(window.state.ws), projection.ws[0])
    window.undo_action.trigger()
    assert window.state == before


def test_the_gan_lab_is_a_tab_of_the_window_and_stops_with_it(make_window, qtbot):
    window = make_window()
    window.show()
    window.central.setCurrentWidget(window.lab_page)
    assert window.central.tabText(window.central.currentIndex()) == "GAN lab"
    assert not window.understand_dock.isVisible()  # the explorer's docks make room
    lab = window.gan_lab
    qtbot.waitUntil(lambda: lab.last_frame is not None, timeout=10000)
    lab.play()
    qtbot.waitUntil(lambda: lab.last_frame.g_steps > 0, timeout=30000)
    thread = lab.runner._thread if lab.runner is not None else None
    window.close()
    assert thread is None or not thread.is_alive()
