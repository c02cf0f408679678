"""Live-curve redraw time with 100k points: our settings (peak downsampling + clip to view)
against the same plot drawn without them (the reference), same run, offscreen."""

from __future__ import annotations

import os
import time

import numpy as np

from gan_explorer.bench import register_benchmark


@register_benchmark("curves")
def bench_curves(quick: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    from PySide6.QtWidgets import QApplication

    import pyqtgraph as pg

    app = QApplication.instance() or QApplication([])
    n_points = 100_000
    repeats = 5 if quick else 20
    x = np.linspace(0, 5000, n_points)
    rng = np.random.default_rng(0)
    ys = [np.cumsum(rng.normal(size=n_points)) * 0.01 + k for k in range(4)]  # four loss curves
    results = {"points": n_points, "curves": len(ys), "cases": []}
    for name, optimised in (("plain (reference)", False), ("peak downsampling + clip to view", True)):
        widget = pg.PlotWidget()
        widget.resize(900, 300)
        widget.show()
        plot = widget.getPlotItem()
        if optimised:
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        curves = [plot.plot(pen=pg.intColor(i)) for i in range(len(ys))]
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            for curve, y in zip(curves, ys):
                curve.setData(x, y + r * 1e-3)  # new data each time, as a live run appends
            widget.grab()  # forces a full repaint
            app.processEvents()
            times.append((time.perf_counter() - t0) * 1000)
        widget.close()
        results["cases"].append({"name": name, "redraw_ms_median": float(np.median(times))})
    ref = results["cases"][0]["redraw_ms_median"]
    print(f"Redraw of {len(ys)} curves x {n_points:,} points (offscreen, median of {repeats}); reference = plain")
    for case in results["cases"]:
        case["ratio_to_reference"] = case["redraw_ms_median"] / ref
        print(f"  {case['name']:36s} {case['redraw_ms_median']:8.1f} ms   {case['ratio_to_reference']:.2f}x")
    return results
