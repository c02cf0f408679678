"""Export frames as GIF, MP4 (imageio with its bundled ffmpeg) or a PNG sequence."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.io.atomic import atomic_path
from gan_explorer.core.io.images import save_image

FORMATS = ("gif", "mp4", "png")


def export_frames(frames, path: str | os.PathLike, fps: float = 30.0, progress=None, should_stop=lambda: False):
    """frames: HWC uint8 arrays. `path` suffix picks the format (.gif, .mp4, or a folder for PNGs)."""
    path = Path(path)
    frames = [np.ascontiguousarray(f) for f in frames]
    if not frames:
        raise GanExplorerError("nothing to export: no frames")
    kind = path.suffix.lower().lstrip(".") or "png"
    if kind not in FORMATS:
        raise GanExplorerError(f"{path}: unknown format (use .gif, .mp4, or a folder for PNG frames)")
    if kind == "png":
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            if should_stop():
                raise KeyboardInterrupt
            save_image(path / f"frame{i:05d}.png", frame)
            if progress:
                progress(i + 1, len(frames))
        return path
    with atomic_path(path) as tmp:
        if kind == "gif":
            _write_gif(tmp, frames, fps, progress, should_stop)
        else:
            _check_ffmpeg()
            _write_mp4(tmp, frames, fps, progress, should_stop)
    return path


def _check_ffmpeg():
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:
        raise GanExplorerError("MP4 export needs ffmpeg: install it (e.g. apt install ffmpeg) "
                               "or export a GIF or PNG frames instead") from None


def _write_gif(path, frames, fps, progress, should_stop):
    from PIL import Image

    images = []
    for i, frame in enumerate(frames):
        if should_stop():
            raise KeyboardInterrupt
        images.append(Image.fromarray(frame))
        if progress:
            progress(i + 1, len(frames))
    duration = max(int(round(1000 / fps)), 20)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0,
                   optimize=False, disposal=1)


def _write_mp4(path, frames, fps, progress, should_stop):
    import imageio.v2 as imageio

    # Odd sizes are padded by imageio to what the encoder needs (macro blocks of 2 for yuv420p).
    writer = imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=8,
                                macro_block_size=2, ffmpeg_log_level="error")
    try:
        for i, frame in enumerate(frames):
            if should_stop():
                raise KeyboardInterrupt
            writer.append_data(frame)
            if progress:
                progress(i + 1, len(frames))
    finally:
        writer.close()
