"""The one entry point: `gan-explorer SUBCOMMAND ...` (headless commands)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gan_explorer import __version__


def _add_model_args(p):
    p.add_argument("model", help="model file: .safetensors, NVIDIA .pkl or rosinality .pt")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")


def _add_truncation_args(p):
    p.add_argument("--truncation-psi", type=float, default=1.0, help="pull w toward w_avg (1 = off)")
    p.add_argument("--truncation-cutoff", type=int, default=None, help="truncate only layers below this")
    p.add_argument("--noise-mode", default="const", choices=["const", "random", "none"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gan-explorer", description="Explore and train generative image models.")
    parser.add_argument("--version", action="version", version=f"gan-explorer {__version__}")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("new", help="create a randomly initialised model")
    p.add_argument("--family", required=True, help="stylegan, dcgan, gan, vae, autoencoder or cyclegan")
    p.add_argument("--resolution", type=int, default=None, help="image resolution in pixels")
    p.add_argument("--channels", type=int, default=None, help="image channels (3 RGB, 1 grayscale)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="any config option, e.g. --option channel_max=128 (repeatable; values are JSON)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initialisation")
    p.add_argument("--out", required=True, help="output .safetensors file")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("info", help="print what a model file holds")
    p.add_argument("model")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("import", help="convert an NVIDIA .pkl or rosinality .pt to our .safetensors")
    p.add_argument("source", help="network pickle (.pkl) or rosinality checkpoint (.pt)")
    p.add_argument("--out", required=True, help="output .safetensors file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("generate", help="render images for seeds (or a saved latent)")
    _add_model_args(p)
    p.add_argument("--translate", default=None, metavar="X,Y", help="StyleGAN3: translate the image (e.g. 0.1,-0.2)")
    p.add_argument("--rotate", type=float, default=0.0, help="StyleGAN3: rotate the image (degrees)")
    p.add_argument("--seeds", default="0", help="e.g. 0-15 or 1,5,7 (default 0)")
    p.add_argument("--latent", default=None, help="render this latent file (.npy/.json) instead of seeds")
    _add_truncation_args(p)
    p.add_argument("--noise-seed", type=int, default=0, help="seed of the noise when --noise-mode random")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="one PNG: the image for one seed, a grid for several")
    out.add_argument("--out-dir", help="one PNG per seed (seed0000.png, ...)")
    p.add_argument("--cols", type=int, default=None, help="grid columns (default: square-ish)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("mix", help="the style-mixing figure: rows x columns of seeds")
    _add_model_args(p)
    p.add_argument("--rows", required=True, help="row seeds, e.g. 1,2,3")
    p.add_argument("--cols", required=True, help="column seeds, e.g. 4,5")
    p.add_argument("--layers", default="coarse", help="layers taken from the column seed: 0-3, coarse, middle, fine")
    _add_truncation_args(p)
    p.add_argument("--out", required=True, help="output PNG")
    p.set_defaults(func=cmd_mix)

    p = sub.add_parser("train", help="train a model; the run directory holds everything (resumes by itself)")
    p.add_argument("--run-dir", required=True, help="run directory (created, or resumed if it holds a run)")
    p.add_argument("--family", default=None,
                   help="gan, dcgan, wgan-gp, stylegan, vae, autoencoder, cyclegan (not needed to resume)")
    p.add_argument("--data", default=None, help="folder, .zip, faces:64, digits, lfw_subset")
    p.add_argument("--data-b", default=None, help="second domain (cyclegan)")
    p.add_argument("--resolution", type=int, default=0, help="0: from the data or the family default")
    p.add_argument("--channels", type=int, default=3, choices=[1, 3])
    p.add_argument("--kimg", type=float, default=0, help="length in thousands of real images (0: default)")
    p.add_argument("--batch", type=int, default=0, help="global batch size (0: default)")
    p.add_argument("--lr", type=float, default=0, help="learning rate (0: default)")
    p.add_argument("--augment", default="auto", choices=["auto", "none", "ada", "diffaugment"],
                   help="auto: ADA for stylegan on a folder or zip, none on the endless procedural faces")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="data loader processes")
    p.add_argument("--tick-kimg", type=float, default=0, help="a stats line every N kimg (0: default)")
    p.add_argument("--snapshot-ticks", type=int, default=None, help="snapshot every N ticks (default 5)")
    p.add_argument("--hflip", action="store_true", help="random horizontal flips")
    p.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                   help="model config override, e.g. channel_max=128 (repeatable)")
    p.add_argument("--r1-gamma", type=float, default=0.0, help="stylegan R1 weight (0: heuristic)")
    p.add_argument("--n-critic", type=int, default=5, help="wgan-gp critic steps per G step")
    p.add_argument("--beta", type=float, default=1.0, help="vae KL weight")
    p.add_argument("--ae-loss", default="l2", choices=["l1", "l2"])
    p.add_argument("--perceptual-weight", type=float, default=0.0, help="cyclegan perceptual loss weight (0: off)")
    p.add_argument("--perceptual-layers", default="1,2,3", help="cyclegan: feature maps compared (1 = finest)")
    p.add_argument("--perceptual-target", default="cycle", choices=["cycle", "translation"],
                   help="cyclegan: compare F(G(x)) with x, or G(x) with x")
    p.add_argument("--perceptual-network", default="discriminator", choices=["discriminator", "features"],
                   help="cyclegan: the discriminator's features or the project's feature network")
    p.add_argument("--metrics", default="", help="evaluate at each snapshot: comma list of fd, kid, pr, ppl, nn")
    p.add_argument("--metrics-num", type=int, default=2000, help="generated samples per evaluation (default 2000)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("dataset", help="make or inspect a dataset")
    dsub = p.add_subparsers(dest="dataset_command", required=True)
    q = dsub.add_parser("faces", help="write the procedural faces dataset (PNGs + factors)")
    q.add_argument("--count", type=int, default=20000, help="number of faces (default 20000)")
    q.add_argument("--resolution", type=int, default=64, help="16 to 512 px (default 64)")
    q.add_argument("--seed", type=int, default=0, help="the same seed gives the same bytes")
    q.add_argument("--out", required=True, help="a .zip file or a folder")
    q.set_defaults(func=cmd_dataset_faces)
    q = dsub.add_parser("inspect", help="counts, sizes, modes, skipped files, and a preview grid")
    q.add_argument("path", help="folder, .zip, faces:64, digits or lfw_subset")
    q.add_argument("--resolution", type=int, default=64, help="preview resolution (default 64)")
    q.add_argument("--preview", default=None, help="preview grid PNG (default: <name>_preview.png)")
    q.add_argument("--count", type=int, default=64, help="images in the preview grid")
    q.set_defaults(func=cmd_dataset_inspect)

    p = sub.add_parser("bench", help="run a benchmark and print its figures")
    p.add_argument("name", nargs="?", default="synthesis", help="benchmark name (default: synthesis)")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.set_defaults(func=cmd_bench)

    from gan_explorer.commands import register_all

    register_all(sub)
    return parser


def cmd_new(args):
    import torch

    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model

    options = _parse_key_values(args.option, "--option")
    if args.resolution is not None:
        options["img_resolution"] = args.resolution
    if args.channels is not None:
        options["img_channels"] = args.channels
    torch.manual_seed(args.seed)
    model = build_model(args.family, **options)
    save_model(model, args.out, provenance={"created_by": "gan-explorer new", "init_seed": args.seed})
    print(f"wrote {args.out}: {args.family}, {model.img_resolution} px, {model.num_parameters():,} parameters")


def model_info(model) -> dict:
    info = {
        "family": model.family,
        "img_resolution": model.img_resolution,
        "img_channels": model.img_channels,
        "parameters": model.num_parameters(),
        "capabilities": {k: v for k, v in vars(model.capabilities).items()},
        "config": model.config.to_dict(),
        "provenance": getattr(model, "provenance", {}),
    }
    if not model.capabilities.is_translation:
        info.update(z_dim=model.z_dim, w_dim=model.w_dim, num_ws=model.num_ws)
    return info


def cmd_info(args):
    from gan_explorer.core.io.models import open_model

    info = model_info(open_model(args.model))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return
    print(f"{args.model}")
    for key in ("family", "img_resolution", "img_channels", "z_dim", "w_dim", "num_ws", "parameters"):
        if key in info:
            value = info[key]
            print(f"  {key:15s} {value:,}" if isinstance(value, int) else f"  {key:15s} {value}")
    caps = [k for k, v in info["capabilities"].items() if v]
    print(f"  {'capabilities':15s} {', '.join(caps) or '-'}")
    print(f"  {'config':15s} {json.dumps(info['config'])}")
    print(f"  {'provenance':15s} {json.dumps(info['provenance'])}")


def _open(args):
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.io.models import open_model

    return open_model(args.model, device=resolve_device(args.device))


def cmd_import(args):
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.io.models import open_model

    model = open_model(args.source)
    save_model(model, args.out, provenance=getattr(model, "provenance", {}))
    print(f"wrote {args.out}: {model.family}, {model.img_resolution} px, num_ws {model.num_ws}")


def _apply_transform(model, args):
    if args.translate is None and not args.rotate:
        return
    from gan_explorer.core.errors import ConfigError

    if not model.capabilities.has_transform:
        raise ConfigError(f"--translate/--rotate need a StyleGAN3 model, this is {model.family}")
    try:
        tx, ty = (float(v) for v in (args.translate or "0,0").split(","))
    except ValueError:
        raise ConfigError(f"--translate {args.translate!r}: expected X,Y such as 0.1,-0.2") from None
    model.set_transform((tx, ty), args.rotate)


def cmd_generate(args):
    from gan_explorer.core.generate import parse_seeds, render_ws, require_latent_model, ws_for_seeds
    from gan_explorer.core.io.images import make_grid, save_image
    from gan_explorer.core.latent.files import load_latent

    model = _open(args)
    require_latent_model(model)
    _apply_transform(model, args)
    if args.latent:
        ws = load_latent(args.latent, model.num_ws, model.w_dim)
        names = [f"latent{i:04d}" for i in range(len(ws))]
    else:
        seeds = parse_seeds(args.seeds)
        ws = ws_for_seeds(model, seeds, args.truncation_psi, args.truncation_cutoff)
        names = [f"seed{s:04d}" for s in seeds]
    images = render_ws(model, ws, noise_mode=args.noise_mode, noise_seed=args.noise_seed)
    if args.out_dir:
        out_dir = Path(args.out_dir)
        for name, image in zip(names, images):
            save_image(out_dir / f"{name}.png", image)
        print(f"wrote {len(images)} images to {out_dir}")
    else:
        save_image(args.out, images[0] if len(images) == 1 else make_grid(images, args.cols))
        print(f"wrote {args.out} ({len(images)} image{'s' if len(images) > 1 else ''})")


def cmd_mix(args):
    from gan_explorer.core.generate import parse_seeds, require_latent_model, style_mixing_figure
    from gan_explorer.core.io.images import save_image
    from gan_explorer.core.latent.ops import parse_layers

    model = _open(args)
    require_latent_model(model)
    layers = parse_layers(args.layers, model.num_ws)
    figure = style_mixing_figure(model, parse_seeds(args.rows), parse_seeds(args.cols), layers,
                                 args.truncation_psi, args.truncation_cutoff, args.noise_mode)
    save_image(args.out, figure)
    print(f"wrote {args.out} (layers {layers} from the column seeds)")


def _parse_key_values(items, flag):
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            from gan_explorer.core.errors import ConfigError
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def cmd_train(args):
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.training.loop import load_run_options, training_loop
    from gan_explorer.core.metrics.evaluate import parse_metrics
    from gan_explorer.core.training.options import TrainingOptions

    saved = load_run_options(args.run_dir)
    if args.family is None or args.data is None:
        if saved is None:
            raise ConfigError(f"{args.run_dir} holds no run yet: give --family and --data")
        # Resume exactly what options.json says; only the length, the cadence and the machine may change.
        options = saved.replace(kimg=args.kimg or saved.kimg, device=args.device, workers=args.workers,
                                tick_kimg=args.tick_kimg or saved.tick_kimg,
                                snapshot_ticks=args.snapshot_ticks or saved.snapshot_ticks,
                                progress=not args.no_progress)
    else:
        options = TrainingOptions(
            family=args.family, data=args.data, data_b=args.data_b, resolution=args.resolution,
            channels=args.channels, kimg=args.kimg, batch=args.batch, lr=args.lr, augment=args.augment,
            device=args.device, precision=args.precision, seed=args.seed, workers=args.workers,
            tick_kimg=args.tick_kimg, hflip=args.hflip,
            snapshot_ticks=args.snapshot_ticks or TrainingOptions.snapshot_ticks,
            model=_parse_key_values(args.model_option, "--model-option"), r1_gamma=args.r1_gamma,
            n_critic=args.n_critic, beta=args.beta, ae_loss=args.ae_loss, progress=not args.no_progress,
            perceptual_weight=args.perceptual_weight, perceptual_layers=args.perceptual_layers,
            perceptual_target=args.perceptual_target, perceptual_network=args.perceptual_network,
            metrics=parse_metrics(args.metrics) if args.metrics else (), metrics_num=args.metrics_num)
    status = training_loop(args.run_dir, options)
    print(f"training {status}: {args.run_dir}")


def cmd_dataset_faces(args):
    from gan_explorer.core.data.faces import MAX_RESOLUTION, MIN_RESOLUTION
    from gan_explorer.core.data.writer import write_faces
    from gan_explorer.core.errors import ConfigError

    if not MIN_RESOLUTION <= args.resolution <= MAX_RESOLUTION:
        raise ConfigError(f"--resolution {args.resolution}: must be from {MIN_RESOLUTION} to {MAX_RESOLUTION}")
    if args.count < 1:
        raise ConfigError(f"--count {args.count}: must be at least 1")
    write_faces(args.out, args.count, args.resolution, seed=args.seed, progress=True)
    print(f"wrote {args.count} faces at {args.resolution} px to {args.out} (seed {args.seed})")


def cmd_dataset_inspect(args):
    from gan_explorer.core.data import open_dataset, preview_images
    from gan_explorer.core.io.images import make_grid, save_image

    dataset = open_dataset(args.path, args.resolution)
    report = getattr(dataset, "report", None)
    print(f"{args.path}")
    endless = getattr(dataset, "count", 0) is None
    print(f"  images used     {'endless (seeded)' if endless else f'{len(dataset):,}'}")
    if report is not None:
        print(f"  skipped         {len(report.skipped)}")
        for name, reason in report.skipped[:20]:
            print(f"    {name}: {reason}")
        if len(report.skipped) > 20:
            print(f"    ... and {len(report.skipped) - 20} more")
        print(f"  ignored         {report.ignored} (not images by suffix)")
        sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in report.sizes.most_common(5))
        print(f"  sizes           {sizes}" + (f" and {len(report.sizes) - 5} more" if len(report.sizes) > 5 else ""))
        print(f"  modes           {', '.join(f'{m} ({n})' for m, n in report.modes.most_common())}")
    classes = getattr(dataset, "class_names", [])
    if classes:
        print(f"  classes         {len(classes)}: {', '.join(classes[:10])}{' ...' if len(classes) > 10 else ''}")
    preview = args.preview or f"{Path(str(args.path).replace(':', '_')).stem}_preview.png"
    save_image(preview, make_grid(preview_images(dataset, args.count)))
    print(f"  preview         {preview}")


def cmd_bench(args):
    from gan_explorer.bench import run_benchmark

    results = run_benchmark(args.name, quick=args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def _wants_gui(argv) -> bool:
    """No sub-command: the window (`gan-explorer`, `gan-explorer MODEL`, `--smoke-test ...`)."""
    if not argv:
        return True
    first = argv[0]
    if first in ("-h", "--help", "--version"):
        return False
    commands = build_parser()._subparsers._group_actions[0].choices
    return first not in commands


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _wants_gui(argv):
        from gan_explorer.gui.app import run_gui

        return run_gui(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    import logging

    from gan_explorer.core.errors import GanExplorerError

    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    try:
        args.func(args)
    except GanExplorerError as exc:
        print(f"gan-explorer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gan-explorer {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
