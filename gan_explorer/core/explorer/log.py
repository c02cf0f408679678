"""Where whole tracebacks go: a rotating log file in the user's data folder.

The user sees one line (status bar, CLI); the log keeps everything needed to report a bug.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from gan_explorer.core.paths import log_path

LOGGER_NAME = "gan_explorer"
_handler: logging.Handler | None = None


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
