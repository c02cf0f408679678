"""Open any model file a user points at: our checkpoints, NVIDIA pickles, rosinality .pt."""

from __future__ import annotations

import os
from pathlib import Path

from gan_explorer.core.io.checkpoint import load_model

FOREIGN_SUFFIXES = {".pkl", ".pt", ".pth"}


def open_model(path: str | os.PathLike, device="cpu"):
    """A model in eval mode on `device`, or CheckpointError naming the file and the reason."""
    path = Path(path)
    if path.suffix.lower() in FOREIGN_SUFFIXES:
        from gan_explorer.core.io.importers import import_model

        return import_model(path).to(device)
    return load_model(path, device=device)
