"""Where whole tracebacks go: a rotating log file in the user's data folder.

The user sees one line (status bar, CLI); the log keeps everything needed to report a bug.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

LOGGER_NAME = "gan_explorer"
_handler: logging.Handler | None = None


def default_data_dir() -> Path:
    """The app's data folder: $GAN_EXPLORER_DATA, else $XDG_DATA_HOME/gan_explorer, else ~/.local/share."""
    explicit = os.environ.get("GAN_EXPLORER_DATA")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gan_explorer"


def log_path(data_dir: str | os.PathLike | None = None) -> Path:
    return Path(data_dir or default_data_dir()) / "logs" / "gan_explorer.log"


def configure_logging(data_dir: str | os.PathLike | None = None, level=logging.INFO) -> Path:
    """Send the app's log records to a rotating file (1 MB x 3); returns its path. Idempotent."""
    global _handler
    path = log_path(data_dir)
    logger = logging.getLogger(LOGGER_NAME)
    if _handler is not None:
        if Path(getattr(_handler, "baseFilename", "")) == path.resolve():
            return path
        logger.removeHandler(_handler)
        _handler.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    _handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(level)
    return path


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The user's one line for an exception: its first line, or its type when it says nothing."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
