"""Where whole tracebacks go: a rotating log file in the user's data folder.

The user sees one line (status bar, CLI); the log keeps everything needed to report a bug.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import tempfile
from pathlib import Path

from gan_explorer.core.paths import log_path

LOGGER_NAME = "gan_explorer"
_handler: logging.Handler | None = None
problem: str | None = None  # why the log is not where it should be (one line for the window), or None


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
    global problem
    problem = None
    try:
        _handler = _file_handler(path)
    except OSError as exc:  # a read-only or full data folder must not stop the app from starting
        fallback = Path(tempfile.gettempdir()) / f"gan_explorer-{os.getuid() if hasattr(os, 'getuid') else 'user'}" \
            / "logs" / path.name
        problem = f"cannot write the log in {path.parent} ({exc.strerror or exc}): logging to {fallback}"
        try:
            _handler = _file_handler(fallback)
            path = fallback
        except OSError:
            problem = f"cannot write the log in {path.parent} ({exc.strerror or exc}): logging to the terminal only"
            _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(level)
    if problem:
        logger.warning("%s", problem)
    return path


def _file_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    for name in [path] + [path.with_name(f"{path.name}.{i}") for i in range(1, 4)]:  # the log and its rotations
        if name.is_symlink() or (name.exists() and not name.is_file()):
            raise OSError(f"{name.name} is a link or not a regular file (the log never writes through one)")
    return logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
