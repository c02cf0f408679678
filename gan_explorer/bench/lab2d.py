"""The 2-D GAN lab's view rate: frames the widget draws per second while it trains, default sizes.

The widget runs as in the window (its worker thread trains and builds frames, the UI thread draws
them, offscreen, 1200x800). The reference is the core alone in the same run: the same work per
frame (`speed` training iterations plus the frame's fields) with no drawing and no thread. The
ratio says how much of the core's rate survives drawing; the issue's target is >= 20 updates/s.
"""

from __future__ import annotations

import os
import time

from gan_explorer.bench import register_benchmark

TARGET_UPDATES_PER_S = 20.0


@register_benchmark("lab2d")
def bench_lab2d(quick: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    import torch
    from PySide6.QtWidgets import QApplication

    from gan_explorer.core.lab2d import GanLab, LabConfig
    from gan_explorer.gui.widgets.gan_lab import SPEEDS, GanLabWidget

    app = QApplication.instance() or QApplication([])
    seconds = 3.0 if quick else 10.0
    config = LabConfig()  # the defaults a student starts with: ring, non-saturating, 64x3 MLPs, batch 256

    widget = GanLabWidget(config=config)
    widget.resize(1200, 800)
    widget.show()
    speed = SPEEDS[widget.speed.value()]

    # Reference: the core's frames per second at the same speed, on one thread like the worker.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        lab = GanLab(config)
        core_frames, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 2 or core_frames < 3:
            for _ in range(speed):
                lab.step()
            lab.frame()
            core_frames += 1
        core_rate = core_frames / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)

    deadline = time.perf_counter() + 30
    while widget.last_frame is None and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    widget.play()
    start_frames, start_steps = widget.frames_shown, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    shown = widget.frames_shown - start_frames
    steps = widget.last_frame.g_steps - start_steps if widget.last_frame is not None else 0
    widget.pause()
    widget.close()
    view_rate = shown / elapsed
    result = {"speed_iterations_per_frame": speed, "seconds": elapsed, "view_updates_per_s": view_rate,
              "iterations_per_s": steps / elapsed, "core_frames_per_s": core_rate,
              "ratio_to_core": view_rate / core_rate, "target_updates_per_s": TARGET_UPDATES_PER_S}
    print(f"2-D GAN lab, default settings (ring, {config.loss}, G/D {config.g_hidden}x{config.g_layers}, "
          f"batch {config.batch}), {speed} iterations per frame, offscreen 1200x800")
    print(f"  view (worker thread + drawing)  {view_rate:6.1f} updates/s   {steps / elapsed:7.1f} iterations/s")
    print(f"  reference: core alone          {core_rate:6.1f} frames/s   (same work per frame, no drawing)")
    print(f"  ratio to the core {result['ratio_to_core']:.2f}; target >= {TARGET_UPDATES_PER_S:.0f} updates/s: "
          f"{'met' if view_rate >= TARGET_UPDATES_PER_S else 'NOT met'}")
    return result
