"""Errors the core raises for bad user input; each renders as one clear line.

Messages quote input (file names, tensor names, option keys, values), and input can hold
anything: terminal escape sequences that clear the screen or fake a line, newlines, bytes that
are not UTF-8, or megabytes of text. Every message goes through `escape_text` (control
characters and undecodable bytes become visible escapes) and is truncated, so a message is
always one printable line of bounded length; `quote` does the same for one quoted value.
"""

from __future__ import annotations

import os
import re

MAX_MESSAGE_CHARS = 2000  # a whole error line
MAX_QUOTED_CHARS = 200  # one quoted value (a file name, a key, a seed list) inside a message

# C0 controls, DEL, C1 controls, lone surrogates (undecodable bytes of a file name under
# surrogateescape), and the Unicode line/paragraph separators and bidi overrides that
# reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape_text(text, limit: int | None = MAX_MESSAGE_CHARS) -> str:
    """`text` as one printable line: control characters escaped (\\x1b, \\x0a, ...), then
    truncated to `limit` characters with a note of how much was left out."""
    text = _UNSAFE.sub(_escape_char, text if isinstance(text, str) else str(text))
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit:,} more characters)"
    return text


def quote(value, limit: int = MAX_QUOTED_CHARS) -> str:
    """One value from the user or a file, quoted for a message: escaped, truncated, in quotes."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    return "'" + escape_text(value, limit) + "'"


def shorten(value, limit: int = MAX_QUOTED_CHARS) -> str:
    """A value for a message without quotes (numbers, lists): escaped and truncated. An integer
    too long to print (Python refuses to convert one of more than 4300 digits) is given by its size."""
    try:
        return escape_text(value if isinstance(value, str) else repr(value), limit)
    except ValueError:  # an integer of more than 4300 digits, or a container holding one
        if isinstance(value, int):
            return f"(an integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits)"
        return f"({type(value).__name__} too long to show)"


class Terminated(BaseException):
    """SIGTERM arrived during long work (training): it ends like an interrupt, not as an error."""


class GanExplorerError(Exception):
    """Base class for errors caused by user input (files, values), not by bugs.

    The message is escaped and truncated here, so every error path gets one safe line.
    """

    def __init__(self, message="", *args):
        super().__init__(escape_text(message), *args)


class CheckpointError(GanExplorerError):
    """A model file that cannot be opened: names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{escape_text(self.path, MAX_QUOTED_CHARS * 2)}: {reason}")


class ConfigError(GanExplorerError):
    """A configuration value that is out of range or of the wrong type."""


class OutputError(GanExplorerError):
    """A file cannot be written where asked (read-only, a directory, a device, a full disk)."""


class DiskFullError(OutputError):
    """The disk (or a quota, or a file-size limit) ran out while writing `path`."""

    def __init__(self, path: str | os.PathLike, needed: int | None = None, reason: str = "disk full"):
        self.path, self.needed = os.fspath(path), needed
        detail = f", {needed:,} bytes needed" if needed is not None else ""
        super().__init__(f"{reason} ({escape_text(self.path, MAX_QUOTED_CHARS * 2)}{detail})")


class Cancelled(Exception):
    """Work was cancelled (by the user, a model switch or shutdown). Not KeyboardInterrupt."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The user's one line for an exception: its first line, or its type when it says nothing."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
