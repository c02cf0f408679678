import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer

from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.render import Renderer, RenderRequest
from tests.gui.conftest import open_and_wait


def render_state(path, state):
    return Renderer(load_model(path), 0).render(RenderRequest(0, state)).image


def test_opens_a_model_and_shows_its_image(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    assert window.info["family"] == "stylegan" and window.view.image.shape == (16, 16, 3)
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))
    assert "stylegan" in window.info_box.toPlainText()


def test_moving_a_slider_changes_the_image(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    before = window.view.image.copy()
    window.tabs.setCurrentIndex(0)
    window.z_bank.sliders[0].setValue(250)  # z[0] + 2.5
    assert window.state.z_edits == ((0, 2.5),)
    assert not np.array_equal(before, window.view.image)
    window.latent_panel.psi.setValue(0.0)  # psi = 0: every seed gives the w_avg image
    first = window.view.image.copy()
    window.latent_panel.seed.setValue(7)
    assert np.array_equal(first, window.view.image)


def test_undo_redo_restore_exact_latents(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    states = [window.state]
    window.latent_panel.seed.setValue(3)
    states.append(window.state)
    for v in (10, 20, 30):  # one drag = one undo step
        window.w_bank.sliders[1].setValue(v)
    window.history.end_gesture()
    states.append(window.state)
    window.latent_panel.psi.setValue(0.5)
    states.append(window.state)
    images = [render_state(tiny_model_file, s) for s in states]
    for expected_state, expected_image in zip(reversed(states[:-1]), reversed(images[:-1])):
        window.undo()
        assert window.state == expected_state
        assert np.array_equal(window.view.image, expected_image)
    assert window.latent_panel.seed.value() == 0
    for expected_state in states[1:]:
        window.redo()
        assert window.state == expected_state
    assert window.latent_panel.psi.value() == 0.5 and window.w_bank.values == {1: 0.3}


def test_a_storm_of_slider_events_ends_on_the_last_value(make_window, qtbot, tiny_model_file):
    window = make_window(sync=False)
    open_and_wait(qtbot, window, tiny_model_file)
    slider = window.z_bank.sliders[2]
    for i in range(1000):
        slider.setValue(-250 + (i % 500))
    slider.setValue(123)
    final_id = window._last_sent_id
    qtbot.waitUntil(lambda: window._shown_id == final_id, timeout=20000)
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))
    assert window.state.z_edits == ((2, 1.23),)
    assert window.worker.rendered_count < 1000  # latest-wins: most requests were replaced unseen
    assert window.worker.dropped_requests() > 0
    assert not window.worker._slot.pending()


def test_ui_thread_never_stalls_while_rendering(make_window, qtbot):
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "stylegan_official" / "sg2ada_64.pkl"
    window = make_window(sync=False)
    open_and_wait(qtbot, window, fixture, timeout=60000)
    gaps, last = [], [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(5)
    start_count = window.worker.rendered_count
    deadline = time.perf_counter() + 3.0
    seed = 0
    while time.perf_counter() < deadline:  # renders back to back for 3 s
        seed += 1
        window.latent_panel.seed.setValue(seed)
        qtbot.wait(20)
    timer.stop()
    assert window.worker.rendered_count - start_count >= 3
    assert max(gaps[1:]) < 0.050, f"UI thread stalled {max(gaps) * 1000:.0f} ms"


def test_corrupt_file_shows_an_error_and_keeps_the_previous_model(make_window, qtbot, tiny_model_file, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    with qtbot.waitSignal(window.sigError) as blocker:
        window.open_model(str(bad))
    assert str(bad) in blocker.args[0]
    assert window.model_path == str(tiny_model_file)
    window.latent_panel.seed.setValue(5)  # still renders with the previous model
    assert np.array_equal(window.view.image, render_state(tiny_model_file, window.state))


def test_saved_latent_rerenders_from_the_cli(make_window, qtbot, tiny_model_file, tmp_path):
    from PIL import Image

    from gan_explorer.cli import main

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(11)
    window.w_bank.sliders[0].setValue(150)
    window.save_latent(str(tmp_path / "w.npy"))
    window.save_image(str(tmp_path / "shown.png"))
    out = tmp_path / "again.png"
    assert main(["generate", str(tiny_model_file), "--latent", str(tmp_path / "w.npy"), "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(tmp_path / "shown.png")))


def test_bookmarks_survive_a_restart(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.latent_panel.seed.setValue(42)
    window.add_bookmark()
    assert window.bookmark_list.count() == 1
    window.close()
    again = make_window()
    open_and_wait(qtbot, again, tiny_model_file)
    assert again.bookmark_list.count() == 1 and not again.bookmark_list.item(0).icon().isNull()
    again._bookmark_activated(again.bookmark_list.item(0))
    assert again.state.seed == 42 and again.latent_panel.seed.value() == 42


@pytest.mark.parametrize("method", ["pca", "sefa"])
def test_direction_sliders_move_the_image(make_window, qtbot, tiny_model_file, method):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.direction_method.setCurrentIndex(0 if method == "pca" else 1)
    window.compute_directions()
    assert window.d_bank.total == 20 or window.d_bank.total == window.info["w_dim"]
    before = window.view.image.copy()
    window.d_range.preset.setCurrentText("coarse")
    window.d_bank.sliders[0].setValue(300)
    (offset,) = window.state.w_offsets
    assert offset[0] == "d:0" and (offset[1], offset[2]) == (0, 3)
    assert not np.array_equal(before, window.view.image)
    window.d_bank.reset()
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
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "stylegan_official"
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
    window.undo()
    assert window.state.transform == (0.1, -0.2, 0.0)


def test_translation_models_grey_out_latent_controls(make_window, qtbot, tmp_path):
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    path = save_model(build_model("cyclegan", **TINY["cyclegan"]), tmp_path / "cg.safetensors")
    window = make_window()
    with qtbot.waitSignal(window.sigModelReady):
        window.open_model(str(path))
    assert not window.latent_panel.isEnabled()
    assert [window.tabs.isTabEnabled(i) for i in range(window.tabs.count())] == [False] * 5 + [True]
    assert "cyclegan" in window.info_box.toPlainText()
    picture = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8)).save(picture)
    with qtbot.waitSignal(window.sigJobFinished):
        window.use_picture(str(picture))
    assert window.view.image.shape == (32, 64, 3)  # input and translation side by side


def test_mixing_grid_cells_equal_the_core_mix(make_window, qtbot, tiny_model_file):
    from gan_explorer.core.generate import style_mixing_figure

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.mixing.rows.setText("1,2")
    window.mixing.cols.setText("3,4,5")
    window.mixing.preset.setCurrentText("coarse")
    assert window.mixing.layers() == [0, 1, 2, 3]
    with qtbot.waitSignal(window.sigJobFinished):
        window.mixing.render_btn.click()
    assert len(window.mixing.cells) == 6
    figure = style_mixing_figure(load_model(tiny_model_file), [1, 2], [3, 4, 5], [0, 1, 2, 3])
    window.choose_mixing_cell(2, 4)  # clicking a cell makes it the current image
    assert np.abs(window.view.image.astype(int) - figure[32:48, 32:48]).max() <= 1  # batch vs single rounding
    grid_cell = window.mixing.cells[(2, 4)]
    assert grid_cell.toolTip().startswith("seed 2 with layers [0, 1, 2, 3] from seed 4")
    window.undo()
    assert window.state.mix_seed == -1


def test_exported_gif_has_the_asked_number_of_frames(make_window, qtbot, tiny_model_file, tmp_path):
    import imageio.v3 as iio

    from gan_explorer.core.latent.interpolation import frame_count

    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    for seed in (1, 2, 3):
        window.latent_panel.seed.setValue(seed)
        window.add_keyframe()
    window.interpolation.frames.setValue(5)
    for loop, suffix in ((False, "gif"), (True, "mp4")):
        window.interpolation.loop.setChecked(loop)
        path = tmp_path / f"anim.{suffix}"
        with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
            window.run_interpolation("export", str(path))
        expected = frame_count(3, 5, loop)
        assert expected == (15 if loop else 11)
        if suffix == "gif":
            assert iio.imread(path).shape == (expected, 16, 16, 3)
        else:
            import imageio.v2 as imageio

            assert imageio.get_reader(str(path)).count_frames() == expected
    assert window.interpolation.progress.value() == window.interpolation.progress.maximum()


def test_an_interpolation_can_be_cancelled(make_window, qtbot, tiny_model_file, tmp_path):
    window = make_window(sync=False)
    open_and_wait(qtbot, window, tiny_model_file)
    for seed in (1, 2):
        window.latent_panel.seed.setValue(seed)
        window.add_keyframe()
    window.interpolation.frames.setValue(600)
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000):
        window.run_interpolation("export", str(tmp_path / "never.gif"))
        qtbot.waitUntil(lambda: window.interpolation.progress.value() > 3, timeout=20000)
        window.cancel_jobs()
    assert not (tmp_path / "never.gif").exists()
    assert window.interpolation.play_btn.isEnabled()


def test_export_encodes_off_the_ui_thread_and_can_be_cancelled_there(make_window, qtbot, tiny_model_file,
                                                                   tmp_path, monkeypatch):
    """A long encode (a big MP4) runs on the worker: the window keeps ticking and Cancel stops it."""
    import threading

    from gan_explorer.core.io import video

    encoder_threads = []

    def slow_encoder(frames, path, fps=30.0, progress=None, should_stop=lambda: False):
        encoder_threads.append(threading.current_thread())
        for i in range(10_000):  # about 50 s unless cancelled
            if should_stop():
                raise KeyboardInterrupt
            progress(min(i + 1, len(frames)), len(frames))
            time.sleep(0.005)
        raise AssertionError("the encoder was never told to stop")

    monkeypatch.setattr(video, "export_frames", slow_encoder)
    window = make_window(sync=False)
    open_and_wait(qtbot, window, tiny_model_file)
    for seed in (1, 2):
        window.latent_panel.seed.setValue(seed)
        window.add_keyframe()
    window.interpolation.frames.setValue(4)
    gaps, last = [], [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(5)
    with qtbot.waitSignal(window.sigJobFinished, timeout=30000) as finished:
        window.run_interpolation("export", str(tmp_path / "long.mp4"))
        qtbot.waitUntil(lambda: bool(encoder_threads), timeout=20000)
        qtbot.wait(300)  # the encoder is running now
        window.cancel_jobs()
    timer.stop()
    assert finished.args == ["export"]
    assert encoder_threads[0] is not threading.main_thread()
    assert max(gaps[1:]) < 0.050, f"UI thread stalled {max(gaps) * 1000:.0f} ms"
    assert window.interpolation.export_btn.isEnabled()
    assert "Cancelled" in window.statusBar().currentMessage()


def test_vae_encodes_a_dropped_picture(make_window, qtbot, tmp_path):
    from PIL import Image

    from gan_explorer.core.data import render_face, FaceFactors
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
        window._dropped(str(picture))
    x = torch.from_numpy(np.asarray(Image.open(picture)).copy()).permute(2, 0, 1).float()[None] / 127.5 - 1
    with torch.no_grad():
        expected = model.encode(x)[0].numpy()
    assert np.allclose(np.asarray(window.state.ws), expected, atol=1e-5)

    broken = tmp_path / "broken.png"
    broken.write_bytes(picture.read_bytes()[:60])  # truncated: decoded (and refused) on the worker
    with qtbot.waitSignal(window.sigError, timeout=10000) as error:
        window._dropped(str(broken))
    assert str(broken) in error.args[0] and "not a readable image" in error.args[0]
    assert np.allclose(np.asarray(window.state.ws), expected, atol=1e-5)  # nothing lost


def test_worker_errors_show_and_out_of_memory_falls_back(make_window, qtbot, tiny_model_file, monkeypatch):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    renderer = window.worker.renderer
    real_render = renderer.render
    calls = {"n": 0}

    def flaky(request):
        calls["n"] += 1
        result = real_render(request)
        if calls["n"] == 1:
            result.image, result.error = None, "out of memory on the GPU"
            result.extra["out_of_memory"] = True
        return result

    monkeypatch.setattr(renderer, "render", flaky)
    window.worker.device = torch.device("cuda")  # pretend; the fallback moves to the CPU
    monkeypatch.setattr(window.worker, "_set_device", lambda name: setattr(window.worker, "device", torch.device(name)))
    with qtbot.waitSignal(window.sigImageShown):
        window.latent_panel.seed.setValue(9)
    assert window.worker.device.type == "cpu" and "CPU" in window.statusBar().currentMessage()

    def broken(request):
        raise_result = real_render(request)
        raise_result.image, raise_result.error = None, "something broke"
        return raise_result

    monkeypatch.setattr(renderer, "render", broken)
    with qtbot.waitSignal(window.sigError) as blocker:
        window.latent_panel.seed.setValue(10)
    assert blocker.args == ["something broke"]
    monkeypatch.setattr(renderer, "render", real_render)
    with qtbot.waitSignal(window.sigImageShown):
        window.latent_panel.seed.setValue(11)  # and the app keeps working


def test_settings_remember_the_last_model(make_window, qtbot, tiny_model_file):
    window = make_window()
    open_and_wait(qtbot, window, tiny_model_file)
    window.close()
    again = make_window()
    assert again.settings.value("last_model") == str(tiny_model_file)
    assert again.recent_menu.actions()[0].text() == str(tiny_model_file)


def test_cyclegan_translates_a_training_sample(make_window, qtbot, tmp_path):
    from gan_explorer.core.data import FacesDataset
    from gan_explorer.core.io.checkpoint import load_model
    from gan_explorer.core.training.loop import training_loop
    from gan_explorer.core.training.run_dir import RunDirectory
    from tests.core.training.conftest import tiny_options

    run = tmp_path / "cg"
    training_loop(run, tiny_options("cyclegan"))
    snapshot = RunDirectory(run).latest_snapshot()
    window = make_window()
    with qtbot.waitSignal(window.sigModelReady):
        window.open_model(str(snapshot))
    assert window.sample_btn.isEnabled()
    with qtbot.waitSignal(window.sigJobFinished):
        window.translate_training_sample(index=3)
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
    window.compute_directions()
    before = window.state
    with qtbot.waitSignal(window.sigJobFinished):
        window.preview_btn.click()
    strips = [window.d_bank.previews[i].pixmap() for i in range(window.d_bank.count)]
    assert all(not p.isNull() and p.width() == 3 * p.height() for p in strips)
    assert window.state == before  # previews do not change the current latent
    window.d_bank.page.setValue(1)
    assert window.d_bank.previews[0].pixmap().isNull()  # another page: previews are stale, cleared


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
    assert window.tabs.currentWidget() is window.z_bank  # not wherever Qt went while tabs were off
    window.tabs.setCurrentWidget(window.mixing)
    open_and_wait(qtbot, window, tiny_model_file)
    assert window.tabs.currentWidget() is window.mixing
    vae = save_model(build_model("vae", **TINY["vae"]).eval(), tmp_path / "vae.safetensors")
    open_and_wait(qtbot, window, vae)  # no style mixing: back to the first tab
    assert window.tabs.currentWidget() is window.z_bank
