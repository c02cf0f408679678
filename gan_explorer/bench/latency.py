"""Slider-to-frame latency.

1. The real window (worker thread, queued signals) on the demo-size model against the bare
   synthesis time of the same model in the same run: the difference is the app's overhead.
2. A slider dragged over random-init models of NVIDIA's stylegan2 config at 256 and 1024 px,
   through the app's Renderer on a latest-wins render thread: preview frames while it moves (the
   block its PreviewPlanner picks from measured preview times), and full frames after an edit of
   every layer and of the fine layers, with the late-layer cache as the Renderer chooses it,
   without it, and forced on; p50 of each.
Waiting is event-driven (Qt's WaitForMoreEvents, threading.Event): no busy loop.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time

import numpy as np

import torch

from gan_explorer.bench import register_benchmark

from gan_explorer.core.render import PREVIEW_BUDGET_MS  # noqa: E402  (the Renderer's own budget)
REST_MS = 150  # no move for this long: render the full frame


def _model_path(tmp):
    from gan_explorer.resources import demo_model

    return str(demo_model())  # the built-in demo (64 px, z = w = 128): what the window opens on


HEARTBEAT_MS = 5


def _window_case(quick: bool) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.render import LatentState, ws_for_state
    from gan_explorer.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    n = 10 if quick else 40
    with tempfile.TemporaryDirectory() as tmp:
        path = _model_path(tmp)
        window = MainWindow(sync=False, settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.IniFormat),
                            data_dir=tmp)
        window.quiet_errors = True

        waker = QTimer()  # WaitForMoreEvents sleeps until an event: this one bounds the sleep
        waker.start(100)

        def wait_for(predicate, timeout=60.0):
            deadline = time.perf_counter() + timeout
            while not predicate() and time.perf_counter() < deadline:
                # Sleeps until the worker's queued result (or the waker) arrives: no polling. Not
                # the (flags, maxtime) overload: it crashed PySide6 6.12 here while the worker was busy.
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            return predicate()

        latencies, beats = [], []
        heartbeat = QTimer()  # the UI thread's pulse while frames render: its gaps are what a user feels
        heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
        try:
            window.open_model(path)
            viewer = window.viewer
            assert wait_for(lambda: viewer.last_result is not None), "the model did not render"
            heartbeat.start(HEARTBEAT_MS)
            for i in range(n):
                t0 = time.perf_counter()
                window.z_panel.bank.sliders[0].setValue((i % 50) * 5 - 120)
                target = viewer._next_request
                wait_for(lambda: viewer.last_result.request_id >= target)
                latencies.append((time.perf_counter() - t0) * 1000)
        finally:
            heartbeat.stop()
            window.close()  # joins its worker thread, also when the case fails
            waker.stop()
        gaps = np.diff(beats) * 1000 if len(beats) > 2 else np.zeros(1)

        model = open_model(path)
        synth = []
        with torch.no_grad():
            for i in range(n):
                state = LatentState().with_z_edit(0, (i % 50) * 0.05)
                t0 = time.perf_counter()
                model.synthesize(ws_for_state(model, state))
                synth.append((time.perf_counter() - t0) * 1000)
    result = {"model": os.path.basename(path), "n": n,
              "latency_p50_ms": float(np.percentile(latencies, 50)), "latency_p95_ms": float(np.percentile(latencies, 95)),
              "synthesis_p50_ms": float(np.percentile(synth, 50)), "synthesis_p95_ms": float(np.percentile(synth, 95))}
    result["ui_gap_max_ms"], result["ui_gap_p99_ms"] = float(gaps.max()), float(np.percentile(gaps, 99))
    result["overhead_p50_ms"] = result["latency_p50_ms"] - result["synthesis_p50_ms"]
    result["ratio_p50"] = result["latency_p50_ms"] / result["synthesis_p50_ms"]
    print(f"Slider-to-frame latency, {result['model']}, {n} slider moves; reference = bare synthesis, same run")
    print(f"  slider -> frame   p50 {result['latency_p50_ms']:7.1f} ms   p95 {result['latency_p95_ms']:7.1f} ms")
    print(f"  bare synthesis    p50 {result['synthesis_p50_ms']:7.1f} ms   p95 {result['synthesis_p95_ms']:7.1f} ms")
    print(f"  overhead p50 {result['overhead_p50_ms']:.1f} ms ({result['ratio_p50']:.2f}x the synthesis time); "
          f"{statistics.mean(latencies):.1f} ms mean")
    print(f"  UI thread heartbeat ({HEARTBEAT_MS} ms timer) while frames rendered: longest gap "
          f"{result['ui_gap_max_ms']:.1f} ms, p99 {result['ui_gap_p99_ms']:.1f} ms")
    return result


class _Worker:
    """One render thread with a latest-wins slot, as the explorer's: the caller posts ws and
    waits on an Event (no polling) for the frame that answers it."""

    def __init__(self, render):
        self.render = render
        self._cond = threading.Condition()
        self._slot = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def post(self, job):
        done = threading.Event()
        with self._cond:
            self._slot = (job, done)
            self._cond.notify()
        return done

    def _loop(self):
        while True:
            with self._cond:
                while self._slot is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                (job, done), self._slot = self._slot, None
            with torch.no_grad():
                self.render(job)
            done.set()

    def close(self):
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join()


def _drag_case(res, moves, quick, engine="auto"):
    """A random-init NVIDIA stylegan2 config through the app's Renderer: preview frames while a
    slider moves (the block its PreviewPlanner picks from measured times), then full frames after
    an edit of every layer and of the fine layers only, with the cache as the Renderer chooses it,
    without it, and forced on (its raw cost)."""
    from gan_explorer.core.render import Renderer, RenderRequest
    from gan_explorer.core.latent.state import LatentState
    from gan_explorer.core.models import build_model

    torch.manual_seed(0)
    model = build_model("stylegan", img_resolution=res).eval()  # channel_base 32768, channel_max 512
    renderer = Renderer(model, 1)
    with tempfile.TemporaryDirectory() as root:
        saved = os.environ.get("GAN_EXPLORER_CACHE")
        os.environ["GAN_EXPLORER_CACHE"] = root  # the bench's graphs never land in the user's cache
        try:
            line = renderer.use_engine(engine) if engine != "eager" else "eager"
        finally:
            if saved is None:
                os.environ.pop("GAN_EXPLORER_CACHE")
            else:
                os.environ["GAN_EXPLORER_CACHE"] = saved
    state = LatentState(seed=0, truncation_psi=0.7)
    worker = _Worker(lambda request: renderer.render(request))
    requests = iter(range(1, 10**6))

    def frame(state, preview=False):
        t0 = time.perf_counter()
        worker.post(RenderRequest(next(requests), state, model_token=1, preview=preview)).wait()
        return (time.perf_counter() - t0) * 1000

    out = {"resolution": res, "renderer": line}
    frame(state)  # warm-up: the first full frame sizes the previews
    out["first_full_ms"] = renderer.last_full_ms
    previews = []
    for i in range(moves):  # a w slider over every layer: each move changes the whole network
        previews.append(frame(state.with_w_offset("drag", 0, model.num_ws - 1, dim=i % 8, amount=0.3 + 0.02 * i),
                              preview=True))
    out["preview_p50_ms"] = float(np.percentile(previews, 50))
    out["preview_p95_ms"] = float(np.percentile(previews, 95))
    out["preview_costs_ms"] = {f"{r}px {p}": round(ms) for (r, p), ms in sorted(renderer.planner.ms.items())}
    n_full = 3 if quick or res > 512 else 5
    fine = max(0, model.num_ws - 4)
    for label, start_layer in (("all layers", 0), ("fine layers", fine)):
        for mode, forced in (("as chosen", None), ("without cache", {"cache": float("inf")}),
                             ("cache forced", {"cache": 0.0})):
            times, paths = [], []
            frame(state)  # the state the edits start from, fully rendered (fills the cache)
            for i in range(n_full):
                if forced is not None:
                    renderer.full_ms.update(forced)
                edited = state.with_w_offset("edit", start_layer, model.num_ws - 1, dim=i, amount=0.4 + 0.05 * i)
                times.append(frame(edited))
                paths.append(renderer.last_path)
                frame(state)  # back: the next edit again changes only `label`
            renderer.full_ms.pop("cache", None) if forced is not None else None
            out[f"full_p50_ms[{label}, {mode}]"] = float(np.percentile(times, 50))
            out[f"path[{label}, {mode}]"] = max(set(paths), key=paths.count)
    worker.close()
    return out


@register_benchmark("latency")
def bench_latency(quick: bool = False) -> dict:
    try:
        result = _window_case(quick)
    except Exception as exc:  # the window's internals move with the GUI; the drag cases do not need it
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"Window case not measured: {type(exc).__name__}: {line}")
        result = {"window_case_error": f"{type(exc).__name__}: {line}"}
    result["drag_cases"] = []
    moves = 8 if quick else 15
    for res in ((256,) if quick else (256, 1024)):
        case = _drag_case(res, moves, quick)
        result["drag_cases"].append(case)
        print(f"\n{res} px random-init stylegan2 config (renderer: {case['renderer']}); first full frame "
              f"{case['first_full_ms']:.0f} ms; budget {PREVIEW_BUDGET_MS} ms per preview, {moves} moves")
        print(f"  slider -> preview   p50 {case['preview_p50_ms']:6.0f} ms  p95 {case['preview_p95_ms']:6.0f} ms; "
              f"measured preview costs {case['preview_costs_ms']}")
        for label in ("all layers", "fine layers"):
            cells = [f"{mode} {case[f'full_p50_ms[{label}, {mode}]']:6.0f} ms ({case[f'path[{label}, {mode}]']})"
                     for mode in ("as chosen", "without cache", "cache forced")]
            print(f"  full frame after an edit of {label:11s}: p50 " + ";  ".join(cells))
    return result
