"""Whole commands as a user runs them: `generate` and `mix` against a reference process, paired.

    python benchmarks/bench_commands.py MODEL [--runs 5] [--seeds 0-15] [--nvidia PATH] [--window]

Each round runs our command and the reference as separate processes, in turn (a change in the
machine's load hits both), and reads each one's wall time and peak resident memory from the
kernel (os.wait4's rusage of that very child). Reported: medians over the rounds, ours / reference.

Reference: NVIDIA's own gen_images.py when --nvidia points at a stylegan2-ada-pytorch checkout and
MODEL is their .pkl; otherwise the textbook formulation written in this project
(gan_explorer.bench.synthesis.textbook_synthesis: per-sample modulated kernels, a grouped
convolution, the zero-insertion FIR), run as NVIDIA's script runs: seed by seed, batch 1, one PNG
written per seed, in a process that imports torch and opens the same model file.
--window adds the time from starting a process to the first frame in the window (offscreen).
A 256 px model of NVIDIA's widths: gan-explorer new --family stylegan --resolution 256 --out m.safetensors
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

START = time.perf_counter()  # a child mode's clock: from the interpreter's start of this script


def _run(argv, env=None) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process; it must succeed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])}... failed ({proc.returncode}): {err.strip()[-400:]}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KB on Linux


def _textbook_generate(model_path, seeds, out_dir):
    """The reference generate: seed by seed, batch 1, textbook synthesis, one PNG per seed."""
    import torch
    from PIL import Image

    from gan_explorer.bench.synthesis import textbook_synthesis
    from gan_explorer.core.generate import parse_seeds
    from gan_explorer.core.io.models import open_model

    model = open_model(model_path)
    os.makedirs(out_dir, exist_ok=True)
    with torch.no_grad():
        for seed in parse_seeds(seeds):
            ws = model.map(model.z_from_seeds([seed]))
            img = textbook_synthesis(model, ws)
            img = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
            Image.fromarray(img[0].numpy(), "RGB").save(f"{out_dir}/seed{seed:04d}.png")


def _textbook_mix(model_path, rows, cols, out):
    """The reference mix: every row, column and cell rendered one by one, then one canvas."""
    import numpy as np
    import torch
    from PIL import Image

    from gan_explorer.bench.synthesis import textbook_synthesis
    from gan_explorer.core.generate import parse_seeds
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.latent.ops import parse_layers

    model = open_model(model_path)
    rows, cols = parse_seeds(rows), parse_seeds(cols)
    layers = list(parse_layers("coarse", model.num_ws))

    def render(ws):
        img = textbook_synthesis(model, ws)
        return (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()

    with torch.no_grad():
        ws = {s: model.map(model.z_from_seeds([s])) for s in dict.fromkeys(rows + cols)}
        r = model.img_resolution
        canvas = np.zeros(((len(rows) + 1) * r, (len(cols) + 1) * r, 3), np.uint8)
        for j, c in enumerate(cols):
            canvas[:r, (j + 1) * r:(j + 2) * r] = render(ws[c])
        for i, row in enumerate(rows):
            canvas[(i + 1) * r:(i + 2) * r, :r] = render(ws[row])
            for j, c in enumerate(cols):
                mixed = ws[row].clone()
                mixed[:, layers] = ws[c][:, layers]
                canvas[(i + 1) * r:(i + 2) * r, (j + 1) * r:(j + 2) * r] = render(mixed)
    Image.fromarray(canvas, "RGB").save(out)


def _first_frame(model_path):
    """Child mode: open the window offscreen, print the seconds from this script's start to the
    model's first frame on screen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from gan_explorer.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(sync=False, settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.IniFormat),
                            data_dir=tmp)
        window.quiet_errors = True
        shown = []
        window.sigImageShown.connect(lambda *_: shown.append(time.perf_counter() - START))
        waker = QTimer()
        waker.start(50)
        window.open_model(model_path)
        deadline = time.perf_counter() + 600
        while not shown and time.perf_counter() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        window.close()
    print(f"first_frame_s {shown[0] if shown else float('nan'):.3f}", flush=True)


def _median_pair(label, ours, reference, runs):
    """Interleaved runs of two argv lists; prints and returns the medians and ratios."""
    walls = {"ours": [], "ref": []}
    peaks = {"ours": [], "ref": []}
    for k in range(runs):
        for name, argv in (("ours", ours), ("ref", reference)):
            wall, peak = _run(argv)
            walls[name].append(wall)
            peaks[name].append(peak)
        print(f"  {label} round {k + 1}: ours {walls['ours'][-1]:.1f} s, reference {walls['ref'][-1]:.1f} s "
              f"(load {os.getloadavg()[0]:.1f})", flush=True)
    out = {name: {"wall_s": statistics.median(walls[name]), "peak_mb": statistics.median(peaks[name])}
           for name in walls}
    out["wall_ratio"] = out["ours"]["wall_s"] / out["ref"]["wall_s"]
    out["peak_ratio"] = out["ours"]["peak_mb"] / out["ref"]["peak_mb"]
    # Paired: the ratio of each round's two runs, so a load change between rounds cancels.
    out["paired_wall_ratio_median"] = statistics.median(o / r for o, r in zip(walls["ours"], walls["ref"]))
    print(f"{label}: ours {out['ours']['wall_s']:.1f} s / {out['ours']['peak_mb']:.0f} MB, reference "
          f"{out['ref']['wall_s']:.1f} s / {out['ref']['peak_mb']:.0f} MB; wall ours/reference "
          f"{out['wall_ratio']:.2f} (paired median {out['paired_wall_ratio_median']:.2f}), peak memory "
          f"{out['peak_ratio']:.2f}  [medians of {runs}]", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--runs", type=int, default=5, help="paired rounds (medians are reported)")
    parser.add_argument("--seeds", default="0-15")
    parser.add_argument("--precision", default="fp32", help="ours: --precision fp32 or bf16")
    parser.add_argument("--nvidia", default=None, help="a stylegan2-ada-pytorch checkout (MODEL must be its .pkl)")
    parser.add_argument("--window", action="store_true", help="also time to first frame in the window")
    parser.add_argument("--no-mix", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, *rest = args.child
        {"generate": _textbook_generate, "mix": _textbook_mix, "first-frame": _first_frame}[mode](*rest)
        return
    py, me = sys.executable, os.path.abspath(__file__)
    print(f"Whole commands on {args.model}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"at the start; reference = {'NVIDIA gen_images.py' if args.nvidia else 'textbook formulation'}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = [py, "-m", "gan_explorer", "generate", args.model, "--seeds", args.seeds, "--out-dir",
                f"{tmp}/ours", "--precision", args.precision]
        if args.nvidia:
            reference = [py, os.path.join(args.nvidia, "gen_images.py"), f"--network={args.model}",
                         f"--seeds={args.seeds}", f"--outdir={tmp}/ref", "--trunc=1", "--noise-mode=const"]
        else:
            reference = [py, me, "x", "--child", "generate", args.model, args.seeds, f"{tmp}/ref"]
        results["generate"] = _median_pair(f"generate --seeds {args.seeds}", ours, reference, args.runs)
        if not args.no_mix and not args.nvidia:
            ours = [py, "-m", "gan_explorer", "mix", args.model, "--rows", "0-2", "--cols", "3-5", "--out",
                    f"{tmp}/mix.png", "--precision", args.precision]
            reference = [py, me, "x", "--child", "mix", args.model, "0-2", "3-5", f"{tmp}/mix_ref.png"]
            results["mix"] = _median_pair("mix 3 x 3", ours, reference, args.runs)
        if args.window:
            times = []
            for _ in range(args.runs):
                out = subprocess.run([py, me, "x", "--child", "first-frame", args.model], capture_output=True,
                                     text=True, check=True).stdout
                times.append(float(out.split("first_frame_s")[1]))
            results["first_frame_s"] = statistics.median(times)
            print(f"time to first frame in the window (process start -> frame shown): "
                  f"{results['first_frame_s']:.1f} s [median of {args.runs}]")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return results


if __name__ == "__main__":
    main()
