"""Pivotal tuning on held-out faces; same as `gan-explorer bench tuning` (see gan_explorer/bench/tuning.py).

    python3 benchmarks/bench_tuning.py [--quick] [--faces 16] [--w-steps 500] [--tune-steps 300] [--json out.json]
"""

import argparse
import json

from gan_explorer.bench.tuning import bench_tuning

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 faces, fewer steps")
    parser.add_argument("--faces", type=int, default=None, help="held-out faces (default 16)")
    parser.add_argument("--w-steps", type=int, default=None, help="W and W+ projection steps (default 500)")
    parser.add_argument("--tune-steps", type=int, default=None, help="tuning steps per face (default 300)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    out = bench_tuning(quick=args.quick, faces=args.faces, w_steps=args.w_steps, tune_steps=args.tune_steps,
                       threads=args.threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
