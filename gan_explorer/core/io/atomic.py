"""Atomic writes: a reader (or a crash) never sees a half-written file.

Every output goes to a temporary file beside its target and is renamed over it only when
complete. The target must be a regular file (or not exist yet): a device node (/dev/full), a
FIFO, a directory or a symbolic link is never replaced by a regular file. A write that fails
for lack of space, or because the folder is read-only, becomes one OutputError line.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from gan_explorer.core.errors import DiskFullError, OutputError, escape_text

# errno values that mean "no room": the disk, a quota, or a file-size limit (RLIMIT_FSIZE).
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def check_output_path(path: str | os.PathLike) -> Path:
    """Refuse to replace anything but a regular file; returns the path."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise OutputError(f"{escape_text(os.fspath(path))}: cannot write here ({exc.strerror})") from None
    if stat.S_ISREG(info.st_mode):
        return path
    kind = ("a symbolic link" if stat.S_ISLNK(info.st_mode) else "a directory" if stat.S_ISDIR(info.st_mode)
            else "a character device" if stat.S_ISCHR(info.st_mode) else "a block device" if stat.S_ISBLK(info.st_mode)
            else "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
            else "not a regular file")
    hint = " (write to its target instead)" if stat.S_ISLNK(info.st_mode) else ""
    raise OutputError(f"{escape_text(os.fspath(path))}: is {kind}; refusing to replace it with a file{hint}")


def output_error(path, exc: OSError, needed: int | None = None) -> OutputError:
    """One line for an OSError met while writing `path`."""
    if exc.errno in NO_SPACE:
        reason = "disk full" if exc.errno == errno.ENOSPC else (
            "disk quota exceeded" if exc.errno == errno.EDQUOT else "file size limit reached")
        return DiskFullError(path, needed, reason)
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f"{escape_text(os.fspath(path))}: cannot write ({escape_text(reason, 200)})")


@contextmanager
def atomic_path(path: str | os.PathLike, needed: int | None = None):
    """Yields a temporary path beside `path`; renames it over `path` only if the block succeeds.

    `needed` (bytes), when known, is quoted if the disk fills up.
    """
    path = check_output_path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder (rename is atomic), hidden, and ending in the real suffix for writers that check it.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise output_error(path, exc, needed) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give them the usual mode
        check_output_path(path)  # still not a device or a link (it may have appeared meanwhile)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            raise output_error(path, exc, needed) from None
        if _is_disk_full(exc):
            raise DiskFullError(path, needed) from None
        raise


def _is_disk_full(exc) -> bool:
    """Writers that wrap the OS error in their own (torch's stream writer, safetensors)."""
    text = str(exc)
    return "No space left on device" in text or "os error 28" in text


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a write may be partial)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path, needed=len(data)) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def append_line(path: str | os.PathLike, line: bytes) -> None:
    """Append one complete line with a single write (O_APPEND).

    A file whose last line was cut short (a crash or a full disk mid-write) is first given its
    missing newline, so the damaged record stays alone on its line and the new one is whole.
    """
    if not line.endswith(b"\n"):
        line += b"\n"
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise output_error(path, exc, len(line)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputError(f"{escape_text(os.fspath(path))}: not a regular file")
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        write_all(fd, line)
        os.fsync(fd)
    except OSError as exc:
        raise output_error(path, exc, len(line)) from None
    finally:
        os.close(fd)
