"""Slider-to-frame latency.

1. The real window (worker thread, queued signals) on the demo-size model against the bare
   synthesis time of the same model in the same run: the difference is the app's overhead.
2. A slider dragged over random-init models of NVIDIA's stylegan2 config at 256 and 1024 px,
   through a latest-wins render thread: preview frames while it moves (the skip architecture
   stopped at the block `preview_resolution` picks, with cached early layers), and the full
   frame on the fastest renderer (core/backends) once it rests; reported separately.
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

PREVIEW_BUDGET_MS = 200  # a preview frame should land within this while a slider moves
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


def _drag_case(res, moves, quick):
    """A slider dragged over a random-init NVIDIA stylegan2 config: preview frames while it moves
    (SynthesisCache + max_resolution), the full frame on the fastest renderer when it rests."""
    from gan_explorer.core import backends
    from gan_explorer.core.models import build_model

    torch.manual_seed(0)
    model = build_model("stylegan", img_resolution=res).eval()  # channel_base 32768, channel_max 512
    with torch.no_grad():
        ws0 = model.map(model.sample_z(1, 0), 0.7)
    with tempfile.TemporaryDirectory() as root:
        renderer = backends.open_renderer(model, "auto", cache_root=root)
        with torch.no_grad():
            renderer.synthesize(ws0)
            t0 = time.perf_counter()
            renderer.synthesize(ws0)
            full_ms = (time.perf_counter() - t0) * 1000
        preview_res = backends.preview_resolution(model, budget_ms=PREVIEW_BUDGET_MS, full_ms=full_ms)
        cache = backends.SynthesisCache(model)
        out = {"resolution": res, "renderer": renderer.name, "renderer_reason": renderer.reason,
               "full_frame_ms": full_ms, "preview_resolution": preview_res, "sliders": []}
        # Layers 4+ still reach a 32 px preview (it takes w 0-7), so the cache has work to skip.
        for slider, layers in (("w slider, all layers", slice(None)), ("w slider, layers 4+ (cached)", slice(4, None))):
            worker = _Worker(lambda ws: cache.synthesize(ws, max_resolution=preview_res))
            latencies = []
            for i in range(moves):
                ws = ws0.clone()
                ws[:, layers, i % ws.shape[2]] += 0.5 + 0.01 * i
                t0 = time.perf_counter()
                worker.post(ws).wait()
                latencies.append((time.perf_counter() - t0) * 1000)
            worker.close()
            # The slider rests: after REST_MS without a move, the full frame on the fastest renderer.
            # At rest: the fastest renderer, or for a late-layer edit the cache's full frame
            # (eager, resuming at the first changed layer) where that is what the session would use.
            full = (lambda ws: cache.synthesize(ws)) if layers.start else (lambda ws: renderer.synthesize(ws))
            worker = _Worker(full)
            t0 = time.perf_counter()
            time.sleep(REST_MS / 1000)
            worker.post(ws).wait()
            rest_ms = (time.perf_counter() - t0) * 1000
            worker.close()
            out["sliders"].append({"slider": slider, "preview_p50_ms": float(np.percentile(latencies, 50)),
                                   "preview_p95_ms": float(np.percentile(latencies, 95)),
                                   "full_after_rest_ms": rest_ms})
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
    moves = 5 if quick else 15
    for res in ((256,) if quick else (256, 1024)):
        case = _drag_case(res, moves, quick)
        result["drag_cases"].append(case)
        reason = f" ({case['renderer_reason']})" if case["renderer_reason"] else ""
        print(f"\n{res} px random-init stylegan2 config: full frame {case['full_frame_ms']:.0f} ms on "
              f"{case['renderer']}{reason}; preview at {case['preview_resolution']} px while dragging "
              f"(budget {PREVIEW_BUDGET_MS} ms), {moves} moves")
        for s in case["sliders"]:
            print(f"  {s['slider']:30s} slider -> preview p50 {s['preview_p50_ms']:7.0f} ms  p95 "
                  f"{s['preview_p95_ms']:7.0f} ms;  rest -> full frame {s['full_after_rest_ms']:7.0f} ms "
                  f"(includes the {REST_MS} ms rest)")
    return result
