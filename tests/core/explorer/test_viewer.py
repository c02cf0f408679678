"""Viewer: the open model, the image shown, stale results dropped, jobs stamped with the model."""

import queue
import time
from dataclasses import replace

import numpy as np

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.explorer.viewer import DEFAULT_PSI_WITH_W_AVG
from tests.core.explorer.conftest import Fails, Gate, Recorder, Steps, rendered_ws, tiny_model


def test_opening_a_model_renders_its_first_frame(explorer):
    shown = Recorder(explorer.viewer.events, "model_opened", "image_shown")
    model = tiny_model()
    token = explorer.viewer.use_model(model)
    assert shown.names() == ["model_opened", "image_shown"]
    assert explorer.viewer.token == token and explorer.viewer.explorable
    result = explorer.viewer.last_result
    assert result.image.shape == (16, 16, 3) and result.model_token == token
    np.testing.assert_array_equal(result.ws, rendered_ws(model, explorer.latent.state))
    np.testing.assert_array_equal(explorer.viewer.current_ws, result.ws)


def test_psi_starts_at_0_7_for_the_first_model_with_a_mapping_network(explorer):
    explorer.viewer.use_model(tiny_model("stylegan"))
    assert explorer.latent.state.truncation_psi == DEFAULT_PSI_WITH_W_AVG == 0.7
    model = tiny_model("stylegan")
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, LatentState(truncation_psi=0.7)))


def test_psi_starts_at_1_without_a_mapping_network(explorer):
    explorer.viewer.use_model(tiny_model("dcgan"))
    assert explorer.latent.state.truncation_psi == 1.0


def test_the_users_psi_and_seed_carry_over_to_the_next_model(explorer):
    explorer.viewer.use_model(tiny_model("dcgan"))
    explorer.latent.change(truncation_psi=0.5, seed=12)
    explorer.viewer.use_model(tiny_model("stylegan"))
    assert (explorer.latent.state.seed, explorer.latent.state.truncation_psi) == (12, 0.5)
    explorer.latent.change(truncation_psi=1.0)
    explorer.viewer.use_model(tiny_model("stylegan", seed=2))
    assert explorer.latent.state.truncation_psi == 1.0  # not the first model: the user's choice stays


def test_a_result_older_than_the_image_shown_or_of_a_previous_model_is_dropped(explorer):
    shown = Recorder(explorer.viewer.events, "image_shown")
    explorer.viewer.use_model(tiny_model())
    explorer.latent.set_seed(5)
    assert len(shown.of("image_shown")) == 2 and explorer.latent.state.seed == 5
    current = explorer.viewer.last_result
    explorer.session.events.rendered.emit(current)  # the same result again: not shown twice
    older = replace(current, request_id=current.request_id - 1, image=np.zeros_like(current.image))
    explorer.session.events.rendered.emit(older)
    assert len(shown.of("image_shown")) == 2 and explorer.viewer.last_result is current
    previous_token = explorer.viewer.token
    explorer.viewer.use_model(tiny_model(seed=2))
    after_switch = explorer.viewer.last_result
    late = replace(current, request_id=10_000, model_token=previous_token)  # made for the old model
    explorer.session.events.rendered.emit(late)
    assert explorer.viewer.last_result is after_switch and after_switch.model_token == explorer.viewer.token


def test_a_render_error_is_said_and_the_image_shown_stays(explorer):
    failed = Recorder(explorer.viewer.events, "render_failed", "image_shown")
    explorer.viewer.use_model(tiny_model())
    shown = explorer.viewer.last_result
    broken = replace(shown, request_id=shown.request_id + 1, image=None, error="it broke")
    explorer.session.events.rendered.emit(broken)
    assert failed.of("render_failed") == ["it broke"] and explorer.viewer.last_result is shown


def test_the_status_line_names_the_model_and_counts_fps_only_while_frames_flow(explorer):
    assert explorer.viewer.status_text() == "no model"
    explorer.viewer.use_model(tiny_model(), path="tiny.safetensors")
    text = explorer.viewer.status_text()
    assert "tiny.safetensors" in text and "stylegan 16 px" in text and "cpu" in text and "render" in text
    explorer.viewer._frame_times = [time.monotonic() - 5]  # the last frame came long ago
    assert explorer.viewer.fps() == 0 and "fps" not in explorer.viewer.status_text()


def test_a_translation_model_is_not_rendered_as_a_latent(explorer):
    shown = Recorder(explorer.viewer.events, "image_shown", "model_opened")
    explorer.viewer.use_model(tiny_model("cyclegan"))
    assert explorer.viewer.info.is_translation and not explorer.viewer.explorable
    assert shown.names() == ["model_opened"] and explorer.viewer.last_result is None


def test_jobs_are_stamped_with_the_open_model_and_a_failure_is_one_line(explorer):
    messages = Recorder(explorer.viewer.events, "message", "job_started")
    explorer.viewer.use_model(tiny_model())
    ok = explorer.viewer.submit(Steps(count=2))
    failed = explorer.viewer.submit(Fails())
    assert ok.model_token == failed.model_token == explorer.viewer.token
    assert messages.of("job_started") == [ok, failed]
    assert ok.ok and failed.error == "first line of the reason"
    assert messages.of("message") == ["first line of the reason"]
    assert explorer.viewer.running_jobs() == []


def test_results_of_the_previous_model_never_reach_the_new_models_consumers():
    """As behind the Qt bridge: the worker runs on its own thread and everything it reports is
    delivered here, on the test's thread, when the inbox is pumped."""
    inbox = queue.Queue()
    session = ExplorerSession(deliver=lambda function, value: inbox.put((function, value)))
    session.start()
    explorer = Explorer(session)
    messages = Recorder(explorer.viewer.events, "message")

    def pump():  # until the worker is idle and nothing it reported is left (a delivery may ask for more)
        while True:
            assert session.wait_until_idle(60)
            if inbox.empty():
                return
            while not inbox.empty():
                function, value = inbox.get()
                function(value)

    try:
        explorer.viewer.use_model(tiny_model(seed=1))
        pump()
        first_token = explorer.viewer.token
        stale_render_id = explorer.viewer._next_request
        gate = Gate()
        old_job = explorer.viewer.submit(gate)
        finding = explorer.directions.find("pca", count=4)  # queued behind the gate, for the old model
        assert gate.entered.wait(30)
        explorer.viewer.use_model(tiny_model(seed=2))  # cancels both; they end on the worker
        explorer.viewer.request_render()  # still stamped with the old model: it has not loaded yet
        pump()
    finally:
        assert session.shutdown(10)
    assert explorer.viewer.token != first_token and explorer.viewer.last_result.model_token == explorer.viewer.token
    assert explorer.viewer.last_result.request_id > stale_render_id
    assert old_job.cancelled and finding.cancelled
    assert explorer.directions.found is None and explorer.directions.finding is None
    assert "Cancelled" not in messages.of("message")  # the old model's jobs say nothing to the new one
    assert explorer.viewer.running_jobs() == []
