"""OSC message in -> frame shown, and a flood that must not block the window (issue #32).

The real window (its session's worker thread, queued signals) with the built-in demo open and OSC
switched on; the messages come from another process over UDP (localhost), as from a show's controller.

1. Latency: the other process sends a `/seed` when the window asks (one at a time) and prints when
   it sent it; the window notes when the image of that seed is shown. Both clocks are
   CLOCK_MONOTONIC (time.monotonic), shared by the processes of one machine. Reference, timed in
   turn with it: the same kind of seed change made in the window's own thread (the Seed box's path).
2. Flood: FLOOD_RATE messages/s (`/z/0` and `/psi`, values changing) for FLOOD_S seconds. The UI
   thread's heartbeat (a HEARTBEAT_MS timer, as bench latency) is recorded during the flood and
   during as long an idle stretch before it (the reference); the process's resident memory (VmRSS)
   before and after.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from gan_explorer.bench import register_benchmark

FLOOD_RATE = 10_000   # messages per second
HEARTBEAT_MS = 5

SENDER = r"""
import socket, sys, time
from pythonosc.osc_message_builder import OscMessageBuilder

def datagram(address, value):
    builder = OscMessageBuilder(address)
    builder.add_arg(value)
    return builder.build().dgram

host, port, mode, count, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mode == "latency":  # one /seed per line read: the window asks, so the two paths can be timed in turn
    for line in sys.stdin:
        packet = datagram("/seed", int(line))
        t = time.monotonic()
        sock.sendto(packet, (host, port))
        print(repr(t), flush=True)
else:  # flood: `count` messages per second for `seconds`, sent in 1 ms slices (encoded beforehand)
    packets = [datagram("/z/0" if i % 2 else "/psi", (i % 200) / 100.0) for i in range(400)]
    sent, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * count)
        while sent < due:
            sock.sendto(packets[sent % len(packets)], (host, port))
            sent += 1
        time.sleep(0.001)
    print(sent, repr(time.monotonic() - start), flush=True)
"""

def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MB; NaN where /proc is not there."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _sender(host, port, mode, count=0, seconds=0.0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SENDER, host, str(port), mode, str(count), str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _percentiles(values) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


@register_benchmark("osc")
def bench_osc(quick: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from gan_explorer.gui.main_window import MainWindow
    from gan_explorer.resources import demo_model

    app = QApplication.instance() or QApplication([])
    n = 15 if quick else 60
    flood_s = 1.0 if quick else 3.0
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(sync=False, settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.IniFormat),
                            data_dir=tmp)
        window.quiet_errors = True
        viewer, latent, perform = window.viewer, window.latent, window.explorer.perform
        waker = QTimer()  # bounds each sleep of the event loop below
        waker.start(50)

        def wait_for(predicate, timeout=60.0):
            deadline = time.monotonic() + timeout
            while not predicate() and time.monotonic() < deadline:
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            return predicate()

        def run_for(seconds):
            wait_for(lambda: False, seconds)

        shown: dict[int, float] = {}
        viewer.events.image_shown.connect(lambda _r: shown.setdefault(latent.state.seed, time.monotonic()))
        beats: list[float] = []
        heartbeat = QTimer()
        heartbeat.timeout.connect(lambda: beats.append(time.monotonic()))
        try:
            window.open_model(str(demo_model()))
            assert wait_for(lambda: viewer.last_result is not None), "the demo did not render"
            error = perform.start_osc("127.0.0.1", 0)
            assert not error, error
            host, port = perform.osc.address

            # The two paths in turn, one frame at a time: the seed changed in the window's thread (as
            # the Seed box does: the reference), then a /seed sent by the other process when asked.
            sender = _sender(host, port, "latency")
            local, latencies = [], []
            for i in range(n + 1):  # the first round warms both paths up and is not counted
                target = viewer._next_request + 1
                t0 = time.monotonic()
                latent.set_seed(500 + i)
                wait_for(lambda: viewer.last_result.request_id >= target)
                took = (time.monotonic() - t0) * 1000
                sender.stdin.write(f"{1000 + i}\n")
                sender.stdin.flush()
                seen = wait_for(lambda: (1000 + i) in shown, timeout=30)
                sent_at = float(sender.stdout.readline())
                if i:
                    local.append(took)
                    if seen:
                        latencies.append((shown[1000 + i] - sent_at) * 1000)
            sender.stdin.close()
            sender.wait(10)
            missing = n - len(latencies)

            # 2. The flood, against an idle stretch as long.
            run_for(0.5)
            rss_before = rss_mb()
            heartbeat.start(HEARTBEAT_MS)
            run_for(flood_s)
            idle_beats, beats[:] = list(beats), []
            counters_before = (perform.counters.received, perform.counters.coalesced, perform.counters.updates)
            flood = _sender(host, port, "flood", FLOOD_RATE, flood_s)
            wait_for(lambda: flood.poll() is not None, timeout=flood_s * 10 + 30)
            flood_beats = list(beats)
            heartbeat.stop()
            flood_sent, flood_took = flood.communicate()[0].split()  # (closes its stdin)
            run_for(1.0)  # what was waiting is applied and shown
            rss_after = rss_mb()
            received = perform.counters.received - counters_before[0]
            coalesced = perform.counters.coalesced - counters_before[1]
            updates = perform.counters.updates - counters_before[2]
            dropped = dict(perform.counters.dropped)
        finally:
            heartbeat.stop()
            window.close()
            waker.stop()

    idle_gaps = np.diff(idle_beats) * 1000 if len(idle_beats) > 2 else np.zeros(1)
    flood_gaps = np.diff(flood_beats) * 1000 if len(flood_beats) > 2 else np.zeros(1)
    result = {"model": demo_model().name, "n": n}
    result["osc_p50_ms"], result["osc_p95_ms"] = _percentiles(latencies) if latencies else (float("nan"),) * 2
    result["local_p50_ms"], result["local_p95_ms"] = _percentiles(local)
    result["ratio_p50"] = result["osc_p50_ms"] / result["local_p50_ms"]
    result["missing"] = missing
    result.update({"flood_sent": int(flood_sent), "flood_seconds": float(flood_took),
                   "flood_rate": int(flood_sent) / float(flood_took), "flood_received": received,
                   "flood_coalesced": coalesced, "flood_frames": updates, "dropped": dropped,
                   "idle_gap_max_ms": float(idle_gaps.max()), "idle_gap_p99_ms": float(np.percentile(idle_gaps, 99)),
                   "flood_gap_max_ms": float(flood_gaps.max()),
                   "flood_gap_p99_ms": float(np.percentile(flood_gaps, 99)),
                   "rss_before_mb": rss_before, "rss_after_mb": rss_after, "rss_growth_mb": rss_after - rss_before})
    print(f"OSC in -> frame shown, {result['model']}, {n} /seed messages from another process, one frame at a "
          f"time; reference = a seed change made in the window's thread, timed in turn")
    print(f"  OSC -> frame       p50 {result['osc_p50_ms']:7.1f} ms   p95 {result['osc_p95_ms']:7.1f} ms"
          + (f"   ({missing} not seen)" if missing else ""))
    print(f"  Seed box -> frame  p50 {result['local_p50_ms']:7.1f} ms   p95 {result['local_p95_ms']:7.1f} ms"
          f"   (OSC p50 is {result['ratio_p50']:.2f}x; mean {statistics.mean(local):.1f} ms)")
    print(f"Flood: {result['flood_sent']:,} messages in {result['flood_seconds']:.2f} s ({result['flood_rate']:,.0f}/s); "
          f"{received:,} received ({int(flood_sent) - received:,} dropped by the kernel: the socket's buffer was full), "
          f"{coalesced:,} coalesced, {updates:,} frames asked")
    print(f"  UI heartbeat ({HEARTBEAT_MS} ms timer): longest gap {result['flood_gap_max_ms']:.1f} ms, p99 "
          f"{result['flood_gap_p99_ms']:.1f} ms during the flood; idle, as long: {result['idle_gap_max_ms']:.1f} ms, "
          f"p99 {result['idle_gap_p99_ms']:.1f} ms")
    print(f"  memory (VmRSS) {rss_before:.0f} MB before, {rss_after:.0f} MB after: "
          f"{result['rss_growth_mb']:+.1f} MB")
    return result
