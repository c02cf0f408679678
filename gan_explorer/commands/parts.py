"""`gan-explorer parts MODEL --seeds 0-7 --out DIR`: part masks of generated images;
`gan-explorer dissect MODEL --out report.json`: which units draw which part.

Both need a part classifier (core/analysis/parts.py): `--classifier FILE` (trained in the window
from painted masks, or saved by an earlier run with --save-classifier), or, for a model of the
procedural faces, one trained here from `--train N` dataset faces projected into the model (the
projections are cached in the app's data folder, so a second run is quick).
"""

from __future__ import annotations

from pathlib import Path

from gan_explorer.commands.map import tqdm_progress, write_json


def _common(p) -> None:
    p.add_argument("model", help="model file: .safetensors, NVIDIA .pkl or rosinality .pt")
    p.add_argument("--classifier", default=None,
                   help="a part classifier (.npz from the window or --save-classifier); default: train one "
                        "from projected procedural faces (models of the faces only)")
    p.add_argument("--train", type=int, default=16,
                   help="faces projected to train the classifier when no --classifier is given (default 16)")
    p.add_argument("--projection-steps", type=int, default=60, help="projection steps per face (default 60)")
    p.add_argument("--save-classifier", default=None, help="also save the classifier trained here (.npz)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")


def register(subparsers) -> None:
    p = subparsers.add_parser("parts", help="part masks (hair, eyes, mouth, ...) of generated images")
    _common(p)
    p.add_argument("--seeds", default="0-7", help="seeds to render and segment, e.g. 0-7 or 1,5,9 (default 0-7)")
    p.add_argument("--truncation-psi", type=float, default=1.0, help="pull w toward w_avg (1 = off)")
    p.add_argument("--out", required=True,
                   help="folder: seedNNNN.png (image), seedNNNN-parts.png (part indices), "
                        "seedNNNN-parts-colour.png, parts.json (the part names)")
    p.set_defaults(func=cmd_parts)

    d = subparsers.add_parser("dissect", help="score every unit against every part (GAN Dissection)")
    _common(d)
    d.add_argument("--samples", type=int, default=200, help="generated samples the scores pool over (default 200)")
    d.add_argument("--seed", type=int, default=0, help="first seed of the samples")
    d.add_argument("--top", type=float, default=0.01, help="fraction of each unit's values kept as 'on' (default 0.01)")
    d.add_argument("--ablate-part", default="hair", help="the part whose top units are switched off (default hair)")
    d.add_argument("--ablate-units", type=int, default=8, help="how many of its top units (default 8; 0: skip)")
    d.add_argument("--out", required=True, help="the report (.json)")
    d.set_defaults(func=cmd_dissect)


def _classifier(model, args, progress):
    from gan_explorer.core.analysis.parts import (
        PartsConfig, default_cache_dir, FaceProjectionConfig, feature_layers, load_classifier, pixel_features,
        projected_faces, save_classifier, train_classifier,
    )
    from gan_explorer.core.data.faces import PART_NAMES
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.limits import check_count

    if args.classifier:
        classifier = load_classifier(args.classifier)
        from gan_explorer.core.analysis.layers import list_layers

        known = {i.name for i in list_layers(model)}
        missing = [name for name in classifier.layers if name not in known]
        if missing:
            raise ConfigError(f"--classifier {args.classifier}: made for another generator (no layer {missing[0]})")
        return classifier, {}
    if not str(getattr(model, "provenance", {}).get("data", "")).startswith("faces"):
        raise ConfigError("this model was not trained on the procedural faces, whose parts are known: give "
                          "--classifier (paint masks on a few samples in the window's Parts panel and train one)")
    check_count("--train", args.train, 1, 1024)
    check_count("--projection-steps", args.projection_steps, 1, 100000)
    faces = projected_faces(model, args.train, seed=0, config=FaceProjectionConfig(steps=args.projection_steps),
                            cache_dir=default_cache_dir(), progress=progress)
    layers = feature_layers(model)
    features, _ = pixel_features(model, faces.ws, layers)
    classifier = train_classifier(features, faces.truth, PART_NAMES, layers, PartsConfig())
    info = dict(trained_on=f"{args.train} procedural faces projected into the model ({args.projection_steps} steps)",
                projection_psnr_db=round(float(faces.psnr.mean()), 2))
    if args.save_classifier:
        save_classifier(classifier, args.save_classifier, info)
    return classifier, info


def _open(args):
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.generate import require_latent_model
    from gan_explorer.core.io.models import open_model

    model = open_model(args.model, device=resolve_device(args.device))
    require_latent_model(model)
    return model


def cmd_parts(args):
    import torch

    from gan_explorer.core.analysis.parts import part_colours, segment
    from gan_explorer.core.generate import parse_seeds
    from gan_explorer.core.io.atomic import check_output_path
    from gan_explorer.core.io.images import save_image

    seeds = parse_seeds(args.seeds)
    out = Path(args.out)
    check_output_path(out / "parts.json")
    model = _open(args)
    progress, bar = tqdm_progress("classifier", args.no_progress)
    try:
        classifier, info = _classifier(model, args, progress)
    finally:
        bar.close()
    with torch.no_grad():
        z = torch.cat([model.sample_z(1, s) for s in seeds])
        ws = model.map(z.to(next(model.parameters()).device), truncation_psi=args.truncation_psi).cpu().numpy()
    parts, images = segment(model, classifier, ws)
    out.mkdir(parents=True, exist_ok=True)
    colours = part_colours(len(classifier.part_names))
    for seed, image, part in zip(seeds, images, parts):
        save_image(out / f"seed{seed:04d}.png", image)
        save_image(out / f"seed{seed:04d}-parts.png", part[:, :, None])
        save_image(out / f"seed{seed:04d}-parts-colour.png", colours[part])
    write_json(out / "parts.json", dict(part_names=list(classifier.part_names), seeds=seeds,
                                        colours=colours.tolist(), classifier=info))
    print(f"wrote {len(seeds)} part masks to {out}")


def cmd_dissect(args):
    import torch

    from gan_explorer.core.analysis.dissection import ablation_effect, dissect
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.io.atomic import check_output_path
    from gan_explorer.core.limits import check_count

    check_count("--samples", args.samples, 2, 5000)
    check_count("--ablate-units", args.ablate_units, 0, 4096)
    if not 0 < args.top < 1:
        raise ConfigError(f"--top {args.top}: the fraction kept must be between 0 and 1")
    check_output_path(args.out)
    model = _open(args)
    progress, bar = tqdm_progress("classifier", args.no_progress)
    try:
        classifier, info = _classifier(model, args, progress)
        if args.ablate_part not in classifier.part_names:
            raise ConfigError(f"--ablate-part {args.ablate_part}: not one of {', '.join(classifier.part_names)}")
        with torch.no_grad():
            seeds = list(range(args.seed, args.seed + args.samples))
            z = torch.cat([model.sample_z(1, s) for s in seeds])
            ws = model.map(z.to(next(model.parameters()).device)).cpu().numpy()
        bar.set_description("dissect")
        report = dissect(model, classifier, ws, top=args.top, progress=progress)
    finally:
        bar.close()
    data = dict(model=Path(args.model).name, classifier=info, seeds=[args.seed, args.seed + args.samples - 1],
                **report.to_json())
    if args.ablate_units:
        k = report.part_names.index(args.ablate_part)
        layer = max(report.layers, key=lambda name: float(report.layer_iou(name)[:, k].max()))
        units = [u for u, _ in report.top_units(layer, args.ablate_part, args.ablate_units)]
        effect = ablation_effect(model, classifier, ws[:min(64, len(ws))], layer, units)
        data["ablation"] = dict(part=args.ablate_part, layer=layer, units=units, samples=min(64, len(ws)),
                                **effect.to_json())
    write_json(args.out, data)
    best = report.best_table()
    for part in report.part_names:
        layer = max(best[part], key=best[part].get)
        print(f"{part:>10}: best unit IoU {best[part][layer]:.3f} ({layer})")
    print(f"wrote {args.out}")
