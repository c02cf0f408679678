"""Tensor images to uint8 arrays, grids and PNG files."""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from PIL import Image

from gan_explorer.core.io.atomic import atomic_path


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """NCHW in [-1, 1] -> NHWC uint8, as NVIDIA's tools convert (x * 127.5 + 128, clamped)."""
    x = (images.detach().to(torch.float32) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).cpu().numpy())


def make_grid(images: np.ndarray, cols: int | None = None) -> np.ndarray:
    """NHWC uint8 -> one HWC image, row-major, no border; empty cells are black."""
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * h, cols * w, c), dtype=images.dtype)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[r * h:(r + 1) * h, k * w:(k + 1) * w] = images[i]
    return grid


PROVENANCE_KEY = "gan_explorer"  # the PNG text chunk that holds an export's provenance (JSON)


def png_info(metadata: dict | None, **extra):
    """A PngInfo with `metadata` (plus `extra` keys) as JSON in the gan_explorer text chunk, or None."""
    if not metadata:
        return None
    import json

    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt(PROVENANCE_KEY, json.dumps({**metadata, **extra}, separators=(",", ":")))
    info.provenance = {**metadata, **extra}  # save_image marks and signs what carries provenance
    return info


def save_image(path: str | os.PathLike, image: np.ndarray, pnginfo=None) -> None:
    """Write an HWC uint8 image (C = 1 or 3) atomically; the format follows the suffix.
    `pnginfo` (a PIL PngInfo, e.g. from png_info) adds text chunks to a PNG. A picture with
    provenance (png_info's) is an export: it gets the invisible watermark (upscaled first where
    small) and Content Credentials, in any format (core/trust/export.py)."""
    provenance = getattr(pnginfo, "provenance", None)
    if provenance is not None:
        from gan_explorer.core.trust.export import prepare_picture

        image, provenance = prepare_picture(image, provenance)
        pnginfo = png_info(provenance)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    suffix = os.path.splitext(os.fspath(path))[1] or ".png"
    fmt = Image.registered_extensions().get(suffix.lower(), "PNG")
    extra = {"pnginfo": pnginfo} if pnginfo is not None and fmt == "PNG" else {}
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **extra)
        if provenance is not None:  # after our text chunk, so the provenance still restores
            from gan_explorer.core.trust.export import sign

            sign(tmp, provenance, os.path.basename(os.fspath(path)))


def contact_sheet(images, captions, cols: int | None = None, tile: int = 128) -> np.ndarray:
    """HWC uint8 images as a grid of `tile` px cells with a caption under each (a bookmark sheet)."""
    from PIL import ImageDraw, ImageFont

    n = len(images)
    cols = cols or min(n, max(1, math.ceil(math.sqrt(n))))
    rows = math.ceil(n / cols)
    caption_h = 18
    sheet = Image.new("RGB", (cols * tile, rows * (tile + caption_h)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (image, caption) in enumerate(zip(images, captions)):
        r, c = divmod(i, cols)
        picture = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).convert("RGB")
        sheet.paste(picture.resize((tile, tile), Image.LANCZOS), (c * tile, r * (tile + caption_h)))
        text = str(caption)
        while draw.textlength(text, font=font) > tile - 4 and len(text) > 1:
            text = text[:-2] + "…"
        draw.text((c * tile + 2, r * (tile + caption_h) + tile + 3), text, fill="black", font=font)
    return np.asarray(sheet)
