"""A reconstruction shown at the photo's framing: the model sees one square of the photo (the chosen
crop, else the largest centred square, after EXIF orientation, alpha on white, greyscale as RGB:
core/io/pictures.py decodes it); the answer goes back into that square of the photo, at the
photo's own size, so a user compares it with the picture as they took it."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from gan_explorer.core.errors import GanExplorerError, escape_text


def square_box(size: tuple[int, int], crop=None) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the square the model was shown (projection.load_target's)."""
    if crop is not None:
        from gan_explorer.core.latent.projection import _crop_box

        return _crop_box(crop, size)
    w, h = size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return left, top, left + side, top + side


def photo_image(picture, channels: int = 3) -> Image.Image:
    """The photo as the user sees it (EXIF orientation honoured): a path or an HWC uint8 array."""
    if isinstance(picture, (str, os.PathLike)):
        from gan_explorer.core.io.pictures import decode_picture, read_picture_file

        try:
            return decode_picture(read_picture_file(picture), channels)
        except ValueError as exc:
            raise GanExplorerError(f"{escape_text(os.fspath(picture), 300)}: not a readable picture "
                                   f"({escape_text(str(exc), 200)})") from None
    array = np.asarray(picture, np.uint8)
    array = array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array
    return Image.fromarray(array).convert("RGB" if channels == 3 else "L")


def at_photo_framing(picture, reconstruction: np.ndarray, crop=None) -> np.ndarray:
    """The photo (path or HWC array) with its modelled square replaced by `reconstruction` (HWC
    uint8 at the model's resolution, resized to the square): HWC uint8 at the photo's size."""
    photo = photo_image(picture, 3 if reconstruction.shape[-1] == 3 else 1)
    left, top, right, bottom = square_box(photo.size, crop)
    patch = reconstruction[:, :, 0] if reconstruction.shape[-1] == 1 else reconstruction
    patch = Image.fromarray(np.ascontiguousarray(patch)).convert(photo.mode)
    photo.paste(patch.resize((right - left, bottom - top), Image.LANCZOS), (left, top))
    out = np.asarray(photo)
    return out[:, :, None] if out.ndim == 2 else out
