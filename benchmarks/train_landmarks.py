"""Train the shipped landmark regressor (core/analysis/landmarks.py) and print its held-out error.

    python benchmarks/train_landmarks.py --steps 2000 --out resources/networks/faces-landmarks64.safetensors
"""

import argparse
import json

from gan_explorer.core.analysis.landmarks import save_landmark_net, train_landmark_net


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000, help="optimisation steps")
    parser.add_argument("--train-count", type=int, default=10000, help="procedural faces trained on")
    parser.add_argument("--test-count", type=int, default=1000, help="held-out faces scored")
    parser.add_argument("--batch", type=int, default=64, help="faces per step")
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    args = parser.parse_args()
    net, report = train_landmark_net(args.steps, args.train_count, args.test_count, args.batch, log=lambda m: print(m, flush=True))
    save_landmark_net(net, args.out, report)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
