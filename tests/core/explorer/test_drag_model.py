"""The Drag mode's model on a synchronous explorer: clicks make pairs, a drag is one undo step, a
cancelled one changes nothing, Stop keeps what was reached."""

import numpy as np

from tests.core.explorer.conftest import Recorder


def test_clicks_make_handle_target_pairs_and_points_can_be_moved_and_deleted(opened):
    explorer, _ = opened
    drag = explorer.drag
    drag.click(3, 4)
    drag.click(6, 4)
    drag.click(10, 10)
    assert drag.pairs() == [((3.0, 4.0), (6.0, 4.0)), ((10.0, 10.0), None)]
    assert drag.nearest(6.4, 4.2, within=1) == (0, "target")
    drag.move_point(0, "target", 7, 5)
    drag.remove_pair(1)
    assert drag.pairs() == [((3.0, 4.0), (7.0, 5.0))]
    drag.click(99, -3)  # clamped into the 16 px image
    assert drag.pairs()[-1] == ((15.0, 0.0), None)


def test_a_drag_becomes_the_latent_as_one_undo_step(opened):
    explorer, _ = opened
    drag, latent = explorer.drag, explorer.latent
    before = latent.state
    steps = Recorder(drag.events, "step")
    drag.steps = 3
    drag.click(8, 8)
    drag.click(4, 8)
    handle = drag.start()
    assert handle.ok, handle.error
    assert len(steps.of("step")) == 4  # the first render and one after each of 3 steps
    assert latent.state.ws and latent.state != before
    np.testing.assert_array_equal(np.asarray(latent.state.ws, np.float32), handle.result.ws)
    assert drag.handles[0] == steps.of("step")[-1].handles[0]  # redrawn where tracking found it
    latent.undo()
    assert latent.state == before


def test_a_cancelled_drag_leaves_the_latent_unchanged(opened):
    explorer, _ = opened
    drag, latent = explorer.drag, explorer.latent
    before = latent.state
    drag.click(8, 8)
    drag.click(2, 8)
    drag.events.step.connect(lambda info: drag.cancel())  # cancel during the first step
    handle = drag.start()
    assert handle.cancelled
    assert latent.state == before


def test_stop_finishes_at_the_next_step_and_keeps_the_result(opened):
    explorer, _ = opened
    drag, latent = explorer.drag, explorer.latent
    drag.steps = 50
    drag.click(8, 8)
    drag.click(2, 8)
    seen = []
    drag.events.step.connect(lambda info: (seen.append(info), drag.stop() if len(seen) == 2 else None))
    handle = drag.start()
    assert handle.ok and handle.result.stopped and len(seen) == 2
    assert latent.state.ws


def test_start_without_a_complete_pair_says_so(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    explorer.drag.click(3, 3)
    assert explorer.drag.start() is None
    assert any("click a handle, then its target" in m for m in messages.of("message"))


def test_a_recorded_drag_writes_a_gif_with_its_provenance(opened, tmp_path):
    from PIL import Image

    from gan_explorer.core.io.video import read_gif_comment

    explorer, _ = opened
    drag = explorer.drag
    drag.steps, drag.record_path = 2, str(tmp_path / "drag.gif")
    drag.click(8, 8)
    drag.click(4, 8)
    handle = drag.start()
    assert handle.ok and handle.result.recorded
    assert Image.open(tmp_path / "drag.gif").n_frames == 3
    assert '"ws"' in read_gif_comment(tmp_path / "drag.gif")


def test_a_render_between_steps_of_a_bent_drag_sees_the_model_unbent(opened):
    """Between steps the session serves waiting slider renders (OSC, another panel): the drag's
    bends and S edits act only while it computes, never on those frames."""
    from gan_explorer.core.explorer.requests import RenderRequest
    from gan_explorer.core.explorer.state import LatentState

    explorer, _ = opened
    renderer = explorer.session.renderer
    plain = renderer.render(RenderRequest(-1, LatentState(seed=5), renderer.model_token)).image
    explorer.latent.change(bends=((1, "scale", (0.0,)),))
    seen = []
    explorer.drag.events.step.connect(
        lambda _info: seen.append(renderer.render(RenderRequest(-1, LatentState(seed=5), renderer.model_token)).image))
    explorer.drag.steps = 2
    explorer.drag.click(8, 8)
    explorer.drag.click(5, 8)
    assert explorer.drag.start().ok
    assert seen and all(np.array_equal(image, plain) for image in seen)
    assert explorer.latent.state.bends    # the result keeps the bend it was dragged under
