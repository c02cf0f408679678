"""Reading a file the user names: the one way in for pictures' provenance, latent files, direction
libraries, encoders, run options and caches.

A name can point anywhere: a FIFO (opening it for reading blocks until a writer comes, forever),
a device (/dev/zero never ends, and a link can give it any name), a folder, or a file far larger
than what it claims to be. So every read here

- checks that the path is a regular file (following links) before opening it, then opens it
  without blocking and checks the opened file again (the name may have been swapped meanwhile);
- bounds the size by actually reading at most `max_bytes` + 1 bytes, never trusting st_size;
- fails with one UserFileError line naming the file and the reason.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import zlib

import numpy as np

from gan_explorer.core.errors import MAX_QUOTED_CHARS, GanExplorerError, escape_text

MAX_JSON_DEPTH = 32  # nesting of JSON a user's file may hold (ours is 4 deep at most)


class UserFileError(GanExplorerError):
    """A file the user named cannot be read: the file and the reason, on one line."""

    def __init__(self, path, reason: str):
        self.path, self.reason = os.fspath(path), reason
        super().__init__(f"{escape_text(self.path, MAX_QUOTED_CHARS * 2)}: {reason}")


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in a few words."""
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")


def _reason(exc: OSError) -> str:
    return "no such file" if isinstance(exc, FileNotFoundError) else \
        f"cannot read ({escape_text(exc.strerror or str(exc) or type(exc).__name__, 200)})"


def open_regular(path, what: str = "file") -> io.BufferedReader:
    """A binary reader on the regular file `path` (links followed); UserFileError otherwise.

    The check comes before the open (a FIFO is never opened) and again on the opened file."""
    try:
        before = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise UserFileError(path, _reason(exc) if isinstance(exc, OSError) else "not a usable file name") from None
    if not stat.S_ISREG(before.st_mode):
        raise UserFileError(path, f"not a regular file ({kind_of(before.st_mode)})")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UserFileError(path, _reason(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UserFileError(path, f"not a regular file ({kind_of(info.st_mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(f, path, max_bytes: int, what: str = "file") -> bytes:
    """At most `max_bytes` from the open file `f`; more is one line naming the limit."""
    try:
        data = f.read(max_bytes + 1)
    except OSError as exc:
        raise UserFileError(path, _reason(exc)) from None
    if len(data) > max_bytes:
        raise UserFileError(path, f"too large for a {what} (more than {max_bytes:,} bytes)")
    return data


def read_user_file(path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of the regular file `path`, at most `max_bytes` of them."""
    with open_regular(path, what) as f:
        return read_bounded(f, path, max_bytes, what)


def read_user_text(path, max_bytes: int, what: str = "file") -> str:
    data = read_user_file(path, max_bytes, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserFileError(path, f"not a {what} (not UTF-8 text)") from None


def check_depth(value, max_depth: int = MAX_JSON_DEPTH) -> None:
    """ValueError when parsed JSON is nested more than `max_depth` deep (walked without recursion)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"nested too deeply (more than {max_depth} levels)")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def parse_json_text(text: str, max_depth: int = MAX_JSON_DEPTH):
    """JSON from a user's file: ValueError (one line) for invalid, deeply nested or huge-number JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, and integers of more than 4300 digits
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"invalid JSON ({escape_text(first, 120)})") from None
    check_depth(value, max_depth)
    return value


def read_user_json(path, max_bytes: int, what: str = "file", max_depth: int = MAX_JSON_DEPTH):
    """Parsed JSON from the regular file `path` of at most `max_bytes`; UserFileError otherwise."""
    text = read_user_text(path, max_bytes, what)
    try:
        return parse_json_text(text, max_depth)
    except ValueError as exc:
        raise UserFileError(path, f"not a {what}: {exc}") from None


def read_npy(path, max_elements: int, what: str = "file", hint: str = "") -> np.ndarray:
    """A numeric .npy array of at most `max_elements` values. The header is parsed and checked
    against the file's length before any array is allocated; object arrays are refused."""
    with open_regular(path, what) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unknown .npy version {version}")
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
            text = str(exc).strip().splitlines()
            detail = escape_text(text[0] if text else type(exc).__name__, 120)
            raise UserFileError(path, f"not a .npy array ({detail})") from None
        if dtype.hasobject or dtype.kind not in "fiu":
            raise UserFileError(path, f"holds {escape_text(str(dtype), 60)} data, not numbers")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * dtype.itemsize
        stored = os.fstat(f.fileno()).st_size - f.tell()  # only for the message: the read below is bounded
        if nbytes != stored:
            raise UserFileError(path, f"its header promises {list(shape)} {dtype} ({nbytes:,} bytes) but the "
                                      f"file holds {max(stored, 0):,}")
        if count > max_elements:
            raise UserFileError(path, f"{count:,} values, more than the {max_elements:,} allowed here{hint}")
        data = read_bounded(f, path, nbytes, what)
        if len(data) != nbytes:
            raise UserFileError(path, f"its header promises {nbytes:,} bytes of data, the file holds {len(data):,}")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def is_regular_file(path) -> bool:
    """Whether `path` names a regular file (links followed); never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False



# --- PNG text chunks ---------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
MAX_PNG_CHUNKS = 100_000  # an APNG of 3000 frames has 6000; libpng's 8 KB IDAT chunks: 800 MB of pixels


def read_png_text(path, keyword: str, max_bytes: int, what: str = "picture") -> str | None:
    """The text of the first tEXt / zTXt / iTXt chunk named `keyword` in the PNG `path`, or None
    (not a PNG, no such chunk among the first MAX_PNG_CHUNKS, a truncated file).

    Read chunk by chunk from the file: pixel data (IDAT, an APNG's frames) is skipped, never
    decoded; the text is at most `max_bytes`, compressed text inflated no further than that."""
    key = keyword.encode("latin-1")
    with open_regular(path, what) as f:
        if f.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return None
        for _ in range(MAX_PNG_CHUNKS):
            head = f.read(8)
            if len(head) < 8:
                return None
            (length,), kind = struct.unpack(">I", head[:4]), head[4:]
            if kind == b"IEND" or length > 2**31 - 1:
                return None
            if kind not in TEXT_CHUNKS:
                f.seek(length + 4, os.SEEK_CUR)  # the data and its CRC, unread
                continue
            start = f.read(min(length, len(key) + 1))
            if start != key + b"\0":
                f.seek(length - len(start) + 4, os.SEEK_CUR)
                continue
            if length > max_bytes + len(key) + 1024:
                raise UserFileError(path, f"its {keyword} text is larger than it can be "
                                          f"({length:,} bytes; the limit is {max_bytes:,})")
            rest = f.read(length - len(start))
            crc = f.read(4)
            if len(rest) < length - len(start) or len(crc) < 4:
                return None
            if zlib.crc32(kind + start + rest) & 0xFFFFFFFF != struct.unpack(">I", crc)[0]:
                raise UserFileError(path, f"its {keyword} text is damaged (CRC mismatch)")
            return _png_text(path, kind, rest, keyword, max_bytes)
    return None


def _png_text(path, kind: bytes, body: bytes, keyword: str, max_bytes: int) -> str:
    """A text chunk's text (after its keyword and NUL): tEXt latin-1, zTXt deflated latin-1, iTXt
    UTF-8, deflated when its flag says so (language and translated keyword skipped)."""
    encoding = "latin-1"
    if kind == b"zTXt":
        compressed, body = True, body[1:]
    elif kind == b"iTXt":
        compressed, encoding = body[:1] == b"\x01", "utf-8"
        parts = body[2:].split(b"\0", 2)
        if len(parts) < 3:
            raise UserFileError(path, f"its {keyword} text is damaged (a malformed iTXt chunk)")
        body = parts[2]
    else:
        compressed = False
    if compressed:
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, max_bytes + 1)
        except zlib.error:
            raise UserFileError(path, f"its {keyword} text is damaged (not deflate data)") from None
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise UserFileError(path, f"its {keyword} text inflates past {max_bytes:,} bytes")
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        raise UserFileError(path, f"its {keyword} text is damaged (not UTF-8)") from None


__all__ = ["UserFileError", "open_regular", "read_bounded", "read_user_file", "read_user_text", "read_user_json",
           "parse_json_text", "check_depth", "read_npy", "is_regular_file", "kind_of", "read_png_text"]
