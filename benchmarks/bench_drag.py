"""DragGAN's landmark experiment and drag speed; same as `gan-explorer bench drag` (see gan_explorer/bench/drag.py).

    python3 benchmarks/bench_drag.py [--quick] [--threads N] [--json out.json]
"""

import argparse
import json

import torch

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 pairs, 20 steps")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = run_benchmark("drag", quick=args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
