"""Open any model file a user points at: our checkpoints now, foreign formats as importers land."""

from __future__ import annotations

import os
from pathlib import Path

from gan_explorer.core.errors import CheckpointError
from gan_explorer.core.io.checkpoint import load_model

FOREIGN_SUFFIXES = {".pkl": "NVIDIA network pickle", ".pt": "PyTorch checkpoint", ".pth": "PyTorch checkpoint"}


def open_model(path: str | os.PathLike, device="cpu"):
    """A model in eval mode, or CheckpointError naming the file and the reason."""
    path = Path(path)
    kind = FOREIGN_SUFFIXES.get(path.suffix.lower())
    if kind is not None and path.is_file():
        raise CheckpointError(path, f"{kind}s cannot be opened yet: only gan_explorer .safetensors checkpoints")
    return load_model(path, device=device)
