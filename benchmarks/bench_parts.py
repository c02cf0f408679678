"""Part classifier mIoU and dissection on the built-in demo; same as `gan-explorer bench parts` (see gan_explorer/bench/parts.py).

    python3 benchmarks/bench_parts.py [--quick] [--threads N] [--json out.json]
"""

import argparse
import json

import torch

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer steps and rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = run_benchmark("parts", quick=args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
