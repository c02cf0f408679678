"""Replays the read-side attacks of issue #26 and prints a table: class, tried, held.

    python3 benchmarks/attacks_reads.py [--only CLASS] [--timeout 30] [--verbose]

The attacks themselves (the hostile files, and each attack with the outcome it must have) are in
tests/core/io/hostile_reads.py, which the tests replay too. Every attack runs in its own child process with HOME and the app's data and cache folders in a
throw-away folder. It holds when the child ends by itself within --timeout seconds (a hang
detector, not a speed figure), with the outcome the attack must have (one line naming the reason,
never a traceback; or, for a damaged file in the data folder, opening with a warning), and its
peak memory (VmHWM, the child's own high-water mark) under 600 MB. A child past 2 GB is killed
(memory) so that the attacks cannot take the machine down.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.core.io import hostile_reads as attacks  # noqa: E402  (the attacks live beside their tests)

PEAK_LIMIT_MB = 600
KILL_MB = 2048


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            return int(next(line.split()[1] for line in f if line.startswith("VmRSS"))) / 1024
    except (OSError, StopIteration):
        return 0.0


def run_case(name: str, work: Path, env: dict, timeout: float) -> dict:
    """One attack in its own child (tests/core/io/hostile_reads.py's child_main), watched for time and memory."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.core.io.hostile_reads", str(work), name], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0, killed, peak = time.monotonic(), "", 0.0
    while proc.poll() is None:
        peak = max(peak, _rss_mb(proc.pid))
        if peak > KILL_MB:
            killed = f"killed past {KILL_MB} MB"
        elif time.monotonic() - t0 > timeout:
            killed = f"killed after {timeout:.0f} s (hang)"
        if killed:
            proc.kill()
            break
        time.sleep(0.05)
    out, err = proc.communicate()
    row = {"name": name, "class": attacks.ATTACKS[name][0]}
    if killed:
        return {**row, "held": False, "why": killed}
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if len(lines) < 2:
        return {**row, "held": False, "why": f"child failed: {(err.strip().splitlines() or [''])[-1][:200]}"}
    result, peak_mb = lines[0], lines[-1]["peak_rss_mb"]
    why = attacks.held(name, (result["outcome"], result["text"]))
    if peak_mb > PEAK_LIMIT_MB:
        why = "; ".join(filter(None, [why, f"peak {peak_mb:.0f} MB"]))
    return {**row, "held": not why, "why": why, "seconds": result["seconds"], "peak_mb": round(peak_mb),
            "text": result["text"][:160]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="one class: " + ", ".join(attacks.CLASSES))
    parser.add_argument("--case", default=None, help="one attack by name")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a child counts as hung")
    parser.add_argument("--verbose", action="store_true", help="one row per attack")
    parser.add_argument("--json", default=None, help="also write every row as JSON")
    args = parser.parse_args()
    names = [n for n, (k, *_) in attacks.ATTACKS.items() if args.only in (None, k) and args.case in (None, n)]
    with tempfile.TemporaryDirectory(prefix="attacks-reads-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        env = attacks.isolated_env(Path(tmp) / "home")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        attacks.prepare(work, names)
        rows = []
        for name in names:
            row = run_case(name, work, env, args.timeout)
            rows.append(row)
            if args.verbose:
                print(f"{'held' if row['held'] else 'BROKE':5s} {row['class']:6s} {name:36s} "
                      f"{row.get('seconds', '-')!s:>6s} s {row.get('peak_mb', '-')!s:>5s} MB  "
                      f"{' '.join((row['why'] or row.get('text', '')).split())}"[:230], flush=True)
    print("\n| class | tried | held |\n|---|---|---|")
    for klass, what in attacks.CLASSES.items():
        mine = [r for r in rows if r["class"] == klass]
        if mine:
            print(f"| {klass}: {what} | {len(mine)} | {sum(r['held'] for r in mine)} |")
    print(f"| all | {len(rows)} | {sum(r['held'] for r in rows)} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["held"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
