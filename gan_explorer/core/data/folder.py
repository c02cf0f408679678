"""Image collections from a folder (recursive) or a .zip: bad files are skipped, never fatal.

Files are listed and checked once up front (header + `verify()`); a file that still fails
to decode later is replaced by another image and reported once. Images are converted to
RGB (or grayscale), centre-cropped (or padded) to a square and resized to the resolution.
Only the file list is held in memory, so folders of 100k+ images are fine.

Hostile entries are named and skipped, never followed into: anything that is not a regular
file (a FIFO named `fifo.png`, a symlink to /dev/zero), a file or zip member larger than
MAX_FILE_BYTES (checked from the zip directory and again while reading), a folder that
cannot be read, and content that is not one of the promised picture formats (a PostScript
file named `.png` never reaches Ghostscript: see core/io/pictures.py).
"""

from __future__ import annotations

import logging
import os
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan_explorer.core.errors import ConfigError, GanExplorerError, escape_text
from gan_explorer.core.io.pictures import MAX_PIXELS, PICTURE_SUFFIXES, decode_picture, probe_picture  # noqa: F401

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = PICTURE_SUFFIXES
MAX_FILE_BYTES = 256 * 1024**2  # per picture: far above any real photo, far below a zip bomb or /dev/zero


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

    def __init__(self, path: Path, max_bytes: int = MAX_FILE_BYTES):
        self.path = path
        self.is_zip = path.is_file()
        self.max_bytes = max_bytes
        self._zip = None
        self._zip_pid = None
        self.unreadable: list[tuple[str, str]] = []  # folders (and links to folders) not listed

    def list_files(self) -> list[str]:
        if self.is_zip:
            return sorted(n for n in self._archive().namelist() if not n.endswith("/"))
        files = []

        def unreadable(exc: OSError):
            name = os.path.relpath(exc.filename or str(self.path), self.path).replace(os.sep, "/")
            self.unreadable.append((name + "/", f"cannot read the folder ({exc.strerror or exc})"))

        for root, dirs, names in os.walk(self.path, onerror=unreadable):
            dirs.sort()
            for name in list(dirs):
                if os.path.islink(os.path.join(root, name)):  # os.walk does not follow these: say so
                    rel = os.path.relpath(os.path.join(root, name), self.path).replace(os.sep, "/")
                    self.unreadable.append((rel + "/", "a symbolic link to a folder (not followed)"))
            for name in names:
                files.append(os.path.relpath(os.path.join(root, name), self.path).replace(os.sep, "/"))
        return sorted(files)

    def read(self, name: str) -> bytes:
        """The bytes of one file, at most max_bytes; ValueError (the reason) for anything else."""
        if self.is_zip:
            return self._read_member(name)
        path = self.path / name
        try:
            info = os.stat(path)  # follows a symlink: what matters is what it points to
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"not a regular file ({_kind(info.st_mode)})")
            if info.st_size > self.max_bytes:
                raise ValueError(f"too large ({info.st_size:,} bytes; the limit is {self.max_bytes:,})")
            # Non-blocking: a FIFO swapped in after the check still cannot hang the read.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise ValueError(f"cannot read ({exc.strerror or exc})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError("not a regular file")
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(self.max_bytes + 1)
        except OSError as exc:
            raise ValueError(f"cannot read ({exc.strerror or exc})") from None
        finally:
            os.close(fd)
        if len(data) > self.max_bytes:
            raise ValueError(f"too large (more than {self.max_bytes:,} bytes)")
        return data

    def _read_member(self, name: str) -> bytes:
        try:
            info = self._archive().getinfo(name)
            if info.file_size > self.max_bytes:  # what the directory says the member inflates to
                raise ValueError(f"too large ({info.file_size:,} bytes uncompressed; the limit is {self.max_bytes:,})")
            with self._archive().open(info) as member:
                data = member.read(self.max_bytes + 1)  # and what it really inflates to
        except ValueError:
            raise
        except (OSError, zipfile.BadZipFile, RuntimeError, EOFError, KeyError, NotImplementedError) as exc:
            raise ValueError(f"cannot read the zip member ({_short(exc)})") from None
        if len(data) > self.max_bytes:
            raise ValueError(f"too large (inflates past {self.max_bytes:,} bytes)")
        return data

    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip = zipfile.ZipFile(self.path)
            self._zip_pid = os.getpid()
        return self._zip

    def __getstate__(self):
        return {"path": self.path, "is_zip": self.is_zip, "max_bytes": self.max_bytes, "_zip": None,
                "_zip_pid": None, "unreadable": self.unreadable}


def _kind(mode: int) -> str:
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a directory" if stat.S_ISDIR(mode) else "special file")


def _short(exc) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


MAX_RESOLUTION = 4096  # a dataset resized beyond this is a typo, and a 20000 px grid would take gigabytes


def check_resolution(resolution) -> int:
    """A dataset resolution: an integer from 1 to MAX_RESOLUTION, else one ConfigError line."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 1 <= resolution <= MAX_RESOLUTION:
        raise ConfigError(f"resolution {resolution!r}: must be an integer from 1 to {MAX_RESOLUTION}")
    return resolution


def decode_image(data: bytes, name: str = "", channels: int = 3) -> Image.Image:
    """Bytes -> a fully decoded RGB (or L) image; raises ValueError with the reason.

    Kept under this name for callers (dropped pictures); the work is core/io/pictures.py's.
    """
    return decode_picture(data, channels)


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
                 hflip: bool = False, max_files: int | None = None, max_file_bytes: int = MAX_FILE_BYTES):
        self.path = Path(path)
        if not self.path.exists():
            raise DatasetError(f"{self.path}: no such folder or zip file")
        if self.path.is_file() and not zipfile.is_zipfile(self.path):
            raise DatasetError(f"{self.path}: not a folder or a .zip file")
        if channels not in (1, 3):
            raise ConfigError(f"channels={channels}: must be 1 or 3")
        if fit not in ("crop", "pad"):
            raise ConfigError(f"fit={fit!r}: must be 'crop' or 'pad'")
        check_resolution(resolution)
        self.resolution, self.channels, self.fit, self.hflip = resolution, channels, fit, hflip
        self.name = str(self.path)
        self._source = _Source(self.path, max_file_bytes)
        self.report = ScanReport(source=str(self.path))
        try:
            self.files = self._scan(max_files)
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
            raise DatasetError(f"{self.path}: cannot list the files ({_short(exc)})") from None
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
        names = self._source.list_files()
        for name, reason in self._source.unreadable:
            self.report.skipped.append((name, reason))
            log.warning("skipping %s: %s", self._display(name), reason)
        for name in names:
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES or Path(name).name.startswith("."):
                self.report.ignored += 1
                continue
            try:
                size, mode = probe_picture(self._source.read(name))
            except ValueError as exc:
                self.report.skipped.append((name, str(exc)))
                log.warning("skipping %s: %s", self._display(name), escape_text(exc))
                continue
            good.append(name)
            self.report.sizes[size] += 1
            self.report.modes[mode] += 1
            if max_files and len(good) >= max_files:
                break
        self.report.used = len(good)
        return good

    def _display(self, name):
        return escape_text(f"{self.path}!{name}" if self._source.is_zip else str(self.path / name))

    def __len__(self):
        return len(self.files)

    def load(self, index: int) -> np.ndarray:
        """HWC uint8 image at the dataset resolution; a file that fails is replaced by the next."""
        for attempt in range(min(len(self.files), 50)):
            name = self.files[(index + attempt) % len(self.files)]
            try:
                image = decode_picture(self._source.read(name), self.channels)
            except (ValueError, OSError) as exc:
                if name not in self._reported_bad:
                    self._reported_bad.add(name)
                    self.report.skipped.append((name, str(exc)))
                    log.warning("skipping %s: %s", self._display(name), escape_text(exc))
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
