"""The one hook every export goes through: the image and video writers (core/io/images.save_image
and core/io/video.export_frames) call it for any file that carries our provenance, so the window,
the API and every command are covered without a call site of their own.

- `prepare_picture` upscales a picture smaller than the watermark needs (watermark.MIN_SIDE, Lanczos,
  by a whole factor, said in the provenance) and embeds the watermark, unless the user turned it
  off (core/trust/settings.py); the provenance records which (`trust`).
- `sign` writes the Content Credentials into the finished temporary, before it is renamed into place.
"""

from __future__ import annotations

import math
import os

import numpy as np

from gan_explorer.core.trust import watermark
from gan_explorer.core.trust.settings import watermark_enabled


def model_hash(metadata: dict) -> str:
    model = metadata.get("model") if isinstance(metadata.get("model"), dict) else {}
    value = model.get("sha256", "")
    return value if isinstance(value, str) else ""


def trust_metadata(metadata: dict, enabled: bool | None = None) -> dict:
    """`metadata` with what the export carries (`trust`): whether the watermark is in it and its payload."""
    enabled = watermark_enabled() if enabled is None else enabled
    mark = {"embedded": True, "method": "gan_explorer spread spectrum v1",
            "model_prefix": model_hash(metadata)[:watermark.HASH_BITS // 4]} if enabled \
        else {"embedded": False, "why": "turned off by the user for this export"}
    return {**metadata, "trust": {"watermark": mark, "credentials": "c2pa"}}


def upscale_factor(height: int, width: int) -> int:
    """The whole factor that brings the short side to watermark.MIN_SIDE (1 when it is there)."""
    return max(1, math.ceil(watermark.MIN_SIDE / max(1, min(height, width))))


def prepare_picture(image: np.ndarray, metadata: dict) -> tuple[np.ndarray, dict]:
    """The picture as exported (upscaled where small, watermarked) and its provenance saying so."""
    metadata = trust_metadata(metadata)
    if not metadata["trust"]["watermark"]["embedded"]:
        return image, metadata
    image, metadata = _upscaled(image, metadata)
    return watermark.embed(image, model_hash(metadata)), metadata


def _upscaled(image: np.ndarray, metadata: dict) -> tuple[np.ndarray, dict]:
    factor = upscale_factor(*image.shape[:2])
    if factor == 1:
        return image, metadata
    from PIL import Image

    squeeze = image.ndim == 3 and image.shape[2] == 1
    picture = Image.fromarray(image[:, :, 0] if squeeze else image)
    out = np.asarray(picture.resize((picture.width * factor, picture.height * factor), Image.LANCZOS))
    earlier = metadata.get("upscale") if isinstance(metadata.get("upscale"), dict) else {}
    total = int(earlier.get("factor", 1)) * factor if str(earlier.get("factor", 1)).isdigit() else factor
    metadata = {**metadata, "upscale": {"factor": total, "method": "lanczos",
                                        "why": f"the watermark needs {watermark.MIN_SIDE} px"}}
    return (out[:, :, None] if squeeze else out), metadata


class FrameMarker:
    """Watermarks the frames of one animation (each upscaled to watermark.MIN_SIDE where smaller;
    the provenance, written before the first frame, says so in `trust`)."""

    def __init__(self, metadata: dict):
        self.metadata = trust_metadata(metadata)
        self.enabled = self.metadata["trust"]["watermark"]["embedded"]
        if self.enabled:
            self.metadata["trust"]["watermark"]["frames"] = f"upscaled to {watermark.MIN_SIDE} px where smaller"

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return frame
        return watermark.embed(_upscaled(frame, {})[0], model_hash(self.metadata))


def sign(path: str | os.PathLike, metadata: dict, title: str) -> None:
    """Content Credentials into the finished temporary `path` (a no-op for formats C2PA lacks)."""
    from gan_explorer.core.trust.credentials import sign_file

    # A file name need not be text (bytes that are not UTF-8 arrive as lone surrogates), and the
    # manifest's title is JSON: the name as text, undecodable bytes replaced.
    title = os.fsencode(title).decode("utf-8", "replace") if isinstance(title, str) else str(title)
    sign_file(path, metadata, title, metadata.get("trust", {}).get("watermark", {}))
