"""Slider-to-frame latency in the real window (worker thread, queued signals) against the bare
synthesis time of the same model in the same run: the difference is the app's overhead."""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np

from gan_explorer.bench import register_benchmark


def _model_path(tmp):
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "stylegan_official" / "sg2ada_64.pkl"
    if fixture.is_file():
        return str(fixture)
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model

    return str(save_model(build_model("stylegan", img_resolution=64, channel_base=4096, channel_max=128),
                          Path(tmp) / "bench.safetensors"))


@register_benchmark("latency")
def bench_latency(quick: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch
    from PySide6.QtCore import QSettings
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

        def wait_for(predicate, timeout=60.0):
            deadline = time.perf_counter() + timeout
            while not predicate() and time.perf_counter() < deadline:
                # Plain processEvents(): the (flags, maxtime) overload crashed PySide6 6.12 here
                # ("deallocating None") while the worker thread was busy.
                app.processEvents()
                time.sleep(0.0005)
            return predicate()

        window.open_model(path)
        assert wait_for(lambda: window.last_result is not None), "the model did not render"
        latencies = []
        for i in range(n):
            t0 = time.perf_counter()
            window.z_bank.sliders[0].setValue((i % 50) * 5 - 120)
            target = window._last_sent_id
            wait_for(lambda: window._shown_id >= target)
            latencies.append((time.perf_counter() - t0) * 1000)
        window.close()

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
    result["overhead_p50_ms"] = result["latency_p50_ms"] - result["synthesis_p50_ms"]
    result["ratio_p50"] = result["latency_p50_ms"] / result["synthesis_p50_ms"]
    print(f"Slider-to-frame latency, {result['model']}, {n} slider moves; reference = bare synthesis, same run")
    print(f"  slider -> frame   p50 {result['latency_p50_ms']:7.1f} ms   p95 {result['latency_p95_ms']:7.1f} ms")
    print(f"  bare synthesis    p50 {result['synthesis_p50_ms']:7.1f} ms   p95 {result['synthesis_p95_ms']:7.1f} ms")
    print(f"  overhead p50 {result['overhead_p50_ms']:.1f} ms ({result['ratio_p50']:.2f}x the synthesis time); "
          f"{statistics.mean(latencies):.1f} ms mean")
    return result
