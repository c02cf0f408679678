"""The one place where pictures from users are decoded: datasets, dropped pictures, encode.

Pillow recognises a file by its content, not its name, and some of its formats hand the file
to an outside interpreter (EPS/PostScript goes to Ghostscript) or to rarely exercised parsers.
A file named `face.png` that holds PostScript must not reach them: every picture is opened
with an explicit list of formats, the ones the README promises, and anything else is refused
with one line. Sizes are checked before pixels are decoded.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

# What the README promises for datasets and dropped pictures; nothing else is ever parsed.
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")
PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
MAX_PIXELS = 16384 * 16384  # refuse decompression bombs beyond this (Pillow's own guard sits lower)
FORMATS_TEXT = "PNG, JPEG, WebP or BMP"
MAX_PICTURE_BYTES = 256 * 1024**2  # one picture file: far above any photo, far below /dev/zero


def read_picture_file(path, max_bytes: int = MAX_PICTURE_BYTES) -> bytes:
    """The bytes of a picture file a user dropped or named: a regular file of at most `max_bytes`
    (a FIFO would block forever, /dev/zero would never end); ValueError with the reason."""
    from gan_explorer.core.io.reading import UserFileError, read_user_file

    try:
        return read_user_file(path, max_bytes, "picture")
    except UserFileError as exc:
        raise ValueError(exc.reason) from None


def open_picture(data: bytes) -> Image.Image:
    """A lazily decoded picture from bytes, only from PICTURE_FORMATS; ValueError with the reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=PICTURE_FORMATS)
    except Image.UnidentifiedImageError:
        raise ValueError(f"not a {FORMATS_TEXT} picture (unrecognised or refused format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"too large ({exc})") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, struct.error... for bad headers
        raise ValueError(reason(exc)) from None
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"too large ({image.width}x{image.height})")
    return image


def probe_picture(data: bytes) -> tuple[tuple[int, int], str]:
    """(size, mode) of a picture after Pillow's structural check; ValueError with the reason."""
    if not data:
        raise ValueError("empty file (0 bytes)")
    image = open_picture(data)
    size, mode = image.size, image.mode
    try:
        image.verify()
    except Exception as exc:
        raise ValueError(reason(exc)) from None
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-4096:]:
        # verify() does not decode JPEG data: a missing end marker is the cheap tell.
        raise ValueError("truncated JPEG (no end-of-image marker)")
    return size, mode


def decode_picture(data: bytes, channels: int = 3) -> Image.Image:
    """Bytes -> a fully decoded RGB (or L) picture; raises ValueError with the reason."""
    if not data:
        raise ValueError("empty file (0 bytes)")
    image = open_picture(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.draft("RGB", (1024, 1024))  # JPEG: decode at a reduced scale when huge
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"too large ({exc})") from None
    except Exception as exc:
        raise ValueError(reason(exc)) from None
    image = ImageOps.exif_transpose(image)
    return to_mode(image, channels)


def to_mode(image: Image.Image, channels: int) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / float: scale the actual range to 8 bits (convert() would saturate).
        array = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        image = Image.fromarray(np.clip(array / top * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("RGB" if channels == 3 else "L")


def reason(exc) -> str:
    text = str(exc).strip().splitlines()
    if isinstance(exc, Image.UnidentifiedImageError):
        return f"not a {FORMATS_TEXT} picture (unrecognised or refused format)"
    if text and "truncated" in text[0].lower():
        return "truncated file"
    return (text[0] if text else type(exc).__name__)[:160]
