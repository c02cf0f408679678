"""`gan-explorer animate`: a video driven by a sound file, or a seamless loop.

    gan-explorer animate MODEL --audio song.wav --map bass=smile,onsets=keyframes --keyframes 1,5,9 --out v.mp4
    gan-explorer animate MODEL --loop w --seconds 8 --out loop.mp4
"""

from __future__ import annotations

from pathlib import Path

MAX_SIZE = 4096


def register(subparsers) -> None:
    p = subparsers.add_parser("animate", help="a video driven by a sound file (--audio) or a seamless loop (--loop)")
    p.add_argument("model", help="model file: .safetensors, NVIDIA .pkl or rosinality .pt")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--audio", default=None, metavar="SOUND",
                      help="a WAV, FLAC, MP3 or OGG file: the video lasts as long and carries it as its sound track")
    what.add_argument("--loop", default=None, choices=["z", "w", "keyframes", "noise"],
                      help="a seamless loop: a great circle in z, a circle in w, a closed spline through --keyframes, "
                           "or (StyleGAN2) the face held while its noise flows")
    p.add_argument("--map", default="", metavar="FEATURE=TARGET,...",
                   help="with --audio: loudness, onsets, bass, mid or treble = a library direction's name, psi, "
                        "or (onsets only) keyframes; e.g. bass=smile,onsets=keyframes")
    p.add_argument("--keyframes", default=None, metavar="SEEDS",
                   help="seeds the walk steps through (onsets=keyframes) or loops through (--loop keyframes)")
    p.add_argument("--seed", type=int, default=0, help="the face the walk starts from (default 0)")
    p.add_argument("--latent", default=None, metavar="PICTURE.png",
                   help="start from an exported picture's state (its edits, S channels, bends and tuning come along)")
    p.add_argument("--truncation-psi", type=float, default=1.0, help="pull w toward w_avg (1 = off)")
    p.add_argument("--seconds", type=float, default=8.0, help="--loop: its length (default 8)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default 24)")
    p.add_argument("--smoothing", type=float, default=0.6,
                   help="with --audio: 0 follows the sound exactly, toward 1 values fall slowly from peaks")
    p.add_argument("--size", type=int, default=None, help="resize frames to SIZE x SIZE pixels")
    p.add_argument("--out", required=True, help="output .mp4, .gif, or a new folder for PNG frames")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.set_defaults(func=cmd_animate)


def _show(value) -> str:
    from gan_explorer.core.errors import escape_text

    return escape_text(str(value), 400)


def cmd_animate(args):
    import numpy as np

    from gan_explorer.commands.map import tqdm_progress
    from gan_explorer.core.animation.animate import parse_mapping, render_frames, resolve_directions, sound_path_ws
    from gan_explorer.core.animation.audio import frame_count, read_sound, sound_features, write_wav
    from gan_explorer.core.animation.loops import loop_ws, noise_loop_frames, seam_check
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.errors import ConfigError
    from gan_explorer.core.explorer.provenance import export_metadata
    from gan_explorer.core.io.models import open_model
    from gan_explorer.core.generate import check_finite, parse_seeds, require_latent_model
    from gan_explorer.core.io.atomic import check_output_path
    from gan_explorer.core.io.identity import file_identity
    from gan_explorer.core.io.video import export_frames
    from gan_explorer.core.latent.state import LatentState

    check_finite("--truncation-psi", args.truncation_psi)
    check_finite("--fps", args.fps)
    if not 1 <= args.fps <= 240:
        raise ConfigError(f"--fps {args.fps}: must be from 1 to 240")
    if args.size is not None and not 8 <= args.size <= MAX_SIZE:
        raise ConfigError(f"--size {args.size}: must be from 8 to {MAX_SIZE}")
    mapping = parse_mapping(args.map)
    if args.map and not args.audio:
        raise ConfigError("--map needs --audio: it says which sound feature moves what")
    check_output_path(args.out)
    keyframe_seeds = parse_seeds(args.keyframes, 64) if args.keyframes else []
    sound = read_sound(args.audio) if args.audio else None  # before the model: a bad file fails fast

    model = open_model(args.model, device=resolve_device(args.device))
    require_latent_model(model)
    state = LatentState(seed=args.seed, truncation_psi=args.truncation_psi)
    if args.latent:
        from gan_explorer.core.explorer.provenance import read_picture_provenance

        provenance = read_picture_provenance(args.latent)
        if provenance is None:
            raise ConfigError(f"--latent {_show(args.latent)}: carries no gan_explorer state")
        state = provenance.state
    keyframes = [state.base(seed=s) for s in keyframe_seeds]
    content_hash = file_identity(args.model) if Path(args.model).is_file() else ""

    if sound is not None:
        features = sound_features(sound, args.fps, args.smoothing)
        directions = {}
        if any(t not in ("psi", "keyframes") for _, t in mapping.pairs):
            from gan_explorer.core.io.identity import model_identity
            from gan_explorer.core.latent.library import DirectionLibrary

            directions = resolve_directions(mapping, DirectionLibrary(model_identity(model, args.model), model.w_dim))
        ws = sound_path_ws(model, state, features, mapping, directions, keyframes)
        animation = {"audio": Path(args.audio).name, "audio_sha256": file_identity(args.audio),
                     "map": mapping.as_text(), "fps": args.fps, "frames": len(ws), "seconds": sound.seconds}
    else:
        if not 0 < args.seconds <= 3600:
            raise ConfigError(f"--seconds {args.seconds}: must be above 0 and at most 3600")
        ws = loop_ws(model, state, args.loop, frame_count(args.seconds, args.fps), keyframes)
        animation = {"loop": args.loop, "fps": args.fps, "frames": len(ws), "seconds": args.seconds}
    animation["keyframes"] = keyframe_seeds
    metadata = export_metadata(Path(args.model).name, content_hash, state, None,
                               command=f"gan-explorer {args.command}", animation=animation)

    progress, bar = tqdm_progress("animate", disable=args.no_progress)
    kept = []  # a loop keeps small copies of its frames for the seam check

    def frames():
        drawn = noise_loop_frames(model, ws, state) if args.loop == "noise" else render_frames(model, ws, state)
        for image in drawn:
            if args.loop and len(kept) < 100_000:
                kept.append(image[::max(1, image.shape[0] // 64), ::max(1, image.shape[1] // 64)])
            yield image

    import tempfile

    with tempfile.TemporaryDirectory(prefix="gan-explorer-sound-") as folder:
        audio = None
        if sound is not None and Path(args.out).suffix.lower() == ".mp4":
            audio = Path(folder) / "sound.wav"
            write_wav(sound, audio)
        try:
            export_frames(frames(), args.out, fps=args.fps, progress=progress, count=len(ws), size=args.size,
                          metadata=metadata, audio=audio)
        finally:
            bar.close()
    print(f"wrote {_show(args.out)} ({len(ws)} frames at {args.fps:g} fps, {len(ws) / args.fps:.2f} s)")
    if args.loop:
        check = seam_check(np.stack(kept))
        print(f"loop seam: last -> first frame differs by {check['seam']:.2f} levels; consecutive frames by "
              f"{check['step_min']:.2f} to {check['step_max']:.2f} ({'seamless' if check['seamless'] else 'NOT seamless'})")
