"""`gan-explorer drag MODEL --seed S --handle x,y --target x,y --out edited.png`: point-based editing
(DragGAN) without the window.

Points are pixels of the model's output image, x to the right and y down (fractional allowed);
each --handle takes the --target at the same position. The edited PNG carries its latent (the
edited ws), so `gan-explorer generate MODEL --latent edited.png` renders it again, bit for bit.
"""

from __future__ import annotations

import math
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("drag", help="drag points of a generated image to targets (DragGAN)")
    p.add_argument("model", help="model file: .safetensors, NVIDIA .pkl or rosinality .pt (a StyleGAN2/3)")
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--seed", type=int, default=None, help="start from this seed's image")
    start.add_argument("--latent", default=None,
                       help="start from this latent: .npy/.json (the first one) or a PNG the app exported")
    p.add_argument("--handle", action="append", default=[], metavar="X,Y",
                   help="a point to move, in pixels of the output image (repeat for more points)")
    p.add_argument("--target", action="append", default=[], metavar="X,Y",
                   help="where the handle given at the same position should go")
    p.add_argument("--mask", default=None,
                   help="a picture (any size, resized to the model's): light = may change, dark = held")
    p.add_argument("--layers", type=int, default=None,
                   help="first W+ rows optimised (default 3: DragGAN's 6 reach the demo's colour layers)")
    p.add_argument("--steps", type=int, default=200, help="step budget (default 200)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: DragConfig's)")
    p.add_argument("--truncation-psi", type=float, default=1.0, help="with --seed: pull w toward w_avg (1 = off)")
    p.add_argument("--out", required=True, help="the edited image (.png, carrying its latent)")
    p.add_argument("--record", default=None, help="also write every step as .gif or .mp4")
    p.add_argument("--fps", type=float, default=15.0, help="frames per second of --record (default 15)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.set_defaults(func=cmd_drag)


def parse_point(flag: str, text: str) -> tuple[float, float]:
    """'12.5,40' -> (12.5, 40.0); one ConfigError line otherwise."""
    from gan_explorer.core.errors import ConfigError, quote

    parts = str(text).split(",")
    try:
        x, y = (float(v) for v in parts)
    except ValueError:
        raise ConfigError(f"{flag} {quote(text, 40)}: expected X,Y in pixels, e.g. 32,40") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ConfigError(f"{flag} {quote(text, 40)}: not a finite point")
    return x, y


def read_mask(path, resolution: int):
    """[res, res] float32 in {0, 1}: 1 where the picture is light (may change)."""
    import numpy as np

    from PIL import Image

    from gan_explorer.core.errors import ConfigError, escape_text, one_line
    from gan_explorer.core.io.pictures import open_picture, read_picture_file

    try:
        gray = open_picture(read_picture_file(path)).convert("L").resize((resolution, resolution), Image.NEAREST)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"--mask {escape_text(str(path), 200)}: {one_line(exc)}") from None
    mask = (np.asarray(gray) > 127).astype(np.float32)
    if not mask.any():
        raise ConfigError(f"--mask {escape_text(str(path), 200)}: all dark, so nothing may change")
    return mask


def _start(args, model):
    """(ws [1, num_ws, w_dim], the latent state it came from)."""
    from gan_explorer.core.latent.files import load_latent
    from gan_explorer.core.latent.state import LatentState
    from gan_explorer.core.latent.ws import ws_for_state

    if args.seed is not None:
        from gan_explorer.core.generate import SEED_LIMIT
        from gan_explorer.core.errors import ConfigError

        if not 0 <= args.seed < SEED_LIMIT:
            raise ConfigError(f"--seed {args.seed}: seeds go from 0 to 2**32-1")
        state = LatentState(seed=args.seed, truncation_psi=args.truncation_psi)
        return ws_for_state(model, state), state
    state = LatentState()
    if Path(args.latent).suffix.lower() == ".png":
        from gan_explorer.core.latent.provenance import read_picture_provenance

        provenance = read_picture_provenance(args.latent)
        if provenance is not None:
            state = provenance.state
    ws = load_latent(args.latent, model.num_ws, model.w_dim, max_count=1024)[:1]
    return ws.to(model._device()), state


def cmd_drag(args):
    import numpy as np
    from dataclasses import replace

    from gan_explorer.core.drag import DragConfig, check_points, run_drag
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.explorer.drag import edited_state
    from gan_explorer.core.generate import render_ws, require_latent_model
    from gan_explorer.core.io.atomic import check_output_path
    from gan_explorer.core.io.identity import file_identity
    from gan_explorer.core.io.images import png_info, save_image, to_uint8
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.latent.provenance import export_metadata
    from gan_explorer.core.synthesis_edits import synthesis_edits

    handles = [parse_point("--handle", h) for h in args.handle]
    targets = [parse_point("--target", t) for t in args.target]
    if not handles or len(handles) != len(targets):
        raise ConfigError(f"{len(handles)} --handle and {len(targets)} --target: give each handle one target")
    if args.record is not None and Path(args.record).suffix.lower() not in (".gif", ".mp4"):
        raise ConfigError(f"--record {args.record!r}: must end in .gif or .mp4")
    for path in (args.out, args.record):
        if path is not None:
            check_output_path(path)
    model = open_model(args.model, device=resolve_device(args.device))
    require_latent_model(model)
    resolution = int(model.config.img_resolution)
    check_points(handles, targets, resolution)  # before the mask and the model's work
    mask = read_mask(args.mask, resolution) if args.mask else None
    config = DragConfig(layers=args.layers if args.layers is not None else DragConfig().layers, steps=args.steps)
    if args.lr is not None:
        config = replace(config, learning_rate=args.lr)
    config.check(int(model.num_ws))
    ws, state = _start(args, model)
    frames = []
    from tqdm import tqdm

    bar = tqdm(total=args.steps, desc="drag", unit="step", disable=args.no_progress)

    def on_step(step):
        if args.record:
            frames.append(to_uint8(step.image)[0])
        bar.n = step.index
        bar.set_postfix(distance=f"{float(step.distances.max()):.1f}px")
        bar.refresh()

    with synthesis_edits(model, state):  # a picture's S edits, bends, tuning or blend stay in force
        last = run_drag(model, ws, handles, targets, mask, config, noise_mode=state.noise_mode,
                        noise_seed=state.noise_seed, on_step=on_step)
        image = render_ws(model, last.ws, noise_mode=state.noise_mode, noise_seed=state.noise_seed)[0]
    bar.close()
    edited_ws = last.ws[0].cpu().numpy().astype(np.float32)
    edited = edited_state(state, edited_ws)
    content_hash = file_identity(args.model) if Path(args.model).is_file() else ""
    drag_info = {"handles": [list(h) for h in handles], "targets": [list(t) for t in targets],
                 "tracked": last.handles.tolist(), "steps": int(last.index), "layers": config.layers,
                 "masked": mask is not None}
    metadata = export_metadata(Path(args.model).name, content_hash, edited, edited_ws,
                               command="gan-explorer drag", drag=drag_info)
    save_image(args.out, image, pnginfo=png_info(metadata))
    if args.record:
        from gan_explorer.core.io.video import export_frames

        export_frames(frames + [image], args.record, fps=args.fps, metadata=metadata)
    far = float(last.distances.max())
    print(f"wrote {args.out} after {last.index} steps; handles within {far:.1f} px of their targets"
          + (f"; recorded {len(frames) + 1} frames to {args.record}" if args.record else ""))
