"""AnimationModel: a sound opened and planned, a moment previewed without changing the state, an
export with the sound inside, a loop planned; Cancel leaves no file."""

import numpy as np
import soundfile

from gan_explorer.core.explorer.animation import frame_state
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.io.video import read_mp4_comment
from tests.core.explorer.conftest import Recorder, rendered_ws


def beat(path, seconds=1.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 70 * t) * (t > 0.5)
    x[int(0.3 * rate):int(0.3 * rate) + 300] += 0.8
    soundfile.write(str(path), x.astype(np.float32), rate)
    return path


def test_a_sound_is_planned_previewed_and_exported_with_its_sound(opened, tmp_path):
    explorer, model = opened
    animation = explorer.animation
    shown = Recorder(explorer.viewer.events, "frame_shown")
    explorer.latent.set_seed(4)
    assert animation.open_sound(beat(tmp_path / "beat.wav"), fps=8).ok
    assert animation.sound.seconds == 1.0 and len(animation.sound.loudness) == 8
    handle = animation.plan_sound("bass=psi", fps=8)
    assert handle.ok and animation.frame_count() == 8
    state_before = explorer.latent.state
    assert animation.preview_at(0.9).ok
    assert explorer.latent.state == state_before                       # a preview changes nothing
    np.testing.assert_allclose(shown.of("frame_shown")[-1].shape[:2], (model.img_resolution,) * 2)
    # the bass arrives after 0.5 s: late frames are pulled toward the average face, early ones not
    plan = animation.plan.ws
    assert np.abs(plan[-1] - plan[0]).max() > 1e-3
    np.testing.assert_allclose(plan[0], rendered_ws(model, explorer.latent.state), atol=1e-5)
    out = tmp_path / "beat.mp4"
    exported = animation.export(out)
    assert exported.ok and out.exists() and exported.result.frames == 8
    assert '"map":"bass=psi"' in read_mp4_comment(out)


def test_a_loop_is_planned_and_a_cancelled_export_leaves_no_file(opened, tmp_path):
    explorer, model = opened
    animation = explorer.animation
    assert animation.plan_loop("w", seconds=1.0, fps=6).ok and animation.frame_count() == 6
    out = tmp_path / "loop.gif"
    assert animation.export(out).ok and out.exists()
    out.unlink()

    def cancel_after_two_frames(handle):   # what the panel's Cancel does, mid-export
        handle.on_progress(lambda p: handle.cancel() if p.done >= 2 else None)
    explorer.viewer.events.job_started.connect(cancel_after_two_frames)
    handle = animation.export(out)
    assert handle.cancelled and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []    # no partial or staging file beside it


def test_frame_state_keeps_noise_and_in_synthesis_edits():
    state = LatentState(seed=3, noise_mode="random", noise_seed=5, bends=((0, "scale", (2.0,)),),
                        w_offsets=(), z_edits=((0, 1.0),))
    frame = frame_state(state, np.zeros((2, 3), np.float32))
    assert frame.ws == ((0.0,) * 3,) * 2 and frame.z_edits == () and frame.noise_seed == 5 and frame.bends
