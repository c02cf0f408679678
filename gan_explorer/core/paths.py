"""Where the app keeps the user's data: models' bookmarks and libraries, signing keys, logs.

Tests point GAN_EXPLORER_DATA (or XDG_DATA_HOME) at a temporary folder, so they never touch
the user's home.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """The app's data folder: $GAN_EXPLORER_DATA, else $XDG_DATA_HOME/gan_explorer, else ~/.local/share."""
    explicit = os.environ.get("GAN_EXPLORER_DATA")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gan_explorer"


def log_path(data_dir: str | os.PathLike | None = None) -> Path:
    return Path(data_dir or default_data_dir()) / "logs" / "gan_explorer.log"
