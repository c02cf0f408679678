"""The one entry point: `gan-explorer SUBCOMMAND ...` (headless commands); no sub-command opens the window.

Every value from the command line is checked where it enters (finite numbers, ranges, caps on
how many images one command renders), and every error is one line on stderr, exit status 2:
input quoted in a message is escaped and truncated (core/errors.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gan_explorer import __version__


def _add_model_args(p):
    p.add_argument("model", help="model file: .safetensors, NVIDIA .pkl or rosinality .pt")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    _add_truncation_latent_arg(p)


def _add_truncation_latent_arg(p):
    p.add_argument("--truncation-latent", default=None, metavar="W.npy",
                   help="imported models: use this w ([1, w_dim] .npy) as w_avg, the centre truncation pulls "
                        "toward (rosinality checkpoints have none: by default it is estimated from 4096 z)")


def _add_max_images_arg(p):
    p.add_argument("--max-images", type=int, default=None, metavar="N",
                   help="render at most N images (default 1024): a typo such as 0-100000000 is refused, "
                        "not rendered for days")


def _add_truncation_args(p):
    p.add_argument("--truncation-psi", type=float, default=1.0, help="pull w toward w_avg (1 = off)")
    p.add_argument("--truncation-cutoff", type=int, default=None, help="truncate only layers below this")
    p.add_argument("--noise-mode", default=None, choices=["const", "random", "none"],
                   help="const (default, or what a --latent picture.png says), random or none")


# What each family `train --family` takes is, in the words a student looks for.
FAMILY_HELP = {
    "gan": "the original GAN: fully connected layers",
    "dcgan": "deep convolutional GAN",
    "wgan-gp": "Wasserstein GAN with gradient penalty",
    "stylegan": "StyleGAN2: mapping network and styles, ADA on a folder or zip",
    "pggan": "progressive growing of GANs: starts at --start-resolution and doubles, fading each new block in",
    "vae": "variational autoencoder: encoder, decoder, KL weight --beta",
    "autoencoder": "plain autoencoder; new images from a Gaussian fitted to its codes",
    "cyclegan": "unpaired translation between --data and --data-b",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-explorer", description="Explore and train generative image models.",
        epilog="With no sub-command, `gan-explorer` opens the window on the built-in demo model, and "
               "`gan-explorer MODEL` opens the window on MODEL (.safetensors, NVIDIA .pkl, rosinality .pt); "
               "`gan-explorer --smoke-test [--screenshot PNG] [MODEL]` checks that the window works. "
               "The sub-commands listed above run without a window.")
    parser.add_argument("--version", action="version", version=f"gan-explorer {__version__}")
    parser.add_argument("--no-watermark", action="store_true",
                        help="exports of this run carry no invisible watermark (their provenance and Content "
                             "Credentials say so); may stand anywhere on the line")
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
    _add_truncation_latent_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("import", help="convert an NVIDIA .pkl or rosinality .pt to our .safetensors")
    p.add_argument("source", help="network pickle (.pkl) or rosinality checkpoint (.pt)")
    p.add_argument("--out", required=True, help="output .safetensors file")
    _add_truncation_latent_arg(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("generate", help="render images for seeds (or a saved latent)")
    _add_model_args(p)
    p.add_argument("--translate", default=None, metavar="X,Y", help="StyleGAN3: translate the image (e.g. 0.1,-0.2)")
    p.add_argument("--rotate", type=float, default=0.0, help="StyleGAN3: rotate the image (degrees)")
    p.add_argument("--seeds", default="0", help="e.g. 0-15 or 1,5,7 (default 0)")
    p.add_argument("--latent", default=None, help="render this latent file (.npy/.json) instead of seeds")
    p.add_argument("--blend-with", default=None, metavar="MODEL",
                   help="the second model a blended picture (--latent picture.png) was made with")
    _add_condition_args(p)
    _add_truncation_args(p)
    p.add_argument("--noise-seed", type=int, default=0, help="seed of the noise when --noise-mode random")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="one PNG: the image for one seed, a grid for several")
    out.add_argument("--out-dir", help="one PNG per seed (seed0000.png, ...)")
    p.add_argument("--cols", type=int, default=None, help="grid columns (default: square-ish)")
    _add_max_images_arg(p)
    _add_precision_arg(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("mix", help="the style-mixing figure: rows x columns of seeds")
    _add_model_args(p)
    p.add_argument("--rows", required=True, help="row seeds, e.g. 1,2,3")
    p.add_argument("--cols", required=True, help="column seeds, e.g. 4,5")
    p.add_argument("--layers", default="coarse", help="layers taken from the column seed: 0-3, coarse, middle, fine")
    _add_condition_args(p)
    _add_truncation_args(p)
    p.add_argument("--out", required=True, help="output PNG")
    _add_max_images_arg(p)
    _add_precision_arg(p)
    p.set_defaults(func=cmd_mix)

    p = sub.add_parser("train", help="train a model; the run directory holds everything (resumes by itself)")
    p.add_argument("--run-dir", required=True, help="run directory (created, or resumed if it holds a run)")
    p.add_argument("--family", default=None, metavar="FAMILY",
                   help="; ".join(f"{name} ({what})" for name, what in FAMILY_HELP.items()) +
                        ". Not needed to resume")
    p.add_argument("--data", default=None, help="folder, .zip, faces:64, digits, lfw_subset")
    p.add_argument("--data-b", default=None, help="second domain (cyclegan)")
    p.add_argument("--resolution", type=int, default=0,
                   help="0: N of faces:N, else the family default (a folder is resized to it)")
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
    p.add_argument("--start-resolution", type=int, default=8, help="pggan: resolution to start at (doubles)")
    p.add_argument("--phase-kimg", type=float, default=0, help="pggan: kimg per resolution once faded in (0: default)")
    p.add_argument("--fade-kimg", type=float, default=0, help="pggan: kimg of each fade-in (0: default)")
    p.add_argument("--condition", default="",
                   help="class (labels from sub-folders) or factors:glasses,smile (procedural faces); default none")
    p.add_argument("--metrics", default="", help="evaluate at each snapshot: comma list of fd, kid, pr, ppl, nn")
    p.add_argument("--metrics-num", type=int, default=None,
                   help="generated samples per evaluation (default 2000, or what the resumed run used)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.add_argument("--restart", action="store_true",
                   help="start over: move an existing run in --run-dir aside (to RUN.old-N) first")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("dataset", help="make or inspect a dataset")
    dsub = p.add_subparsers(dest="dataset_command", required=True)
    q = dsub.add_parser("faces", help="write the procedural faces dataset (PNGs + factors)")
    q.add_argument("--count", type=int, default=20000, help="number of faces (default 20000)")
    q.add_argument("--resolution", type=int, default=64, help="16 to 512 px (default 64)")
    q.add_argument("--seed", type=int, default=0, help="the same seed gives the same bytes")
    q.add_argument("--out", required=True, help="a .zip file or a folder")
    q.set_defaults(func=cmd_dataset_faces)
    q = dsub.add_parser("inspect", help="counts, sizes, modes, skipped files; a preview grid with --preview")
    q.add_argument("path", help="folder, .zip, faces:64, digits or lfw_subset")
    q.add_argument("--resolution", type=int, default=None,
                   help="preview resolution (default: N for faces:N, else 64)")
    q.add_argument("--preview", default=None, metavar="OUT.png",
                   help="also write a preview grid to this PNG (default: no file is written)")
    q.add_argument("--count", type=int, default=64, help="images in the preview grid (1 to 1024)")
    q.set_defaults(func=cmd_dataset_inspect)

    p = sub.add_parser("bench", help="run a benchmark and print its figures")
    p.add_argument("name", nargs="?", default="synthesis", help="benchmark name (default: synthesis)")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--fixture", default=None, metavar="PATH",
                   help="stylegan3: the StyleGAN3 pickle to measure (default: the checkout's "
                        "tests/fixtures/stylegan_official/sg3t_64.pkl)")
    p.set_defaults(func=cmd_bench)

    from gan_explorer.commands import register_all

    register_all(sub)
    return parser


def _show(value) -> str:
    """A path or name from the user, safe to print (control characters and stray bytes escaped)."""
    from gan_explorer.core.errors import escape_text

    return escape_text(str(value), 400)


def _finite(flag: str, value: float) -> float:
    from gan_explorer.core.generate import check_finite

    return check_finite(flag, value)


def _in_range(flag: str, value, low: int, high: int):
    from gan_explorer.core.errors import ConfigError

    if value is not None and not low <= value <= high:
        raise ConfigError(f"{flag} {value}: must be from {low} to {high}")
    return value


def _max_images(args) -> int:
    from gan_explorer.core.generate import MAX_SEEDS

    return _in_range("--max-images", args.max_images, 1, 10**9) or MAX_SEEDS


def _check_truncation(args):
    _finite("--truncation-psi", args.truncation_psi)
    _in_range("--truncation-cutoff", args.truncation_cutoff, 0, 1024)


def cmd_new(args):
    import torch

    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model

    options = _parse_key_values(args.option, "--option")
    if args.resolution is not None:
        options["img_resolution"] = args.resolution
    if args.channels is not None:
        options["img_channels"] = args.channels
    _in_range("--seed", args.seed, 0, 2**63 - 1)
    torch.manual_seed(args.seed)
    model = build_model(args.family, **options)
    save_model(model, args.out, provenance={"created_by": "gan-explorer new", "init_seed": args.seed})
    print(f"wrote {_show(args.out)}: {args.family}, {model.img_resolution} px, {model.num_parameters():,} parameters")


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

    info = model_info(open_model(args.model, truncation_latent=args.truncation_latent))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return
    print(_show(args.model))
    for key in ("family", "img_resolution", "img_channels", "z_dim", "w_dim", "num_ws", "parameters"):
        if key in info:
            value = info[key]
            print(f"  {key:15s} {value:,}" if isinstance(value, int) else f"  {key:15s} {value}")
    caps = [k for k, v in info["capabilities"].items() if v]
    print(f"  {'capabilities':15s} {', '.join(caps) or '-'}")
    config = info.get("config") or {}
    if config.get("c_dim"):  # a conditional model: what --class / --condition take
        names = config.get("c_names") or [f"class {i}" for i in range(config["c_dim"])]
        shown = ", ".join(_show(name) for name in names[:12]) + (", ..." if len(names) > 12 else "")
        print(f"  {'condition':15s} {_show(config.get('c_kind', 'class'))} ({config['c_dim']}): {shown}")
    print(f"  {'config':15s} {json.dumps(info['config'])}")
    print(f"  {'provenance':15s} {json.dumps(info['provenance'])}")


def _open(args):
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.io.models import open_model

    return open_model(args.model, device=resolve_device(args.device), truncation_latent=args.truncation_latent)


def cmd_import(args):
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.io.models import open_model

    from gan_explorer.core.io.atomic import check_output_path

    check_output_path(args.out)
    model = open_model(args.source, truncation_latent=args.truncation_latent)
    save_model(model, args.out, provenance=getattr(model, "provenance", {}))
    print(f"wrote {_show(args.out)}: {model.family}, {model.img_resolution} px, num_ws {model.num_ws}")


def _apply_transform(model, args):
    from gan_explorer.core.errors import ConfigError, quote

    _finite("--rotate", args.rotate)
    if args.translate is None and not args.rotate:
        return
    try:
        tx, ty = (float(v) for v in (args.translate or "0,0").split(","))
    except ValueError:
        raise ConfigError(f"--translate {quote(args.translate, 60)}: expected X,Y such as 0.1,-0.2") from None
    _finite("--translate", tx)
    _finite("--translate", ty)
    if not model.capabilities.has_transform:
        raise ConfigError(f"--translate/--rotate need a StyleGAN3 model, this is {model.family}")
    model.set_transform((tx, ty), args.rotate)


def _add_condition_args(p):
    p.add_argument("--class", dest="class_", default=None, metavar="N",
                   help="conditional models: the class, by index or name (default: class 0)")
    p.add_argument("--condition", default=None, metavar="NAME=VALUE,...",
                   help="conditional models: factor values, e.g. glasses=1,smile=0.8 (others at their "
                        "defaults), or a class")


def _condition(args, model):
    """c [c_dim] from --class / --condition, or None; and what the PNG metadata says about it."""
    from gan_explorer.core.generate import condition_from_text

    c = condition_from_text(model, args.class_, args.condition)
    if c is None:
        return None, {}
    return c, {"condition": {"text": args.class_ if args.class_ is not None else args.condition,
                             "c": [float(v) for v in c.tolist()]}}


def _add_precision_arg(p):
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bf16: faster where the CPU has it natively (AVX512-BF16/AMX; elsewhere fp32, "
                        "said on stderr), within a few 8-bit levels of fp32 (default fp32)")


def _precision(args, model) -> str:
    """The precision --precision asks for, or fp32 (said on stderr) where bf16 is not native."""
    from gan_explorer.core.backends.precision import resolve_precision

    precision, note = resolve_precision(args.precision, model._device())
    if note:
        print(f"note: {note}", file=sys.stderr)
    return precision


def cmd_generate(args):
    from gan_explorer.core.generate import parse_seeds, render_ws, require_latent_model, ws_for_seeds
    from gan_explorer.core.io.atomic import check_output_path
    from gan_explorer.core.io.images import make_grid, save_image
    from gan_explorer.core.latent.files import load_latent
    from gan_explorer.core.latent.state import LatentState
    from gan_explorer.core.synthesis_edits import synthesis_edits

    _check_truncation(args)
    _in_range("--cols", args.cols, 1, 4096)
    _in_range("--noise-seed", args.noise_seed, 0, 2**63 - 1)
    limit = _max_images(args)
    seeds = None if args.latent else parse_seeds(args.seeds, limit)  # before the model: a typo fails fast
    if args.out:
        check_output_path(args.out)
    elif Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        from gan_explorer.core.errors import OutputError
        raise OutputError(f"--out-dir {_show(args.out_dir)}: exists and is not a folder")
    model = _open(args)
    require_latent_model(model)
    _apply_transform(model, args)
    provenance = _picture_provenance(args, model) if args.latent else None
    if args.blend_with:
        _open_blend_partner(model, args.blend_with)
    args.noise_mode = args.noise_mode or "const"
    c, condition_info = _condition(args, model)
    if args.latent and c is not None:
        from gan_explorer.core.errors import ConfigError
        raise ConfigError("--latent holds ws, which already carry their condition: --class / --condition "
                          "apply to --seeds")
    if args.latent:
        ws = load_latent(args.latent, model.num_ws, model.w_dim, max_count=limit)
        names = [f"latent{i:04d}" for i in range(len(ws))]
    else:
        ws = None
        names = [f"seed{s:04d}" for s in seeds]
    edited = provenance.state if provenance is not None else LatentState()
    precision = _precision(args, model)
    # Rendered a batch at a time; with --out-dir each image is written as it comes, so memory stays
    # that of one batch however many seeds were asked for.
    batch, kept = 8, []
    for start in range(0, len(names), batch):
        chunk = ws[start:start + batch] if ws is not None else \
            ws_for_seeds(model, seeds[start:start + batch], args.truncation_psi, args.truncation_cutoff, c)
        with synthesis_edits(model, edited):  # a picture's S edits, bends, tuning or blend
            images = render_ws(model, chunk, noise_mode=args.noise_mode, noise_seed=args.noise_seed + start,
                               precision=precision)
        if args.out_dir:
            for i, (name, image) in enumerate(zip(names[start:start + batch], images)):
                info = _export_info(args, model, seeds[start + i] if seeds else None,
                                    chunk[i].cpu().numpy(), provenance, **condition_info)
                save_image(Path(args.out_dir) / f"{name}.png", image, pnginfo=info)
        else:
            kept.append((images, chunk.cpu().numpy()))
    if args.out_dir:
        print(f"wrote {len(names)} images to {_show(args.out_dir)}")
        return
    import numpy as np

    images = np.concatenate([k[0] for k in kept])
    if len(images) == 1:
        info = _export_info(args, model, seeds[0] if seeds else None, kept[0][1][0], provenance, **condition_info)
    else:
        info = _export_info(args, model, None, None, provenance, seeds=seeds or None, grid_cols=args.cols,
                            **condition_info)
    save_image(args.out, images[0] if len(images) == 1 else make_grid(images, args.cols), pnginfo=info)
    print(f"wrote {_show(args.out)} ({len(images)} image{'s' if len(images) > 1 else ''})")


def _open_blend_partner(model, path):
    """--blend-with: the partner a blended picture's state names, by its file's identity."""
    from gan_explorer.core.io.identity import file_identity
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.models.blend import check_partner, open_partner

    other = open_model(path, device=str(model._device()))
    check_partner(model, other)
    open_partner(file_identity(path), other)


def _picture_provenance(args, model):
    """`--latent picture.png`: the provenance an exported PNG carries; its noise mode and seed are
    used unless given, so the re-render is the same image. A picture of another model is said."""
    if Path(args.latent).suffix.lower() != ".png":
        return None
    from gan_explorer.core.explorer.provenance import read_picture_provenance
    from gan_explorer.core.io.identity import file_identity as file_content_hash

    provenance = read_picture_provenance(args.latent)
    if provenance is None:
        return None
    if args.noise_mode is None:
        args.noise_mode, args.noise_seed = provenance.state.noise_mode, provenance.state.noise_seed
    if provenance.model_hash and Path(args.model).is_file() and \
            provenance.model_hash != file_content_hash(args.model):
        print(f"warning: {_show(args.latent)} was made with {_show(provenance.model_name)} "
              f"(sha256 {provenance.model_hash[:12]}), not this model", file=sys.stderr)
    return provenance


def _export_info(args, model, seed, ws, provenance=None, **extra):
    """The PNG text chunk of a CLI export: the model, the app, the latent (as the window writes it)."""
    from gan_explorer.core.explorer.provenance import export_metadata
    from gan_explorer.core.io.identity import file_identity as file_content_hash
    from gan_explorer.core.explorer.state import LatentState
    from gan_explorer.core.io.images import png_info

    if provenance is not None and ws is not None:
        state = provenance.state
    elif seed is not None:  # with its class / factors, so the picture dropped on the window restores them
        condition = tuple(extra.get("condition", {}).get("c", ()))
        state = LatentState(seed=int(seed), truncation_psi=args.truncation_psi,
                            truncation_cutoff=args.truncation_cutoff, noise_mode=args.noise_mode,
                            noise_seed=args.noise_seed, condition=condition)
    else:
        state = LatentState(ws=tuple(map(tuple, ws.tolist())), noise_mode=args.noise_mode,
                            noise_seed=args.noise_seed) if ws is not None else LatentState()
    if not hasattr(args, "model_sha256"):  # once per command: hashing a 120 MB model took 0.2 s per image
        args.model_sha256 = file_content_hash(args.model) if Path(args.model).is_file() else ""
    content_hash = args.model_sha256
    return png_info(export_metadata(Path(args.model).name, content_hash, state, ws,
                                    command=f"gan-explorer {args.command}", **extra))


def cmd_mix(args):
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.generate import parse_seeds, require_style_mixing, style_mixing_figure
    from gan_explorer.core.io.atomic import check_output_path
    from gan_explorer.core.io.images import save_image
    from gan_explorer.core.latent.ops import parse_layers

    _check_truncation(args)
    limit = _max_images(args)
    rows, cols = parse_seeds(args.rows, limit), parse_seeds(args.cols, limit)
    if len(rows) * len(cols) > limit:
        raise ConfigError(f"--rows x --cols: {len(rows) * len(cols):,} images, more than {limit:,}; "
                          f"pass --max-images N to allow more")
    check_output_path(args.out)
    model = _open(args)
    require_style_mixing(model)
    layers = parse_layers(args.layers, model.num_ws)
    args.noise_mode = args.noise_mode or "const"
    args.noise_seed = 0
    c, condition_info = _condition(args, model)
    figure = style_mixing_figure(model, rows, cols, layers, args.truncation_psi, args.truncation_cutoff,
                                 args.noise_mode, c=c, precision=_precision(args, model))
    save_image(args.out, figure, pnginfo=_export_info(args, model, None, None, mixing={
        "rows": rows, "cols": cols, "layers": list(layers), "truncation_psi": args.truncation_psi},
        **condition_info))
    print(f"wrote {_show(args.out)} (layers {layers} from the column seeds)")


def _parse_key_values(items, flag):
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            from gan_explorer.core.errors import ConfigError
            from gan_explorer.core.errors import quote
            raise ConfigError(f"{flag} {quote(item, 80)}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except RecursionError:
            from gan_explorer.core.errors import ConfigError
            raise ConfigError(f"{flag} {key}: the value is nested too deeply") from None
        except ValueError:
            options[key] = value
    return options


def _ending_word(run_dir, status: str) -> str:
    """'stopped' when the run ended on the user's Stop (the loop says 'aborted' for any early end)."""
    from gan_explorer.core.training.monitor import ending_of
    from gan_explorer.core.training.run_dir import read_jsonl

    if status != "aborted":
        return status
    events = read_jsonl(Path(run_dir) / "events.jsonl")
    return (ending_of(events[-1]) if events else None) or status


def cmd_train(args):
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.metrics.evaluate import parse_metrics
    from gan_explorer.core.training.loop import training_loop
    from gan_explorer.core.training.options import TrainingOptions
    from gan_explorer.core.training.run_dir import load_run_options

    saved = load_run_options(args.run_dir)
    if args.family is None or args.data is None:
        if saved is None:
            raise ConfigError(f"{_show(args.run_dir)} holds no run yet: give --family and --data")
        # Resume exactly what options.json says; only the length, the cadence and the machine may change.
        options = saved.replace(kimg=args.kimg or saved.kimg, device=args.device, workers=args.workers,
                                tick_kimg=args.tick_kimg or saved.tick_kimg,
                                snapshot_ticks=args.snapshot_ticks or saved.snapshot_ticks,
                                progress=not args.no_progress,
                                metrics=parse_metrics(args.metrics) if args.metrics else saved.metrics,
                                metrics_num=args.metrics_num or saved.metrics_num)
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
            metrics=parse_metrics(args.metrics) if args.metrics else (),
            metrics_num=args.metrics_num or TrainingOptions.metrics_num,
            start_resolution=args.start_resolution, phase_kimg=args.phase_kimg, fade_kimg=args.fade_kimg,
            condition=args.condition)
    status = training_loop(args.run_dir, options, restart=args.restart)
    print(f"training {_ending_word(args.run_dir, status)}: {_show(args.run_dir)}")


def cmd_dataset_faces(args):
    from gan_explorer.core.data.faces import MAX_RESOLUTION, MIN_RESOLUTION
    from gan_explorer.core.data.writer import write_faces
    from gan_explorer.core.errors import ConfigError

    if not MIN_RESOLUTION <= args.resolution <= MAX_RESOLUTION:
        raise ConfigError(f"--resolution {args.resolution}: must be from {MIN_RESOLUTION} to {MAX_RESOLUTION}")
    if args.count < 1:
        raise ConfigError(f"--count {args.count}: must be at least 1")
    _in_range("--seed", args.seed, 0, 2**32 - 1)
    write_faces(args.out, args.count, args.resolution, seed=args.seed, progress=True)
    print(f"wrote {args.count} faces at {args.resolution} px to {_show(args.out)} (seed {args.seed})")


def cmd_dataset_inspect(args):
    from gan_explorer.core.data import open_dataset, preview_images
    from gan_explorer.core.data.folder import MAX_RESOLUTION
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.io.atomic import check_output_path
    from gan_explorer.core.io.images import make_grid, save_image
    from gan_explorer.core.training.options import check_data_spec

    check_data_spec(str(args.path))
    name, sep, arg = str(args.path).partition(":")
    resolution = args.resolution
    if resolution is None:
        resolution = int(arg) if name == "faces" and sep else 64  # faces:32 previews at its own 32 px
    _in_range("--resolution", resolution, 1, MAX_RESOLUTION)
    _in_range("--count", args.count, 1, 1024)
    if name == "faces" and sep and int(arg) != resolution:
        raise ConfigError(f"{_show(args.path)}: resolution {arg} differs from --resolution {resolution}")
    preview = args.preview  # a file only when asked for: inspecting never writes by itself
    if preview:
        check_output_path(preview)  # before the dataset is read: a link or a folder fails fast
    dataset = open_dataset(args.path, resolution)
    report = getattr(dataset, "report", None)
    print(_show(args.path))
    endless = getattr(dataset, "count", 0) is None
    print(f"  images used     {'endless (seeded)' if endless else f'{len(dataset):,}'}")
    if report is not None:
        print(f"  skipped         {len(report.skipped)}")
        for skipped, reason in report.skipped[:20]:
            print(f"    {_show(skipped)}: {_show(reason)}")
        if len(report.skipped) > 20:
            print(f"    ... and {len(report.skipped) - 20} more")
        print(f"  ignored         {report.ignored} (not images by suffix)")
        sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in report.sizes.most_common(5))
        print(f"  sizes           {sizes}" + (f" and {len(report.sizes) - 5} more" if len(report.sizes) > 5 else ""))
        print(f"  modes           {', '.join(f'{m} ({n})' for m, n in report.modes.most_common())}")
    classes = getattr(dataset, "class_names", [])
    if classes:
        shown = ", ".join(_show(c) for c in classes[:10])
        print(f"  classes         {len(classes)}: {shown}{' ...' if len(classes) > 10 else ''}")
    if preview:
        save_image(preview, make_grid(preview_images(dataset, args.count)))  # atomic; refuses links
        print(f"  preview         {_show(preview)}")


def cmd_bench(args):
    from gan_explorer.bench import run_benchmark

    results = run_benchmark(args.name, quick=args.quick, fixture=args.fixture)
    if args.json:
        from gan_explorer.core.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2))  # refuses links, FIFOs, devices


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
    # --no-watermark, anywhere on the line: this run's exports carry no invisible mark (their
    # provenance and Content Credentials say so); the choice ends with the run.
    from gan_explorer.core.trust.settings import set_watermark_enabled

    if "--no-watermark" in argv:
        argv = [a for a in argv if a != "--no-watermark"]
        set_watermark_enabled(False)
    try:
        return _main(argv)
    finally:
        set_watermark_enabled(None)


def _main(argv) -> int:
    if _wants_gui(argv):
        from gan_explorer.gui.app import run_gui

        return run_gui(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    import logging

    from gan_explorer.core.errors import GanExplorerError, Terminated, escape_text

    for stream in (sys.stdout, sys.stderr):
        try:  # a file name that is not UTF-8 must print as an escape, never raise UnicodeEncodeError
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    try:
        args.func(args)
        exit_code = getattr(args, "exit_code", 0)  # a command whose outcome is its exit code (verify) sets it
    except GanExplorerError as exc:
        print(f"gan-explorer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the command could not read or write: the name and the reason
        where = f"{escape_text(str(exc.filename), 400)}: " if exc.filename else ""
        print(f"gan-explorer {args.command}: error: {where}{escape_text(exc.strerror or str(exc), 300)}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gan-explorer {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"gan-explorer {args.command}: terminated", file=sys.stderr)
        return 143
    return exit_code
