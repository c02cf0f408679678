"""`gan-explorer map MODEL --num 2000 --method pca --out map.png`: a latent space on one picture."""

from __future__ import annotations

import json
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("map", help="sample latents, project them to 2-D and draw the map with thumbnails")
    p.add_argument("model", help="model file: .safetensors, NVIDIA .pkl or rosinality .pt")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--num", type=int, default=2000, help="latents on the map (default 2000)")
    p.add_argument("--method", default="pca", choices=["pca", "tsne", "umap"],
                   help="pca (default), tsne (scikit-learn) or umap (umap-learn)")
    p.add_argument("--space", default=None, choices=["z", "w", "code"],
                   help="z, w (mapped families) or code (VAE / autoencoder encodings of --data); "
                        "default: code, else w, else z")
    p.add_argument("--data", default=None, help="images to encode for --space code (default faces:RESOLUTION)")
    p.add_argument("--seed", type=int, default=0, help="first seed of the sampled latents")
    p.add_argument("--truncation-psi", type=float, default=1.0, help="pull w toward w_avg (1 = off)")
    p.add_argument("--color-by", default=None, metavar="FACTOR",
                   help="colour the points by a factor (e.g. skin_tone): true for --space code on faces, "
                        "else predicted by the factor regressor")
    p.add_argument("--regressor", default=None, help="factor network file for --color-by (default: the shipped one)")
    p.add_argument("--thumbnail-size", type=int, default=32, help="thumbnail pixels kept per point (0: none)")
    p.add_argument("--cell", type=int, default=40, help="one thumbnail per CELL x CELL pixels of the figure")
    p.add_argument("--size", type=int, default=1400, help="figure width in pixels")
    p.add_argument("--mark", default=None, metavar="SEEDS",
                   help="mark these seeds on the map (e.g. 0,5): where the current latent or bookmarks land")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--json", default=None, help="also write the points, seeds and colours as JSON")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.set_defaults(func=cmd_map)


def tqdm_progress(desc: str, disable: bool = False):
    """A progress(done, total) callback drawing a tqdm bar, and the bar (close it when done)."""
    from tqdm import tqdm

    bar = tqdm(total=1, desc=desc, disable=disable)

    def progress(done, total):
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()
    return progress, bar


def write_json(path, data) -> None:
    """Write JSON atomically (a half-written report never replaces a good one)."""
    from gan_explorer.core.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=1))


def cmd_map(args):
    import numpy as np

    from gan_explorer.core.analysis.latent_map import (
        check_figure, check_map, compute_map, default_space, render_map_image,
    )
    from gan_explorer.core.analysis.regressor import load_regressor
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.generate import parse_seeds
    from gan_explorer.core.io.images import save_image
    from gan_explorer.core.io.models import open_model

    check_map(args.num, args.thumbnail_size, args.seed, args.truncation_psi)  # before anything slow
    check_figure(args.size, args.cell)
    model = open_model(args.model, device=resolve_device(args.device))
    regressor, color = None, None
    if args.color_by:
        color = "auto"  # encoded faces: their true factors; a folder: its class sub-folders
        if (args.space or default_space(model)) != "code":
            regressor = load_regressor(model._device(), args.regressor)  # fail now, not after every render
            color = "predicted"
    progress, bar = tqdm_progress("map", args.no_progress)
    try:
        latent_map = compute_map(model, num=args.num, space=args.space, method=args.method, seed=args.seed,
                                 truncation_psi=args.truncation_psi, thumbnail_size=args.thumbnail_size,
                                 data=args.data, color_by=color,
                                 regressor=regressor, progress=progress)
    finally:
        bar.close()
    if args.color_by and not latent_map.colors:
        raise ConfigError(f"--color-by {args.color_by}: no factors for this model (the factor regressor did not load)")
    markers = []
    if args.mark:
        import torch

        for seed in parse_seeds(args.mark):
            with torch.no_grad():
                z = model.sample_z(1, seed)
                ws = model.map(z, args.truncation_psi)
            if latent_map.space == "z":
                xy = latent_map.project(z.cpu())[0]
            elif latent_map.space == "w":
                xy = latent_map.project_ws(ws.cpu())[0]
            else:
                xy = latent_map.project(ws[:, 0].cpu())[0]
            markers.append((xy, f"seed {seed}"))
    image = render_map_image(latent_map, size=args.size, color_by=args.color_by, thumbnail_px=args.cell,
                             markers=markers)
    save_image(args.out, image)
    print(f"wrote {args.out}: {latent_map.info['num']} latents in {latent_map.space} by {latent_map.method}"
          + (f", coloured by {args.color_by} ({latent_map.color_source})" if args.color_by else ""))
    if args.json:
        data = {"info": latent_map.info, "space": latent_map.space, "method": latent_map.method,
                "points": np.round(latent_map.points.astype(np.float64), 5).tolist(),
                "seeds": None if latent_map.seeds is None else latent_map.seeds.tolist(),
                "color_source": latent_map.color_source,
                "colors": {k: np.round(v.astype(np.float64), 5).tolist() for k, v in latent_map.colors.items()}}
        write_json(args.json, data)
        print(f"wrote {args.json}")
