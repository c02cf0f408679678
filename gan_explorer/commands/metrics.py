"""`gan-explorer metrics` (quality metrics of a model or of every snapshot of a run) and
`gan-explorer features train` (train the project's feature / factor network on procedural faces)."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("metrics", help="FD / KID / precision-recall / PPL / memorisation of a model or a run")
    p.add_argument("model", nargs="?", default=None, help="model file (not needed with --run-dir)")
    p.add_argument("--data", default=None, help="the real images: folder, .zip, faces:64, ... (a run: its own data)")
    p.add_argument("--run-dir", default=None, help="evaluate every snapshot of this run not evaluated yet")
    p.add_argument("--metrics", default="fd,kid", help="comma list of fd, kid, pr, ppl, nn, or all (default fd,kid)")
    p.add_argument("--num", type=int, default=5000, help="generated samples (default 5000)")
    p.add_argument("--num-real", type=int, default=None, help="real images (default: --num)")
    p.add_argument("--features", default="gan_explorer",
                   help="gan_explorer (default), random[:SEED], or inception:PATH (a local Inception-v3 weights file)")
    p.add_argument("--ppl-num", type=int, default=None, help="PPL paths per space (default min(num, 1000))")
    p.add_argument("--truncation-psi", type=float, default=1.0, help="truncation of the samples (1 = off)")
    p.add_argument("--seed", type=int, default=0, help="first sample seed (and KID subsets, PPL paths)")
    p.add_argument("--grid", default=None, help="nn: PNG of the closest sample / training image pairs")
    p.add_argument("--no-cache", action="store_true", help="recompute the real images' features")
    p.add_argument("--redo", action="store_true", help="--run-dir: evaluate snapshots already in metrics.jsonl again")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.set_defaults(func=cmd_metrics)

    p = subparsers.add_parser("features", help="the project's feature network (FD/KID features, factor regressor)")
    fsub = p.add_subparsers(dest="features_command", required=True)
    q = fsub.add_parser("train", help="train it on procedural faces and score every factor on held-out faces")
    add_train_args(q)
    q.set_defaults(func=cmd_features_train)


def add_train_args(q) -> None:
    """The options of `features train` (also usable by another command, e.g. `probe train`)."""
    q.add_argument("--out", required=True, help="output .safetensors file")
    q.add_argument("--steps", type=int, default=2500, help="optimiser steps (default 2500)")
    q.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    q.add_argument("--train-count", type=int, default=20000, help="training faces rendered up front (default 20000)")
    q.add_argument("--test-count", type=int, default=2000, help="held-out faces scored at the end (default 2000)")
    q.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle schedule)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--no-progress", action="store_true", help="no tqdm bar")


class _Bar:
    """progress(done, total) -> a tqdm bar."""

    def __init__(self, disable: bool, unit: str = "step"):
        from tqdm import tqdm

        self.bar = tqdm(total=1, disable=disable, dynamic_ncols=True, unit=unit)

    def __call__(self, done, total):
        if self.bar.total != total:
            self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self):
        self.bar.close()


def cmd_metrics(args):
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.metrics.evaluate import evaluate_model, evaluate_run_dir, summary_lines

    device = resolve_device(args.device)
    if args.num < 2:
        raise ConfigError(f"--num {args.num}: need at least 2 samples")
    bar = _Bar(args.no_progress, unit="")
    common = dict(num_real=args.num_real, seed=args.seed, truncation_psi=args.truncation_psi, ppl_num=args.ppl_num,
                  use_cache=not args.no_cache)
    try:
        if args.run_dir:
            if args.model:
                raise ConfigError("give a MODEL or --run-dir, not both")
            lines = evaluate_run_dir(args.run_dir, args.metrics, args.num, args.features, args.data, device,
                                     redo=args.redo, progress=bar, log=lambda m: bar.bar.write(m), **common)
            output = {"run_dir": args.run_dir, "evaluated": lines}
        else:
            if not args.model or not args.data:
                raise ConfigError("give a MODEL and --data (or --run-dir RUN)")
            from gan_explorer.core.io.models import open_model

            model = open_model(args.model, device=device)
            result = evaluate_model(model, args.data, args.metrics, args.num, args.features, grid_path=args.grid,
                                    progress=bar, **common)
            bar.close()
            print(f"{args.model} vs {args.data}: {result['num']} samples, {result['num_real']} real images, "
                  f"features: {result['label'].split('(', 1)[1].rstrip(')')}")
            for line in summary_lines(result):
                print(f"  {line}")
            output = {"model": args.model, **result}
    finally:
        bar.close()
    if args.json:
        from gan_explorer.core.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(output, indent=2))  # refuses links, FIFOs, devices
        print(f"wrote {args.json}")


def cmd_features_train(args):
    from gan_explorer.core.metrics.factors import (
        BINARY_FACTORS, FACTOR_NAMES, VISIBLE_FACTORS, score_value, train_factor_network,
    )

    bar = _Bar(args.no_progress)
    try:
        report = train_factor_network(args.out, steps=args.steps, batch=args.batch, train_count=args.train_count,
                                      test_count=args.test_count, seed=args.seed, lr=args.lr, progress=bar,
                                      log=lambda m: bar.bar.write(m))
    finally:
        bar.close()
    print(f"wrote {args.out}: {report['parameters']:,} parameters, {report['file_bytes'] / 1e6:.2f} MB, "
          f"rendering {report['render_sec']:.0f} s + training {report['train_sec']:.0f} s")
    print("held-out scores (R^2; accuracy for binary factors):")
    for name in FACTOR_NAMES:
        kind = "accuracy" if name in BINARY_FACTORS else "R^2"
        mark = "  *" if name in VISIBLE_FACTORS else ""
        print(f"  {name:16s} {kind:8s} {score_value(report['held_out'][name]):.3f}{mark}")
