"""The one writer of every file the project writes: a reader (or a crash) never sees a
half-written file, and nothing outside the output is ever written, truncated or deleted.

Every output goes to a temporary file beside its target and is renamed over it only when
complete. The target must be a regular file (or not exist yet): a device node (/dev/full), a
FIFO, a directory or a symbolic link is never replaced by a regular file. A write that fails
for lack of space, or because the folder is read-only, becomes one OutputError line.

Files written in place (appended jsonl records, a log, a run's lock file, a control marker) are
opened without following a symbolic link and without blocking, and refused unless they are a
regular file with no other name (a hard link would carry the write to the user's file).

Temporaries: `atomic_path` deletes the one it made, by its exact name. What a killed process
left behind is only ever deleted by `remove_stale_temporaries`, for the target names its caller
owns, and only a file of exactly the shape `atomic_path` gives its temporaries
(`.<target>.<8 random characters>.tmp<target's suffix>`), a regular file, owned by this user.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from gan_explorer.core.errors import DiskFullError, OutputError, escape_text

# errno values that mean "no room": the disk, a quota, or a file-size limit (RLIMIT_FSIZE).
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# The random part of a temporary's name: what tempfile.mkstemp draws (8 of these characters).
_RANDOM_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TEMPORARY = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp(?P<suffix>(\.[^./]*)?)", re.DOTALL)


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
    hint = " (write to its target instead)" if stat.S_ISLNK(info.st_mode) else ""
    raise OutputError(f"{escape_text(os.fspath(path))}: is {_kind(info.st_mode)}; refusing to replace it with a "
                      f"file{hint}")


def _kind(mode: int) -> str:
    return ("a symbolic link" if stat.S_ISLNK(mode) else "a directory" if stat.S_ISDIR(mode)
            else "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")


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


def atomic_write_bytes(path: str | os.PathLike, data: bytes, sync: bool = True) -> None:
    """`sync`: fsync before the rename (off for many small files that can be made again)."""
    with atomic_path(path, needed=len(data)) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            write_all(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def open_in_place(path: str | os.PathLike, create: bool = True, append: bool = True) -> int:
    """A descriptor (read-write) of a file written where it is: never through a symbolic link,
    never blocking (a FIFO), and only a regular file with no other name (a hard link): anything
    else is one OutputError line. `create`: make it when missing."""
    path = Path(path)
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    flags |= (os.O_CREAT if create else 0) | (os.O_APPEND if append else 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
            raise OutputError(f"{escape_text(os.fspath(path))}: is a symbolic link; refusing to write through "
                              f"it") from None
        raise output_error(path, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{escape_text(os.fspath(path))}: is {_kind(info.st_mode)}, not a regular file; "
                              f"refusing to write to it")
        if info.st_nlink > 1:
            raise OutputError(f"{escape_text(os.fspath(path))}: has {info.st_nlink} names (hard links); refusing "
                              f"to write to a file that is also elsewhere")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_append(path: str | os.PathLike):
    """A binary file object appending to `path` (a log), opened as `open_in_place` opens it."""
    return os.fdopen(open_in_place(path), "ab")


def create_marker(path: str | os.PathLike) -> None:
    """Make an empty file at `path` where none is (a control request); one already there is
    left as it is, whatever it is. Never follows a link, never blocks."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         0o666))
    except FileExistsError:
        pass
    except OSError as exc:
        raise output_error(path, exc) from None


def append_line(path: str | os.PathLike, line: bytes) -> None:
    """Append one complete line with a single write (O_APPEND), to a regular file only (see
    `open_in_place`: a link, a FIFO or a device is refused, never written through).

    A file whose last line was cut short (a crash or a full disk mid-write) is first given its
    missing newline, so the damaged record stays alone on its line and the new one is whole.
    """
    if not line.endswith(b"\n"):
        line += b"\n"
    path = Path(path)
    fd = open_in_place(path)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        write_all(fd, line)
        os.fsync(fd)
    except OSError as exc:
        raise output_error(path, exc, len(line)) from None
    finally:
        os.close(fd)


def link_into_place(source: str | os.PathLike, path: str | os.PathLike) -> None:
    """Make `path` a second name of the file `source`, atomically (a hard link under a temporary
    name of our own, renamed over `path`); OSError where links are not supported."""
    path = check_output_path(path)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{''.join(secrets.choice(_RANDOM_CHARS) for _ in range(8))}"
                             f".tmp{path.suffix}")
        try:
            os.link(source, tmp)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(path))
    try:
        check_output_path(path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)  # the name we made, and only it
        except OSError:
            pass
        raise


def is_temporary_of(name: str, owns) -> bool:
    """Whether `name` is exactly a temporary `atomic_path` makes for a target that `owns(target)`."""
    match = _TEMPORARY.fullmatch(name)
    return bool(match and os.path.splitext(match["target"])[1] == match["suffix"] and owns(match["target"]))


def remove_stale_temporaries(folder: str | os.PathLike, owns) -> list[str]:
    """Delete what a killed writer left in `folder`: files named exactly as `atomic_path` names the
    temporaries of a target `owns(target)` is true for, that are regular files (never a link, a
    folder or a device) with one name, owned by this user. Anything else, a user's
    `.thesis.docx.tmp` included, is never touched. Returns the names deleted."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_temporary_of(entry.name, owns):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_uid == os.geteuid():
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            pass
    return removed
