"""Image collections from a folder (recursive) or a .zip: bad files are skipped, never fatal.

Files are listed and checked once up front (header + `verify()`); a file that still fails
to decode later is replaced by another image and reported once. Images are converted to
RGB (or grayscale), centre-cropped (or padded) to a square and resized to the resolution.
Only the file list is held in memory, so folders of 100k+ images are fine.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from gan_explorer.core.errors import ConfigError, GanExplorerError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
MAX_PIXELS = 16384 * 16384  # refuse decompression bombs beyond this (Pillow's own guard sits lower)


class DatasetError(GanExplorerError):
    """A dataset that cannot be used at all (missing, empty, no readable image)."""


@dataclass
class ScanReport:
    """What a scan found: used files, skipped files with reasons, sizes and modes."""

    source: str
    used: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    ignored: int = 0  # files that are not images by their suffix (e.g. factors.json)
    sizes: Counter = field(default_factory=Counter)
    modes: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        return f"{self.source}: {self.used} images used, {len(self.skipped)} skipped"


class _Source:
    """Reads file bytes from a folder or a zip; zip handles are opened per process (workers)."""

    def __init__(self, path: Path):
        self.path = path
        self.is_zip = path.is_file()
        self._zip = None
        self._zip_pid = None

    def list_files(self) -> list[str]:
        if self.is_zip:
            return sorted(n for n in self._archive().namelist() if not n.endswith("/"))
        files = []
        for root, dirs, names in os.walk(self.path):
            dirs.sort()
            for name in names:
                files.append(os.path.relpath(os.path.join(root, name), self.path).replace(os.sep, "/"))
        return sorted(files)

    def read(self, name: str) -> bytes:
        if self.is_zip:
            return self._archive().read(name)
        with open(self.path / name, "rb") as f:
            return f.read()

    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip = zipfile.ZipFile(self.path)
            self._zip_pid = os.getpid()
        return self._zip

    def __getstate__(self):
        return {"path": self.path, "is_zip": self.is_zip, "_zip": None, "_zip_pid": None}


def decode_image(data: bytes, name: str, channels: int = 3) -> Image.Image:
    """Bytes -> a fully decoded RGB (or L) image; raises ValueError with the reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise ValueError(f"too large ({image.width}x{image.height})")
            image.draft("RGB", (1024, 1024))  # JPEG: decode at a reduced scale when huge
            image.load()
    except ValueError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"too large ({exc})") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, struct.error... for bad files
        raise ValueError(_reason(exc)) from None
    image = ImageOps.exif_transpose(image)
    return _to_mode(image, channels)


def _to_mode(image: Image.Image, channels: int) -> Image.Image:
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


def _reason(exc) -> str:
    text = str(exc).strip().splitlines()
    if isinstance(exc, Image.UnidentifiedImageError):
        return "not an image (unrecognised format)"
    if text and "truncated" in text[0].lower():
        return "truncated file"
    return (text[0] if text else type(exc).__name__)[:160]


def fit_square(image: Image.Image, resolution: int, mode: str = "crop") -> Image.Image:
    """Centre-crop (or pad with black) to a square, then resize with a good filter."""
    w, h = image.size
    if mode == "crop":
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
    elif mode == "pad":
        side = max(w, h)
        canvas = Image.new(image.mode, (side, side))
        canvas.paste(image, ((side - w) // 2, (side - h) // 2))
        image = canvas
    else:
        raise ConfigError(f"fit={mode!r}: must be 'crop' or 'pad'")
    if image.size != (resolution, resolution):
        if image.width >= 2 * resolution:
            image = image.reduce(image.width // (2 * resolution) or 1)
        image = image.resize((resolution, resolution), Image.LANCZOS)
    return image


class ImageFolderDataset(torch.utils.data.Dataset):
    """Item i -> (image CHW float32 in [-1, 1], label). Labels come from first-level sub-folders."""

    def __init__(self, path, resolution: int, channels: int = 3, fit: str = "crop",
                 hflip: bool = False, max_files: int | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise DatasetError(f"{self.path}: no such folder or zip file")
        if self.path.is_file() and not zipfile.is_zipfile(self.path):
            raise DatasetError(f"{self.path}: not a folder or a .zip file")
        if channels not in (1, 3):
            raise ConfigError(f"channels={channels}: must be 1 or 3")
        if fit not in ("crop", "pad"):
            raise ConfigError(f"fit={fit!r}: must be 'crop' or 'pad'")
        self.resolution, self.channels, self.fit, self.hflip = resolution, channels, fit, hflip
        self.name = str(self.path)
        self._source = _Source(self.path)
        self.report = ScanReport(source=str(self.path))
        self.files = self._scan(max_files)
        if not self.files:
            if self.report.skipped:
                raise DatasetError(f"{self.path}: no readable image ({len(self.report.skipped)} files skipped, "
                                   f"e.g. {self.report.skipped[0][0]}: {self.report.skipped[0][1]})")
            raise DatasetError(f"{self.path}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
        classes = sorted({f.split("/")[0] for f in self.files if "/" in f})
        self.class_names = classes
        index = {c: i for i, c in enumerate(classes)}
        self.labels = [index.get(f.split("/")[0], 0) if "/" in f else 0 for f in self.files]
        self._reported_bad: set[str] = set()

    def _scan(self, max_files):
        good = []
        for name in self._source.list_files():
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES or Path(name).name.startswith("."):
                self.report.ignored += 1
                continue
            try:
                data = self._source.read(name)
                if not data:
                    raise ValueError("empty file (0 bytes)")
                with Image.open(io.BytesIO(data)) as probe:
                    size, mode = probe.size, probe.mode
                    probe.verify()
                if size[0] * size[1] > MAX_PIXELS:
                    raise ValueError(f"too large ({size[0]}x{size[1]})")
                if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-4096:]:
                    # verify() does not decode JPEG data: a missing end marker is the cheap tell.
                    raise ValueError("truncated JPEG (no end-of-image marker)")
            except Exception as exc:
                reason = str(exc) if isinstance(exc, ValueError) else _reason(exc)
                self.report.skipped.append((name, reason))
                log.warning("skipping %s: %s", self._display(name), reason)
                continue
            good.append(name)
            self.report.sizes[size] += 1
            self.report.modes[mode] += 1
            if max_files and len(good) >= max_files:
                break
        self.report.used = len(good)
        return good

    def _display(self, name):
        return f"{self.path}!{name}" if self._source.is_zip else str(self.path / name)

    def __len__(self):
        return len(self.files)

    def load(self, index: int) -> np.ndarray:
        """HWC uint8 image at the dataset resolution; a file that fails is replaced by the next."""
        for attempt in range(min(len(self.files), 50)):
            name = self.files[(index + attempt) % len(self.files)]
            try:
                image = decode_image(self._source.read(name), name, self.channels)
            except (ValueError, OSError) as exc:
                if name not in self._reported_bad:
                    self._reported_bad.add(name)
                    self.report.skipped.append((name, str(exc)))
                    log.warning("skipping %s: %s", self._display(name), exc)
                continue
            array = np.asarray(fit_square(image, self.resolution, self.fit))
            return array[:, :, None] if array.ndim == 2 else array
        raise DatasetError(f"{self.path}: 50 images in a row failed to decode")

    def __getitem__(self, index):
        array = self.load(index)
        if self.hflip and torch.rand(()) < 0.5:
            array = array[:, ::-1]
        tensor = torch.from_numpy(np.array(array)).permute(2, 0, 1).to(torch.float32) / 127.5 - 1
        return tensor, self.labels[index]
