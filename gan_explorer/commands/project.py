"""`gan-explorer project MODEL photo.jpg --space w+ --steps 500 --out photo.npy`: a picture's latent.

`gan-explorer project --train-encoder MODEL` trains the learned first guess and saves it beside
the model (keyed by its content hash); later projections find it by themselves.
The saved .npy re-renders with `gan-explorer generate MODEL --latent photo.npy`.
A folder of pictures projects in batches (`--batch`, each picture ends where it would alone) and
`--out` is then a folder of one .npy per picture.
`--tune` keeps the likeness (pivotal tuning, core/latent/tuning.py): a W projection is the pivot,
then the synthesis weights are tuned for `--tune-steps`; the tuning is stored in the data folder
and the `--out-image` PNG carries it, so `generate --latent result.png` re-renders it anywhere.
"""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("project", help="project a picture into a model's latent space (or --train-encoder)")
    p.add_argument("model", help="model file: .safetensors, NVIDIA .pkl or rosinality .pt")
    p.add_argument("picture", nargs="?", default=None,
                   help="the picture (PNG, JPEG, WebP or BMP), or a folder of them")
    p.add_argument("--out", default=None,
                   help="the latent: .npy (ws [1, num_ws, w_dim]) or .json; for a folder, a folder of NAME.npy")
    p.add_argument("--batch", type=int, default=None,
                   help="a folder's pictures projected together per batch (default 16, fewer for models above "
                        "512 px; the same answers, "
                        "less time per picture)")
    p.add_argument("--space", default=None, choices=["w", "w+", "z"],
                   help="w: one w for every layer; w+: one per layer (default; w with --tune); z: through the mapping")
    p.add_argument("--steps", type=int, default=500, help="optimisation steps (default 500)")
    p.add_argument("--loss", default="auto", choices=["auto", "l2", "l1", "structural", "perceptual"],
                   help="auto (perceptual where the feature network is shipped, else structural), l2, l1, "
                        "structural (L1 + MS-SSIM + gradients), perceptual (L2 + feature network)")
    p.add_argument("--noise", default="const", choices=["const", "optimize"],
                   help="StyleGAN noise: const (the model's, so the latent re-renders exactly; default) or "
                        "optimize (sharper, saved to OUT.noise.npz; generate --latent renders without it)")
    p.add_argument("--crop", default=None, metavar="L,T,R,B",
                   help="crop box in pixels of the picture (default: the centred square)")
    p.add_argument("--encoder", default="auto",
                   help="auto (the encoder trained for this model, if any), none, or an encoder file")
    p.add_argument("--out-image", default=None,
                   help="also write the reconstruction (as generate --latent renders it); for a folder, a folder")
    p.add_argument("--out-framed", default=None,
                   help="also write the photo at its own size with the modelled square replaced by the "
                        "reconstruction (one picture)")
    p.add_argument("--tune", action="store_true",
                   help="keep the likeness: pivotal tuning of the weights after a W projection (the pivot); "
                        "the tuning is stored in the data folder and carried by the --out-image PNG")
    p.add_argument("--tune-steps", type=int, default=300, help="pivotal tuning steps (default 300)")
    p.add_argument("--video", default=None, help="write the optimisation as .mp4/.gif: target | reconstruction")
    p.add_argument("--video-frames", type=int, default=100, help="frames in --video (default 100)")
    p.add_argument("--json", default=None, help="also write PSNR, loss and timings as JSON")
    p.add_argument("--seed", type=int, default=0, help="seed of the w noise and the z candidates")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    g = p.add_argument_group("learned initialisation")
    g.add_argument("--train-encoder", action="store_true",
                   help="train the encoder for MODEL (image -> ws, on pairs the model makes) and save it")
    g.add_argument("--encoder-steps", type=int, default=3000, help="encoder training steps (default 3000)")
    g.add_argument("--encoder-batch", type=int, default=32, help="pairs per encoder step (default 32)")
    g.add_argument("--encoder-out", default=None,
                   help="where to save it (default: beside the model, MODEL.encoder-HASH.safetensors)")
    p.set_defaults(func=cmd_project)


def _tqdm(total: int, desc: str, disable: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=disable, unit="step")


def _bar_progress(bar):
    """A `progress(step, total, loss, preview)` callback that moves `bar` (the loss every 10 steps)."""
    def progress(step, total, loss, preview):
        bar.n = step
        if step % 10 == 0 or step == total:
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.refresh()
    return progress


def cmd_project(args):
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.io.models import open_model

    if args.train_encoder:
        if args.picture is not None:
            raise ConfigError("--train-encoder takes only MODEL; project a picture in a second command")
        model = open_model(args.model, device=resolve_device(args.device))
        return _train_encoder(args, model)
    if args.picture is None or args.out is None:
        raise ConfigError("project needs MODEL PICTURE --out LATENT.npy (or --train-encoder MODEL)")
    if not 1 <= args.steps <= 1_000_000:
        raise ConfigError(f"--steps {args.steps}: must be from 1 to 1000000")
    if args.tune and args.space not in (None, "w"):
        raise ConfigError(f"--tune starts from a W projection (the pivot): leave out --space {args.space} "
                          f"or pass --space w")
    if args.tune and not 1 <= args.tune_steps <= 100_000:
        raise ConfigError(f"--tune-steps {args.tune_steps}: must be from 1 to 100000")
    args.space = args.space or ("w" if args.tune else "w+")
    crop = _parse_crop(args.crop)
    if Path(args.picture).is_dir():
        pictures = _folder_pictures(args)
        model = open_model(args.model, device=resolve_device(args.device))
        return _project_folder(args, model, pictures)
    _check_outputs(args)
    model = open_model(args.model, device=resolve_device(args.device))
    _project(args, model, crop)


def _check_outputs(args):
    """Every file one projection writes, refused before anything slow where it is a link, a FIFO,
    a device or a folder (the writes refuse them too: this only says so at once)."""
    from gan_explorer.core.io.atomic import check_output_path

    noise = Path(args.out).with_suffix(".noise.npz") if args.noise == "optimize" else None
    for path in (args.out, args.out_image, args.out_framed, args.json, noise):
        if path is not None:
            check_output_path(path)


def _parse_crop(text):
    if text is None:
        return None
    from gan_explorer.core.errors import ConfigError

    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4:
        raise ConfigError(f"--crop {text!r}: expected LEFT,TOP,RIGHT,BOTTOM in pixels, e.g. 40,0,440,400")
    return box


def _folder_pictures(args) -> list[Path]:
    from gan_explorer.core.errors import ConfigError, escape_text
    from gan_explorer.core.io.pictures import PICTURE_SUFFIXES

    folder = Path(args.picture)
    for flag, value in (("--crop", args.crop), ("--video", args.video), ("--out-framed", args.out_framed)):
        if value is not None:
            raise ConfigError(f"{flag} applies to one picture, not to the folder {escape_text(str(folder), 300)}")
    if args.batch is not None and not 1 <= args.batch <= 4096:
        raise ConfigError(f"--batch {args.batch}: must be from 1 to 4096")
    from gan_explorer.core.latent.projection import folder_pictures

    pictures = folder_pictures(folder, PICTURE_SUFFIXES)  # capped while listing
    if not pictures:
        raise ConfigError(f"{escape_text(str(folder), 300)}: no pictures (looked for "
                          f"{', '.join(sorted(PICTURE_SUFFIXES))})")
    for flag, value in (("--out", args.out), ("--out-image", args.out_image)):
        if value is not None and Path(value).exists() and not Path(value).is_dir():
            raise ConfigError(f"{flag} {escape_text(value, 300)}: a file; a folder of pictures needs a folder here")
    return pictures


def _output_names(pictures) -> list[str]:
    """Each picture's stem; the whole name where two pictures share a stem (a.png, a.jpg)."""
    stems = [p.stem for p in pictures]
    return [p.stem if stems.count(p.stem) == 1 else p.name.replace(".", "_") for p in pictures]


def _resolve_encoder(args, model):
    from gan_explorer.core.latent.encoder import find_encoder, load_encoder

    if args.encoder == "auto":
        return find_encoder(model, args.model)
    if args.encoder != "none":
        return load_encoder(args.encoder, model)
    return None


def _project_folder(args, model, pictures):
    import numpy as np
    import torch

    from gan_explorer.core.generate import render_ws, require_latent_model
    from gan_explorer.core.io.images import save_image
    from gan_explorer.core.latent.files import load_latent, save_latent, save_noise
    from gan_explorer.core.latent.losses import psnr_uint8
    from gan_explorer.core.latent.projection import check_batch, check_pictures, largest_batch, load_target, project

    require_latent_model(model)
    # Every picture is checked before anything slow (an unreadable one is one line at once) and
    # decoded a batch at a time: memory holds one batch, however many pictures the folder has.
    check_pictures(pictures)
    size = args.batch or min(16, largest_batch(model.img_resolution))
    check_batch(min(size, len(pictures)), model.img_resolution)
    names = _output_names(pictures)
    encoder = _resolve_encoder(args, model)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    image_dir = Path(args.out_image) if args.out_image else None
    if image_dir is not None:
        image_dir.mkdir(parents=True, exist_ok=True)
    report, values = [], []
    for start in range(0, len(pictures), size):
        batch = slice(start, start + size)
        bar = _tqdm(args.steps, f"project {start + 1}-{min(start + size, len(pictures))}/{len(pictures)}",
                    args.no_progress)
        progress = _bar_progress(bar)
        try:
            targets = torch.cat([load_target(p, model.img_resolution, model.img_channels) for p in pictures[batch]])
            result = project(model, targets, space=args.space, steps=args.steps, loss=args.loss,
                             noise=args.noise, encoder=encoder, progress=progress, seed=args.seed, preview_every=0)
        finally:
            bar.close()
        for i, (picture, name) in enumerate(zip(pictures[batch], names[batch])):
            out = out_dir / f"{name}.npy"
            save_latent(out, torch.from_numpy(result.ws[i:i + 1]))
            tuned = _tune(args, model, targets[i:i + 1], result.ws[i:i + 1], picture.name) if args.tune else None
            rendered, info = _rendered(args, model, out, tuned)
            value = psnr_uint8(rendered, result.target[i])
            values.append(value)
            if image_dir is not None:
                save_image(image_dir / f"{name}.png", rendered, pnginfo=info)
            if result.noise is not None:
                save_noise(out.with_suffix(".noise.npz"), [n[i] for n in result.noise])
            print(f"wrote {out}: {picture.name}, PSNR {value:.2f} dB (start {float(result.start_psnr[i]):.2f} dB)"
                  + (f"; tuned from a pivot of {tuned[1].pivot_psnr:.2f} dB, tuning {tuned[0]}" if tuned else ""))
            report.append({"picture": str(picture), "latent": str(out), "psnr": value,
                           **({"tuning": str(tuned[0]), "pivot_psnr": tuned[1].pivot_psnr} if tuned else {}),
                           "psnr_with_noise": float(result.psnr[i]), "start_psnr": float(result.start_psnr[i]),
                           "seconds_batch": result.seconds})
    print(f"projected {len(pictures)} pictures into {args.space} in {args.steps} steps (loss {result.loss}, "
          f"start {result.start}): median PSNR {float(np.median(values)):.2f} dB")
    if args.json:
        from gan_explorer.commands.map import write_json

        write_json(args.json, {"space": args.space, "steps": args.steps, "loss": result.loss,
                               "start": result.start, "pictures": report})


def _train_encoder(args, model):
    from gan_explorer.core.latent.encoder import (
        EncoderTrainingConfig, save_encoder, save_encoder_beside, train_encoder,
    )

    config = EncoderTrainingConfig(steps=args.encoder_steps, batch=args.encoder_batch, seed=args.seed)
    bar = _tqdm(config.steps, "encoder", args.no_progress)

    def progress(step, total, loss):
        bar.n = step
        if step % 10 == 0 or step == total:
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.refresh()
    try:
        encoder, report = train_encoder(model, config, progress=progress)
    finally:
        bar.close()
    if args.encoder_out:
        path = save_encoder(encoder, args.encoder_out, model, report)
    else:
        path = save_encoder_beside(encoder, model, args.model, report)
    print(f"wrote {path}: on {report['held_out_pairs']} held-out samples its guess renders at a median "
          f"{report['held_out_median_psnr']:.1f} dB PSNR (w_avg: {report['w_avg_median_psnr']:.1f} dB), "
          f"trained in {report['seconds']:.0f} s")
    if args.json:
        from gan_explorer.commands.map import write_json

        write_json(args.json, {"encoder": str(path), **report})


def _project(args, model, crop):
    import numpy as np
    import torch

    from gan_explorer.core.generate import render_ws, require_latent_model
    from gan_explorer.core.io.images import save_image, to_uint8
    from gan_explorer.core.latent.files import load_latent, save_latent, save_noise
    from gan_explorer.core.latent.losses import psnr_uint8
    from gan_explorer.core.latent.projection import load_target, project

    require_latent_model(model)
    # Read the picture before anything slow: an unreadable one is one line at once.
    target = load_target(args.picture, model.img_resolution, model.img_channels, crop)
    encoder = _resolve_encoder(args, model)
    stride = max(1, args.steps // max(1, args.video_frames)) if args.video else 0
    frames = []
    bar = _tqdm(args.steps, "project", args.no_progress)
    target_uint8 = to_uint8(target)[0]

    def progress(step, total, loss, preview):
        bar.n = step
        if step % 10 == 0 or step == total:
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.refresh()
        if preview is not None and args.video:
            frames.append(np.concatenate([target_uint8, preview], axis=1))
    try:
        result = project(model, target, space=args.space, steps=args.steps, loss=args.loss, noise=args.noise,
                         encoder=encoder, progress=progress, seed=args.seed, preview_every=stride)
    finally:
        bar.close()
    ws = torch.from_numpy(result.ws)
    save_latent(args.out, ws)
    tuned = _tune(args, model, target, result.ws, Path(args.picture).name) if args.tune else None
    # What generate --latent renders: the saved file read back, rendered the same way.
    rendered, info = _rendered(args, model, args.out, tuned)
    rendered_psnr = psnr_uint8(rendered, result.target[0])
    if args.out_image:
        save_image(args.out_image, rendered, pnginfo=info)
    if args.out_framed:
        from gan_explorer.core.latent.framing import at_photo_framing

        save_image(args.out_framed, at_photo_framing(args.picture, rendered, crop))
    if result.noise is not None:
        noise_path = Path(args.out).with_suffix(".noise.npz")
        save_noise(noise_path, [n[0] for n in result.noise])
    if args.video:
        from gan_explorer.core.io.video import export_frames

        frames.append(np.concatenate([target_uint8, rendered], axis=1))
        scale = max(1, 256 // model.img_resolution)
        frames = [np.kron(f, np.ones((scale, scale, 1), np.uint8)) for f in frames]
        export_frames(frames, args.video, fps=15)
    line = (f"wrote {args.out}: {args.space} in {result.steps} steps ({result.seconds:.1f} s, loss {result.loss}, "
            f"start {result.start}), PSNR {rendered_psnr:.2f} dB (start {float(result.start_psnr[0]):.2f} dB)")
    if tuned is not None:
        line += (f"; W pivot {tuned[1].pivot_psnr:.2f} dB, tuned in {tuned[1].steps} steps ({tuned[1].seconds:.1f} s) "
                 f"to {rendered_psnr:.2f} dB, tuning {tuned[0]} ({tuned[1].stored_bytes / 1024:.0f} KB)")
    if result.noise is not None:
        line += (f"; with the optimised noise ({Path(args.out).with_suffix('.noise.npz')}) "
                 f"{float(result.psnr[0]):.2f} dB")
    print(line)
    if args.json:
        from gan_explorer.commands.map import write_json

        write_json(args.json, {
            "picture": str(args.picture), "space": args.space, "steps": result.steps, "loss": result.loss,
            "start": result.start, "seconds": result.seconds, "psnr": rendered_psnr,
            "psnr_with_noise": float(result.psnr[0]), "start_psnr": float(result.start_psnr[0]),
            **({"tuning": str(tuned[0]), "pivot_psnr": tuned[1].pivot_psnr, "tune_seconds": tuned[1].seconds,
                "tuning_bytes": tuned[1].stored_bytes} if tuned else {}),
            "loss_history": result.loss_history[:, 0].tolist(), "psnr_history": result.psnr_history[:, 0].tolist(),
        })


def _tune(args, model, target, pivot, name: str):
    """(stored file, TuningResult) of the pivotal tuning of one picture (core/latent/tuning.py)."""
    from gan_explorer.core.latent.tuning import save_tuning, tune

    bar = _tqdm(args.tune_steps, f"tune {name}"[:40], args.no_progress)
    try:
        result = tune(model, target, pivot, steps=args.tune_steps, seed=args.seed, progress=_bar_progress(bar),
                      preview_every=0)
    finally:
        bar.close()
    return save_tuning(result.tuning), result


def _rendered(args, model, latent_path, tuned):
    """(the image `generate --latent` renders from the saved latent, through the tuning where there
    is one; the PNG provenance that re-renders it: the state, its ws and the tuning it carries)."""
    from gan_explorer.core.generate import render_ws
    from gan_explorer.core.io.identity import model_identity
    from gan_explorer.core.io.images import png_info
    from gan_explorer.core.latent.files import load_latent
    from gan_explorer.core.latent.provenance import export_metadata
    from gan_explorer.core.latent.state import LatentState
    from gan_explorer.core.synthesis_edits import synthesis_edits

    ws = load_latent(latent_path, model.num_ws, model.w_dim)
    state = LatentState(ws=tuple(map(tuple, ws[0].tolist())),
                        tuning=tuned[1].tuning.content_hash if tuned else "")
    with synthesis_edits(model, state):
        rendered = render_ws(model, ws)[0]
    info = png_info(export_metadata(Path(args.model).name, model_identity(model, args.model), state,
                                    ws[0].numpy(), command="gan-explorer project"))
    return rendered, info
