"""The explorer session without Qt: latest-wins, stale tokens, cancel, interleaving, shutdown."""

import sys
import threading
import time

import numpy as np
import pytest
import torch

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.requests import Cancelled, Call, Interpolate, RenderBatch
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.models import build_model
from tests.conftest import TINY


def tiny_model(seed=1):
    torch.manual_seed(seed)
    return build_model("stylegan", **TINY["stylegan"]).eval()


class Recorder:
    """Collects the session's events (from the worker thread) with a lock."""

    def __init__(self, session):
        self.lock = threading.Lock()
        self.log = []
        for name in ("model_loaded", "model_failed", "rendered", "job_progress", "job_done", "device_changed"):
            getattr(session.events, name).connect(lambda value, name=name: self._add(name, value))

    def _add(self, name, value):
        with self.lock:
            self.log.append((name, value, time.monotonic()))

    def of(self, name):
        with self.lock:
            return [v for n, v, _ in self.log if n == name]

    def wait_for(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.01)
        return False


class Gate:
    """A function job that blocks until released: keeps the worker busy on demand."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, model, context):
        self.entered.set()
        while not self.release.wait(0.01):
            context.check()
        return "released"


@pytest.fixture
def session():
    s = ExplorerSession()
    s.start()
    yield s
    assert s.shutdown(10)


def test_core_explorer_imports_no_qt():
    import subprocess

    code = ("import sys; import gan_explorer.core.explorer.explorer, gan_explorer.core.explorer.session; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'gan_explorer.gui'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_latest_wins_under_a_storm(session):
    events = Recorder(session)
    token = session.set_model(tiny_model())
    gate = Gate()
    session.submit(Call(purpose="gate", function=gate), token)
    assert gate.entered.wait(10)
    # While the worker is busy, 50 slider events arrive: only the newest may be rendered...
    with session._cond:  # hold the worker out of check() so none is served mid-storm
        for i in range(50):
            session.render(LatentState(seed=i), token, request_id=i + 1)
    gate.release.set()
    assert session.wait_until_idle(30)
    rendered = events.of("rendered")
    assert [r.request_id for r in rendered] == [50]
    assert session.dropped_renders == 49
    np.testing.assert_array_equal(rendered[0].image.shape, (16, 16, 3))


def test_request_for_a_previous_model_is_dropped_not_rendered_on_the_new_one(session):
    events = Recorder(session)
    old = session.set_model(tiny_model(1))
    assert session.wait_until_idle()
    gate = Gate()
    session.submit(Call(purpose="gate", function=gate), old)
    assert gate.entered.wait(10)
    new = session.set_model(tiny_model(2))   # queued behind the gate; cancels the gate job
    session.render(LatentState(seed=3), old, request_id=1)  # made for the old model, arrives late
    assert session.wait_until_idle(30)
    assert [i.token for i in events.of("model_loaded")] == [old, new]
    assert events.of("rendered") == []
    assert events.of("job_done")[0].cancelled
    session.render(LatentState(seed=3), new, request_id=2)
    assert session.wait_until_idle()
    assert [r.request_id for r in events.of("rendered")] == [2]


def test_cancel_a_running_job(session):
    events = Recorder(session)
    token = session.set_model(tiny_model())
    states = tuple(LatentState(seed=s) for s in range(2000))
    job = session.submit(RenderBatch(purpose="big", states=states), token)
    assert events.wait_for(lambda e: len(e.of("job_progress")) >= 3)
    session.cancel(job)
    cancelled_at = len(events.of("job_progress"))
    assert events.wait_for(lambda e: e.of("job_done"))
    (done,) = events.of("job_done")
    assert done.cancelled and done.job_id == job
    assert len(events.of("job_progress")) <= cancelled_at + 1  # it stopped at the next frame


def test_a_render_during_an_export_is_shown_before_the_export_ends(session, tmp_path):
    events = Recorder(session)
    token = session.set_model(tiny_model())
    keys = (LatentState(seed=1), LatentState(seed=2))
    path = tmp_path / "walk.gif"
    session.submit(Interpolate(purpose="export", keyframes=keys, frames_per_segment=60, export_path=str(path)),
                   token)
    assert events.wait_for(lambda e: len(e.of("job_progress")) >= 2)
    session.render(LatentState(seed=9), token, request_id=7)
    assert events.wait_for(lambda e: e.of("job_done"), timeout=120)
    rendered_at = [t for n, v, t in events.log if n == "rendered" and v.request_id == 7]
    done_at = [t for n, v, t in events.log if n == "job_done"]
    assert rendered_at and rendered_at[0] < done_at[0]
    progress = events.of("job_progress")
    assert progress[-1].done == progress[-1].total == 61
    assert path.exists()


def test_cancelled_export_leaves_no_file(session, tmp_path):
    events = Recorder(session)
    token = session.set_model(tiny_model())
    path = tmp_path / "walk.gif"
    job = session.submit(Interpolate(purpose="export", keyframes=(LatentState(seed=1), LatentState(seed=2)),
                                     frames_per_segment=500, export_path=str(path)), token)
    assert events.wait_for(lambda e: len(e.of("job_progress")) >= 5)
    session.cancel(job)
    assert events.wait_for(lambda e: e.of("job_done"))
    assert events.of("job_done")[0].cancelled
    assert list(tmp_path.iterdir()) == []


def test_shutdown_with_a_job_running_cancels_and_joins():
    session = ExplorerSession()
    session.start()
    events = Recorder(session)
    token = session.set_model(tiny_model())
    gate = Gate()
    session.submit(Call(purpose="gate", function=gate), token)
    assert gate.entered.wait(10)
    thread = session._thread
    assert session.shutdown(10)
    assert not thread.is_alive()
    assert events.of("job_done")[0].cancelled


def test_errors_are_one_line_and_the_traceback_is_logged(session, caplog):
    events = Recorder(session)
    token = session.set_model(tiny_model())

    def broken(model, context):
        raise ValueError("first line of the reason\nsecond line")

    with caplog.at_level("ERROR", logger="gan_explorer"):
        session.submit(Call(purpose="broken", function=broken), token)
        assert session.wait_until_idle()
    (done,) = events.of("job_done")
    assert done.error == "first line of the reason"
    assert "Traceback" in done.traceback
    assert any("Traceback" in r.getMessage() for r in caplog.records)
    session.render(LatentState(seed=1), token, request_id=1)  # the worker still works
    assert session.wait_until_idle()
    assert events.of("rendered")[0].image is not None


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
    events = Recorder(session)
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
    events = Recorder(session)
    wrapped = OutOfMemoryOffCpu(tiny_model())
    token = session.set_model(wrapped)
    wrapped.placed_on = torch.device("meta")  # the session still thinks it is on the CPU: no fallback
    session.render(LatentState(seed=1), token, request_id=1)
    (result,) = events.of("rendered")
    assert result.out_of_memory and "out of memory" in result.error and "\n" not in result.error


def test_a_device_that_fails_leaves_the_previous_one(monkeypatch):
    session = ExplorerSession(sync=True)
    events = Recorder(session)
    token = session.set_model(tiny_model())
    session.set_device("cuda:7")
    (change,) = events.of("device_changed")
    assert change.device == "cpu" and "cuda:7" in change.error
    assert "cannot open model" not in change.error.lower()
    session.render(LatentState(seed=1), token, request_id=1)
    assert events.of("rendered")[0].error is None


def test_w_std_is_the_spread_of_sampled_w():
    session = ExplorerSession(sync=True)
    events = Recorder(session)
    model = tiny_model()
    session.set_model(model)
    info = events.of("model_loaded")[0]
    with torch.no_grad():
        w = model.map(torch.randn(20000, model.z_dim))[:, 0]
    np.testing.assert_allclose(info.w_std, w.std(0).numpy(), rtol=0.1)
    assert not np.allclose(info.w_std, 1.0, atol=0.05)  # a mapped w is not unit-variance


def test_explorer_drops_stale_results_and_counts_fps_only_while_frames_flow():
    session = ExplorerSession(sync=True)
    explorer = Explorer(session).connect_direct()
    shown = []
    explorer.events.image_shown.connect(shown.append)
    explorer.use_model(tiny_model())
    assert len(shown) == 1
    explorer.set_seed(5)
    assert len(shown) == 2 and explorer.state.seed == 5
    old = explorer.last_result
    explorer.on_rendered(old)  # the same (older) result again: not shown twice
    assert len(shown) == 2
    assert "render" in explorer.status_text()
    explorer._frame_times = [time.monotonic() - 5]
    assert explorer.fps() == 0 and "fps" not in explorer.status_text()


def test_explorer_w_slider_moves_in_units_of_the_real_sigma():
    session = ExplorerSession(sync=True)
    explorer = Explorer(session).connect_direct()
    explorer.use_model(tiny_model())
    explorer.set_w(3, 1.0, (0, explorer.info.num_ws - 1))
    (offset,) = explorer.state.w_offsets
    assert offset.key == "w:3" and offset.amount == pytest.approx(float(explorer.info.w_std[3]))
    assert explorer.w_values() == {3: pytest.approx(1.0)}


def test_explorer_one_undo_step_per_drag():
    session = ExplorerSession(sync=True)
    explorer = Explorer(session).connect_direct()
    explorer.use_model(tiny_model())
    for v in (0.1, 0.2, 0.3):
        explorer.set_z(0, v)
    explorer.end_gesture()
    explorer.set_seed(7)
    explorer.undo()
    assert explorer.state.z_edits == ((0, 0.3),)
    explorer.undo()
    assert explorer.state.z_edits == () and explorer.state.seed == 0


def test_a_cancelled_job_raises_cancelled_not_keyboard_interrupt():
    session = ExplorerSession(sync=True)
    token = session.set_model(tiny_model())
    seen = []

    def job(model, context):
        context.queued.cancelled.set()
        try:
            context.check()
        except BaseException as exc:  # noqa: BLE001 - the type is what is tested
            seen.append(type(exc))
            raise

    done = []
    session.events.job_done.connect(done.append)
    session.submit(Call(purpose="x", function=job), token)
    assert seen == [Cancelled] and done[0].cancelled


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
    events = Recorder(session)
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
