"""`gan-explorer probe MODEL --data faces:64 --json report.json`: which directions carry which factors.

For a model trained on the procedural faces: label its samples with the factor regressor, fit a
direction per factor, measure what each does, compare with PCA / SeFa directions. For a VAE or
autoencoder, also the disentanglement scores (MIG, DCI, SAP) of its codes against the true factors.
`gan-explorer probe train ...` trains the factor regressor (the project's feature network).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from gan_explorer.commands.map import tqdm_progress, write_json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "probe", help="factor directions of a model of procedural faces (and MIG/DCI/SAP for a VAE / AE); "
                      "'probe train' trains the factor regressor")
    p.add_argument("model", help="model file (.safetensors, .pkl, .pt); 'probe train OPTIONS' trains the factor "
                                 "regressor (the options of 'gan-explorer features train')")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--data", default=None, help="the faces the model was trained on, e.g. faces:64 "
                                                "(default: faces at the model's resolution)")
    p.add_argument("--regressor", default=None, help="factor network file (default: the shipped one)")
    p.add_argument("--num", type=int, default=2000, help="labelled samples for the fit (default 2000)")
    p.add_argument("--space", default="w", choices=["w", "z"], help="where directions live (w = z without a mapping)")
    p.add_argument("--seed", type=int, default=0, help="first seed of the labelled samples")
    p.add_argument("--truncation-psi", type=float, default=1.0, help="pull w toward w_avg (1 = off)")
    p.add_argument("--factors", default=None,
                   help="comma-separated factors (default: all the regressor predicts); none: only MIG/DCI/SAP")
    p.add_argument("--conditional", action="append", default=[], metavar="FACTOR:OTHER,OTHER",
                   help="project the other factors' directions out of FACTOR's (repeatable); default 'all': "
                        "every factor conditioned on every other factor with a meaningful direction; "
                        "'none': InterFaceGAN's unconditional directions")
    p.add_argument("--subspace", type=int, default=32,
                   help="fit within this many principal components of the sampled latents (0: all dimensions)")
    p.add_argument("--discovered", default="pca,sefa", help="discovered directions to compare: pca,sefa or none")
    p.add_argument("--num-discovered", type=int, default=10, help="how many of each (default 10)")
    p.add_argument("--effect-seeds", type=int, default=64, help="seeds moved along each direction (default 64)")
    p.add_argument("--json", default=None, help="write the whole report as JSON")
    p.add_argument("--figure", default=None, help="PNG: rows = factors, columns = strengths -2..+2 sigma")
    p.add_argument("--figure-factors", default="glasses,smile,skin_tone,hair_color",
                   help="factors in the figure (default glasses,smile,skin_tone,hair_color)")
    p.add_argument("--figure-seeds", default="0", help="seeds per factor row in the figure (default 0)")
    p.add_argument("--directions", default=None, help="save the factor directions and sigmas (.npz)")
    p.add_argument("--disentanglement-num", type=int, default=2000,
                   help="faces encoded for MIG/DCI/SAP (VAE / autoencoder; 0 = skip)")
    p.add_argument("--matrix", default=None, help="PNG of the factor x code mutual-information matrix (VAE / AE)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.set_defaults(func=cmd_probe)
    # `probe train ...` takes the feature network's own options, which this parser does not know:
    # hand everything after 'train' over untouched instead of parsing it as probe options.
    parse_probe_args = p.parse_known_args

    def parse_known_args(arg_strings=None, namespace=None):
        arg_strings = list(arg_strings or [])
        if arg_strings[:1] == ["train"]:
            namespace = namespace or argparse.Namespace()
            namespace.func, namespace.train_args = run_train, arg_strings[1:]
            return namespace, []
        return parse_probe_args(arg_strings, namespace)
    p.parse_known_args = parse_known_args


def _parse_conditional(items):
    from gan_explorer.core.errors import ConfigError

    if not items or items == ["all"]:
        return "all"
    if items == ["none"]:
        return None
    out = {}
    for item in items:
        name, sep, others = item.partition(":")
        if not sep or not name or not others:
            raise ConfigError(f"--conditional {item!r}: expected FACTOR:OTHER[,OTHER...], e.g. smile:skin_tone")
        out[name] = [o for o in others.split(",") if o]
    return out


def _check_faces_data(model, data):
    from gan_explorer.core.errors import ConfigError

    if data is None:
        return f"faces:{model.img_resolution}"
    name, _, arg = str(data).partition(":")
    if name != "faces":
        raise ConfigError(f"--data {data}: the factor probe needs a model of the procedural faces (faces:R), "
                          "whose factors the regressor knows")
    if arg and arg.isdigit() and int(arg) != model.img_resolution:
        raise ConfigError(f"--data {data}: the model draws {model.img_resolution} px images")
    return data


def run_train(args) -> None:
    """`probe train ...`: the factor regressor is the feature network; train it as `features train` does
    (its options, its function), without building the whole command line's parser again."""
    from gan_explorer.commands.metrics import add_train_args, cmd_features_train

    parser = argparse.ArgumentParser(prog="gan-explorer probe train",
                                     description="train the factor regressor (as gan-explorer features train)")
    add_train_args(parser)
    cmd_features_train(parser.parse_args(args.train_args))


def cmd_probe(args):
    from gan_explorer.core.analysis.disentanglement import codec_disentanglement, matrix_image
    from gan_explorer.core.analysis.probe import probe_figure, probe_model
    from gan_explorer.core.analysis.regressor import load_regressor
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.generate import parse_seeds, require_latent_model
    from gan_explorer.core.io.images import save_image
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.io.models import open_model

    from gan_explorer.core.analysis.disentanglement import MAX_FACES
    from gan_explorer.core.analysis.probe import check_probe
    from gan_explorer.core.limits import check_count

    check_probe(args.num, args.num_discovered, args.effect_seeds, args.subspace or None, args.seed,
                args.truncation_psi)  # before anything slow
    check_count("--disentanglement-num", args.disentanglement_num, 0, MAX_FACES)
    model = open_model(args.model, device=resolve_device(args.device))
    require_latent_model(model)
    data = _check_faces_data(model, args.data)
    discovered = () if args.discovered in ("", "none") else tuple(m for m in args.discovered.split(",") if m)
    bad = [m for m in discovered if m not in ("pca", "sefa")]
    if bad:
        raise ConfigError(f"--discovered {args.discovered}: use pca, sefa or none")
    factors = [f for f in args.factors.split(",") if f] if args.factors else None
    if factors == ["none"] and not (model.capabilities.has_encoder and args.disentanglement_num):
        raise ConfigError("--factors none leaves nothing to do: only a VAE / autoencoder has MIG/DCI/SAP")
    if args.matrix and not (model.capabilities.has_encoder and args.disentanglement_num):
        raise ConfigError(f"--matrix: the {model.family} family has no encoder, so no codes to compare with factors")
    report = None
    result = {"info": {}}
    if factors != ["none"]:
        progress, bar = tqdm_progress("probe", args.no_progress)
        try:
            report = probe_model(model, num=args.num, space=args.space, seed=args.seed,
                                 truncation_psi=args.truncation_psi, factors=factors,
                                 conditional=_parse_conditional(args.conditional), discovered=discovered,
                                 subspace=args.subspace or None,
                                 num_discovered=args.num_discovered, effect_seeds=args.effect_seeds,
                                 regressor=load_regressor(model._device(), args.regressor), progress=progress)
        finally:
            bar.close()
        result = report.to_dict()
    result["info"].update(model=str(args.model), data=data)
    if model.capabilities.has_encoder and args.disentanglement_num:
        progress, bar = tqdm_progress("disentanglement", args.no_progress)
        try:
            dis = codec_disentanglement(model, data, num=args.disentanglement_num, progress=progress)
        finally:
            bar.close()
        result["disentanglement"] = dis.to_dict()
        if args.matrix:
            title = (f"{Path(args.model).name} ({model.family}, z={model.z_dim}): mutual information / factor entropy "
                     f"(MIG {dis.mig:.3f}, DCI {dis.dci_disentanglement:.3f}, SAP {dis.sap:.3f})")
            save_image(args.matrix, matrix_image(dis.mutual_information, dis.factor_names, title=title))
            print(f"wrote {args.matrix}")
    _print_summary(result)
    if args.json:
        write_json(args.json, result)
        print(f"wrote {args.json}")
    if report is None:
        return
    if args.directions:
        from gan_explorer.core.io.atomic import atomic_path

        fitted = report.factor_directions
        with atomic_path(args.directions) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, names=np.array(list(fitted)), space=np.array(report.info["space"]),
                         directions=np.stack([fd.direction for fd in fitted.values()]),
                         sigma=np.array([fd.sigma for fd in fitted.values()], dtype=np.float32),
                         score=np.array([fd.score for fd in fitted.values()], dtype=np.float32))
        print(f"wrote {args.directions}")
    if args.figure:
        names = [f for f in args.figure_factors.split(",") if f in report.factor_directions]
        if not names:
            raise ConfigError(f"--figure-factors {args.figure_factors}: none of them was fitted")
        save_image(args.figure, probe_figure(model, report, names, parse_seeds(args.figure_seeds)))
        print(f"wrote {args.figure}")


def _print_summary(result: dict, out=None) -> None:
    out = out or sys.stdout
    if result.get("factors"):
        _print_factors(result, out)
    dis = result.get("disentanglement")
    if dis:
        print(f"disentanglement: MIG {dis['mig']:.3f}, DCI disentanglement {dis['dci_disentanglement']:.3f}, "
              f"completeness {dis['dci_completeness']:.3f}, informativeness {dis['dci_informativeness']:.3f}, "
              f"SAP {dis['sap']:.3f}, reconstruction MSE {dis['reconstruction_mse']:.4f}", file=out)


def _print_factors(result: dict, out) -> None:
    strengths = result.get("strengths_sigma") or [0, 0]
    print(f"factor directions; changes from {strengths[0]:+g} to {strengths[-1]:+g} sigma, in the factor's data "
          "standard deviations (the regressor's mean over the effect seeds):", file=out)
    print(f"{'factor':16s} {'held-out':>14s} {'sigma':>6s} {'own':>6s} {'largest other':>24s} {'median':>6s} "
          f"{'monotonic seeds':>15s}", file=out)
    for name, f in result["factors"].items():
        score = f"{f['metric']} {f['score']:.3f}"
        mono = f.get("monotonic_seed_fraction")
        other = f"{f.get('largest_other_factor') or '-'} {f.get('largest_other_change', float('nan')):.2f}"
        print(f"{name:16s} {score:>14s} {f['sigma']:6.3f} {f.get('own_change', float('nan')):6.2f} {other:>24s} "
              f"{f.get('median_other_change', float('nan')):6.2f} {'' if mono is None else f'{mono:.0%}':>15s}",
              file=out)
    for method in ("pca", "sefa"):
        rows = result.get(f"{method}_directions")
        if rows:
            moves = ", ".join(f"{r['index']}:{r.get('moves_most', '?')}" for r in rows)
            print(f"{method.upper()} directions move most: {moves}", file=out)
