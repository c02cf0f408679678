"""The explorer session without Qt: latest-wins, stale tokens, cancel, interleaving, shutdown, errors,
devices. The threaded tests run the real worker thread; none asserts on wall-clock time."""

import queue
import sys
import threading

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import Cancelled
from gan_explorer.core.explorer.jobs import Interpolate, Job, RenderBatch
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState
from tests.core.explorer.conftest import Fails, Gate, Recorder, Steps, tiny_model, wait_for

SESSION_EVENTS = ("model_loaded", "model_failed", "rendered", "device_changed")


def test_core_explorer_imports_no_qt():
    import subprocess

    modules = ", ".join(f"gan_explorer.core.explorer.{m}" for m in (
        "explorer", "session", "handles", "jobs", "latent", "viewer", "directions", "collections", "grids",
        "pictures", "analyses"))
    code = (f"import sys; import {modules}; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'gan_explorer.gui'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --- the worker thread ------------------------------------------------------------------------------
def test_latest_wins_under_a_storm(threaded):
    events = Recorder(threaded.events, *SESSION_EVENTS)
    token = threaded.set_model(tiny_model())
    gate = Gate()
    handle = threaded.submit(gate, token)
    assert gate.entered.wait(30)
    # While the worker is busy, 50 slider events arrive: only the newest may be rendered...
    with threaded._cond:  # hold the worker out of check() so none is served mid-storm
        for i in range(50):
            threaded.render(LatentState(seed=i), token, request_id=i + 1)
    gate.release.set()
    assert threaded.wait_until_idle(60)
    rendered = events.of("rendered")
    assert [r.request_id for r in rendered] == [50]
    assert threaded.dropped_renders == 49
    assert rendered[0].image.shape == (16, 16, 3)
    assert handle.ok and handle.result == "released"


def test_request_for_a_previous_model_is_dropped_not_rendered_on_the_new_one(threaded):
    events = Recorder(threaded.events, *SESSION_EVENTS)
    old = threaded.set_model(tiny_model(seed=1))
    assert threaded.wait_until_idle(60)
    gate = Gate()
    gate_handle = threaded.submit(gate, old)
    assert gate.entered.wait(30)
    new = threaded.set_model(tiny_model(seed=2))  # queued behind the gate; cancels the gate job
    threaded.render(LatentState(seed=3), old, request_id=1)  # made for the old model, arrives late
    assert threaded.wait_until_idle(60)
    assert [i.token for i in events.of("model_loaded")] == [old, new]
    assert events.of("rendered") == []
    assert wait_for(lambda: gate_handle.finished)
    assert gate_handle.cancelled and not gate_handle.ok and gate_handle.result is None
    threaded.render(LatentState(seed=3), new, request_id=2)
    assert threaded.wait_until_idle(60)
    assert [r.request_id for r in events.of("rendered")] == [2]


def test_a_job_made_for_a_previous_model_never_runs_on_the_new_one(threaded):
    old = threaded.set_model(tiny_model(seed=1))
    new = threaded.set_model(tiny_model(seed=2))
    assert threaded.wait_until_idle(60)
    steps = Steps(count=3)
    late = threaded.submit(steps, old)
    current = threaded.submit(Steps(count=2), new)
    assert threaded.wait_until_idle(60)
    assert wait_for(lambda: late.finished and current.finished)
    assert late.cancelled and steps.done == []
    assert current.ok and current.result == 2


def test_cancel_a_running_job(threaded):
    token = threaded.set_model(tiny_model())
    states = tuple(LatentState(seed=s) for s in range(2000))
    handle = threaded.submit(RenderBatch(states=states), token)
    progress = []
    handle.on_progress(progress.append)
    assert wait_for(lambda: len(progress) >= 3)
    handle.cancel()
    cancelled_at = len(progress)
    done = []
    handle.on_done(done.append)
    assert wait_for(lambda: done)
    assert done == [handle] and handle.cancelled and handle.result is None and handle.error is None
    assert len(progress) <= cancelled_at + 1  # it stopped at the next frame
    assert progress[-1].total == 2000 and progress[-1].done < 2000
    assert threaded.active_jobs() == []


def test_a_render_during_an_export_is_shown_before_the_export_ends(threaded, tmp_path):
    order = []  # one log of both kinds of outcome, in the order the worker reported them
    token = threaded.set_model(tiny_model())
    assert threaded.wait_until_idle(60)
    threaded.events.rendered.connect(lambda result: order.append(("rendered", result.request_id)))
    path = tmp_path / "walk.gif"
    handle = threaded.submit(Interpolate(keyframes=(LatentState(seed=1), LatentState(seed=2)),
                                         frames_per_segment=60, export_path=str(path)), token)
    progress = []
    handle.on_progress(progress.append)
    handle.on_done(lambda h: order.append(("done", h.id)))
    assert wait_for(lambda: len(progress) >= 2)
    threaded.render(LatentState(seed=9), token, request_id=7)
    assert wait_for(lambda: handle.finished, timeout=300)
    assert handle.ok, handle.error
    assert order.index(("rendered", 7)) < order.index(("done", handle.id))
    assert progress[-1].done == progress[-1].total == 61
    assert handle.result.path == str(path) and handle.result.frames == 61
    assert path.exists()


def test_cancelled_export_leaves_no_file(threaded, tmp_path):
    token = threaded.set_model(tiny_model())
    path = tmp_path / "walk.gif"
    handle = threaded.submit(Interpolate(keyframes=(LatentState(seed=1), LatentState(seed=2)),
                                         frames_per_segment=500, export_path=str(path)), token)
    progress = []
    handle.on_progress(progress.append)
    assert wait_for(lambda: len(progress) >= 5)
    handle.cancel()
    assert wait_for(lambda: handle.finished)
    assert handle.cancelled and handle.error is None
    assert list(tmp_path.iterdir()) == []


def test_shutdown_with_a_job_running_cancels_and_joins_and_ends_every_handle():
    session = ExplorerSession()
    session.start()
    token = session.set_model(tiny_model())
    gate = Gate()
    handle = session.submit(gate, token)
    assert gate.entered.wait(30)
    steps = Steps(count=2)
    queued = session.submit(steps, token)  # never runs: its handle still ends, cancelled
    seen = []
    queued.on_done(seen.append)
    thread = session._thread
    assert session.shutdown(30)
    assert not thread.is_alive() and not session.is_running
    assert handle.finished and handle.cancelled
    assert seen == [queued] and queued.cancelled and steps.done == []


def test_errors_are_one_line_the_traceback_is_logged_and_the_worker_lives_on(threaded, caplog):
    events = Recorder(threaded.events, *SESSION_EVENTS)
    token = threaded.set_model(tiny_model())
    with caplog.at_level("ERROR", logger="gan_explorer"):
        handle = threaded.submit(Fails(), token)
        assert threaded.wait_until_idle(60)
    assert wait_for(lambda: handle.finished)
    assert handle.error == "first line of the reason" and not handle.ok and not handle.cancelled
    assert "Traceback" in handle.traceback and "ValueError" in handle.traceback
    assert any("Traceback" in r.getMessage() for r in caplog.records)
    threaded.render(LatentState(seed=1), token, request_id=1)  # the worker still works
    after = threaded.submit(Steps(count=2), token)
    assert threaded.wait_until_idle(60)
    assert events.of("rendered")[0].image is not None
    assert wait_for(lambda: after.finished) and after.ok and after.result == 2


def test_callbacks_arrive_through_the_deliver_function_on_its_thread():
    """The Qt bridge's contract: nothing the session reports runs on the worker thread."""
    inbox = queue.Queue()
    session = ExplorerSession(deliver=lambda function, value: inbox.put((function, value)))
    session.start()
    main = threading.current_thread()
    seen = []

    def on(kind):
        return lambda value: seen.append((kind, threading.current_thread() is main))

    try:
        for name in SESSION_EVENTS:
            getattr(session.events, name).connect(on(name))
        token = session.set_model(tiny_model())
        session.render(LatentState(seed=2), token, request_id=1)
        handle = session.submit(Steps(count=3), token).on_progress(on("progress")).on_done(on("done"))
        assert session.wait_until_idle(60)
        assert not handle.finished  # its outcome is still in the inbox, not delivered behind our back
        while not inbox.empty():
            function, value = inbox.get()
            function(value)
    finally:
        assert session.shutdown(10)
    kinds = [k for k, _ in seen]
    assert kinds[0] == "model_loaded" and "rendered" in kinds
    assert kinds.count("progress") == 3 and kinds[-1] == "done"
    assert all(on_main for _, on_main in seen)
    assert handle.ok and handle.result == 3


# --- a synchronous session ---------------------------------------------------------------------------
def test_a_synchronous_session_runs_a_job_inside_submit():
    session = ExplorerSession(sync=True)
    token = session.set_model(tiny_model())
    started = []
    handle = session.submit(Steps(count=4), token, before_run=started.append)
    assert started == [handle]
    assert handle.finished and handle.ok and handle.result == 4
    assert handle.last_progress.done == handle.last_progress.total == 4
    assert session.active_jobs() == []


def test_a_job_with_no_model_open_fails_in_one_line():
    session = ExplorerSession(sync=True)
    handle = session.submit(Steps(count=1), 0)
    assert handle.finished and handle.error == "no model is open"


def test_a_cancelled_job_raises_cancelled_not_keyboard_interrupt():
    session = ExplorerSession(sync=True)
    token = session.set_model(tiny_model())
    seen = []

    class CancelsItself(Job):
        def run(self, context):
            context.handle.cancel()
            try:
                context.check()
            except BaseException as exc:  # noqa: BLE001 - the type is what is tested
                seen.append(type(exc))
                raise

    handle = session.submit(CancelsItself(), token)
    assert seen == [Cancelled] and handle.cancelled and handle.error is None


# --- devices and memory -----------------------------------------------------------------------------
class OutOfMemoryOffCpu(torch.nn.Module):
    """A real model in a wrapper that plays an accelerator with too little memory: moved to any
    device but the CPU (here `meta`, which every torch build has), its forward raises torch's own
    OutOfMemoryError; its weights stay usable so the fallback can move it back."""

    def __init__(self, model):
        super().__init__()
        self.inner = model
        self.placed_on = torch.device("cpu")
        self.family, self.capabilities, self.config = model.family, model.capabilities, model.config

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.inner, name)

    def to(self, device, *args, **kwargs):
        self.placed_on = torch.device(device)
        return self

    def _device(self):
        return torch.device("cpu")  # where ws are made; the forward below decides about memory

    def synthesize(self, ws, **kwargs):
        if self.placed_on.type != "cpu":
            raise torch.OutOfMemoryError(f"{self.placed_on} out of memory. Tried to allocate 2.00 GiB")
        return self.inner.synthesize(ws, **kwargs)


def test_out_of_memory_on_an_accelerator_falls_back_to_the_cpu():
    session = ExplorerSession(sync=True)
    events = Recorder(session.events, *SESSION_EVENTS)
    wrapped = OutOfMemoryOffCpu(tiny_model())
    token = session.set_model(wrapped)
    session._move_to(torch.device("meta"))
    session.render(LatentState(seed=4), token, request_id=1)
    (result,) = events.of("rendered")
    assert result.error is None and result.fell_back_to_cpu
    assert result.image.shape == (16, 16, 3)
    assert session.device.type == "cpu" and wrapped.placed_on.type == "cpu"
    assert "out of memory" in events.of("device_changed")[0].error


def test_out_of_memory_on_the_cpu_is_one_line():
    session = ExplorerSession(sync=True)
    events = Recorder(session.events, *SESSION_EVENTS)
    wrapped = OutOfMemoryOffCpu(tiny_model())
    token = session.set_model(wrapped)
    wrapped.placed_on = torch.device("meta")  # the session still thinks it is on the CPU: no fallback
    session.render(LatentState(seed=1), token, request_id=1)
    (result,) = events.of("rendered")
    assert result.out_of_memory and "out of memory" in result.error and "\n" not in result.error


def test_a_device_that_fails_leaves_the_previous_one():
    session = ExplorerSession(sync=True)
    events = Recorder(session.events, *SESSION_EVENTS)
    token = session.set_model(tiny_model())
    session.set_device("cuda:7")
    (change,) = events.of("device_changed")
    assert change.device == "cpu" and "cuda:7" in change.error
    assert "cannot open model" not in change.error.lower()
    session.render(LatentState(seed=1), token, request_id=1)
    assert events.of("rendered")[0].error is None


def test_w_std_is_the_spread_of_sampled_w():
    session = ExplorerSession(sync=True)
    events = Recorder(session.events, *SESSION_EVENTS)
    model = tiny_model()
    session.set_model(model)
    info = events.of("model_loaded")[0]
    with torch.no_grad():
        w = model.map(torch.randn(20000, model.z_dim))[:, 0]
    np.testing.assert_allclose(info.w_std, w.std(0).numpy(), rtol=0.1)
    assert not np.allclose(info.w_std, 1.0, atol=0.05)  # a mapped w is not unit-variance


def test_a_model_that_cannot_be_opened_is_one_line_and_the_previous_one_stays(tmp_path):
    session = ExplorerSession(sync=True)
    events = Recorder(session.events, *SESSION_EVENTS)
    token = session.set_model(tiny_model())
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a model")
    session.open_model(bad)
    (failure,) = events.of("model_failed")
    assert "broken.safetensors" in failure.error and "\n" not in failure.error.strip()
    session.render(LatentState(seed=1), token, request_id=1)  # the previous model still renders
    assert events.of("rendered")[0].error is None


# --- the renderer under the session -------------------------------------------------------------------
def test_late_layer_edits_reuse_cached_layers_and_equal_a_full_render():
    from gan_explorer.core.explorer.requests import RenderRequest
    from gan_explorer.core.render import Renderer

    model = tiny_model()
    renderer = Renderer(model, 1)
    first = renderer.render(RenderRequest(1, LatentState(seed=3), 1))
    d = np.ones(model.w_dim) / np.sqrt(model.w_dim)
    edited = LatentState(seed=3).with_w_offset("d:0", 4, model.num_ws - 1, direction=d, amount=2.0)
    cached = renderer.render(RenderRequest(2, edited, 1))
    assert renderer.cache.last_start > 0  # the early layers were not computed again
    fresh = Renderer(tiny_model(), 1).render(RenderRequest(3, edited, 1))
    assert np.array_equal(cached.image, fresh.image)
    assert not np.array_equal(cached.image, first.image)


def test_a_preview_is_the_networks_own_lower_resolution_image():
    from gan_explorer.core.explorer.requests import RenderRequest
    from gan_explorer.core.io.images import to_uint8
    from gan_explorer.core.render import Renderer, ws_for_state

    model = tiny_model()
    renderer = Renderer(model, 1)
    renderer.last_full_ms = 10_000.0  # as if a full frame were slow: a slider move gets a preview
    state = LatentState(seed=5)
    preview = renderer.render(RenderRequest(1, state, 1, preview=True))
    assert preview.preview and preview.image.shape[0] < model.img_resolution
    with torch.no_grad():
        own = model.synthesize(ws_for_state(model, state), max_resolution=preview.image.shape[0])
    assert np.array_equal(preview.image, to_uint8(own)[0])
    full = renderer.render(RenderRequest(2, state, 1))
    assert not full.preview and full.image.shape[0] == model.img_resolution


@pytest.mark.engine
def test_the_engine_choice_renders_like_eager_or_says_why_not():
    session = ExplorerSession(sync=True)
    events = Recorder(session.events, *SESSION_EVENTS)
    model = tiny_model()
    token = session.set_model(model)
    session.render(LatentState(seed=2), token, request_id=1)
    eager = events.of("rendered")[0].image
    session.set_engine("auto")
    (change,) = events.of("device_changed")
    assert change.engine.split(" ")[0] in ("eager", "openvino", "onnxruntime")
    if change.engine.startswith("eager"):
        assert "(" in change.engine  # the reason it stayed eager
    session.render(LatentState(seed=2), token, request_id=2)
    again = events.of("rendered")[1].image
    assert np.abs(again.astype(int) - eager.astype(int)).max() <= 1
