"""Export frames as GIF, MP4 (imageio with ffmpeg) or a PNG sequence, one frame at a time.

Frames may come from a generator that renders them: each is encoded as it arrives (a GIF frame is
quantised to its palette at once, an MP4 frame goes to ffmpeg at once), so progress and cancel
cover the encoding itself, and a cancelled or failed export leaves no partial file.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from gan_explorer.core.errors import GanExplorerError, OutputError, escape_text
from gan_explorer.core.io.atomic import atomic_path
from gan_explorer.core.io.images import save_image

FORMATS = ("gif", "mp4", "png")


def export_frames(frames, path: str | os.PathLike, fps: float = 30.0, progress=None, should_stop=lambda: False,
                  size: int | None = None, count: int | None = None, metadata: dict | None = None,
                  audio=None) -> Path:
    """Encode `frames` (an iterable of HWC uint8 arrays) to `path`: .gif, .mp4, or a folder of PNGs.

    size: resize frames to size x size (Lanczos) before encoding; count: how many frames to expect
    (for progress when `frames` is a generator); metadata: JSON-able provenance written into the file
    (GIF comment, MP4 comment tag, PNG text chunks); audio: a WAV file this program wrote, muxed
    into an MP4 as its AAC sound track (refused for other formats). `should_stop()` returning True
    (or raising) stops the export and removes what was written.
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".") or "png"
    if kind not in FORMATS:
        raise GanExplorerError(f"{path}: unknown format (use .gif, .mp4, or a folder for PNG frames)")
    if isinstance(frames, (list, tuple)):
        count = len(frames)
        if not frames:
            raise GanExplorerError("nothing to export: no frames")
    if kind == "mp4":
        _check_ffmpeg()
    if audio is not None and kind != "mp4":
        raise GanExplorerError(f"{path}: only an MP4 carries a sound track (export .mp4)")
    marker = None
    if metadata and kind != "png":  # PNG frames are marked and signed one by one by save_image
        from gan_explorer.core.trust.export import FrameMarker

        marker = FrameMarker(metadata)
        metadata = marker.metadata
    # A tuned photo's provenance embeds its tuning (megabytes): a video's comment keeps the tuning's
    # hash in the state but not the weights (ffmpeg takes the comment as one argument, capped by
    # the system at 128 KiB; the Content Credentials carry the full provenance).
    shown = {k: v for k, v in metadata.items() if k != "tuning"} if metadata else None
    comment = json.dumps(shown, separators=(",", ":")) if shown else ""

    def stream():
        done = 0
        for frame in frames:
            if should_stop():
                raise KeyboardInterrupt
            frame = np.ascontiguousarray(frame)
            if size and frame.shape[0] != size:
                frame = resize_frame(frame, size)
            yield marker(frame) if marker else frame
            done += 1
            if progress:
                progress(done, count or done)
        if done == 0:
            raise GanExplorerError("nothing to export: no frames")

    if kind == "png":
        return _write_png_folder(path, stream(), metadata)
    with atomic_path(path) as tmp:
        if kind == "gif":
            _write_gif(tmp, stream(), fps, comment)
        else:
            _write_mp4(tmp, stream(), fps, comment, audio)
        if marker:  # Content Credentials after our comment, before the file is renamed into place
            from gan_explorer.core.trust.export import sign

            sign(tmp, metadata, path.name)
    return path


def resize_frame(frame: np.ndarray, size: int) -> np.ndarray:
    squeeze = frame.ndim == 3 and frame.shape[2] == 1
    image = Image.fromarray(frame[:, :, 0] if squeeze else frame)
    out = np.asarray(image.resize((size, size), Image.LANCZOS))
    return out[:, :, None] if squeeze else out


def _check_ffmpeg():
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:
        raise GanExplorerError("MP4 export needs ffmpeg: install it (e.g. apt install ffmpeg) "
                               "or export a GIF or PNG frames instead") from None


def _write_png_folder(path: Path, frames, metadata):
    """PNG frames go to a hidden folder beside `path`, renamed into place only when complete."""
    from gan_explorer.core.io.images import png_info

    if path.is_symlink() or (path.exists() and not path.is_dir()):  # never frames into a linked folder
        what = "a symbolic link" if path.is_symlink() else "not a folder"
        raise OutputError(f"{escape_text(str(path), 300)}: is {what}; choose a new folder for the frames")
    if path.exists() and any(path.iterdir()):
        raise GanExplorerError(f"{path}: the folder is not empty; choose a new folder for the frames")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for i, frame in enumerate(frames):
            save_image(staging / f"frame{i:05d}.png", frame, pnginfo=png_info(metadata, frame=i))
        if path.exists():
            path.rmdir()
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _write_gif(path, frames, fps, comment):
    # Quantising is the slow part of GIF encoding: do it per frame as frames arrive, so what is
    # left at the end (LZW-packing paletted frames) is quick.
    images = []
    for frame in frames:
        image = Image.fromarray(frame[:, :, 0] if frame.shape[2] == 1 else frame).convert("RGB")
        images.append(image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    duration = max(int(round(1000 / fps)), 20)
    extra = {"comment": comment.encode("utf-8")} if comment else {}
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0,
                   optimize=False, disposal=1, **extra)
    Path(path).write_bytes(buffer.getvalue())


def _write_mp4(path, frames, fps, comment, audio=None):
    import imageio.v2 as imageio

    # Odd sizes are padded by imageio to what the encoder needs (macro blocks of 2 for yuv420p).
    params = ["-metadata", f"comment={comment}"] if comment else []
    sound = {"audio_path": str(audio), "audio_codec": "aac"} if audio is not None else {}
    writer = imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=8,
                                macro_block_size=2, ffmpeg_log_level="error", output_params=params or None, **sound)
    try:
        for frame in frames:
            writer.append_data(frame)
    finally:
        writer.close()


def read_gif_comment(path) -> str:
    with Image.open(path, formats=["GIF"]) as image:
        comment = image.info.get("comment", b"")
    return comment.decode("utf-8", "replace") if isinstance(comment, bytes) else str(comment)


def read_mp4_comment(path) -> str:
    """The comment tag of an MP4 (ffprobe-free: ffmpeg prints the metadata of its input)."""
    import re
    import subprocess

    import imageio_ffmpeg

    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "ffmetadata", "-"],
                         capture_output=True, text=True, timeout=60)
    match = re.search(r"^comment=(.*)$", run.stdout, re.MULTILINE)
    return match.group(1).replace("\\=", "=").replace("\\;", ";").replace("\\#", "#").replace("\\\\", "\\") \
        if match else ""
