"""Open any model file a user points at: our checkpoints, NVIDIA pickles, rosinality .pt."""

from __future__ import annotations

import os
from pathlib import Path

from gan_explorer.core.io.checkpoint import load_model

FOREIGN_SUFFIXES = {".pkl", ".pt", ".pth"}


def open_model(path: str | os.PathLike, device="cpu", truncation_latent=None):
    """A model in eval mode on `device`, or CheckpointError naming the file and the reason.

    truncation_latent: for imported StyleGANs, a .npy w that replaces w_avg (rosinality
    checkpoints carry none; without it, w_avg is estimated as rosinality's generate.py does).
    """
    path = Path(path)
    if path.suffix.lower() in FOREIGN_SUFFIXES:
        from gan_explorer.core.io.importers import import_model

        return import_model(path, truncation_latent=truncation_latent).to(device)
    model = load_model(path, device=device)
    if truncation_latent is not None:
        from gan_explorer.core.errors import ConfigError
        from gan_explorer.core.io.importers import read_truncation_latent

        if not hasattr(getattr(model, "mapping", None), "w_avg"):
            raise ConfigError(f"--truncation-latent: the {model.family} model has no mapping network and no w_avg")
        model.mapping.w_avg.copy_(read_truncation_latent(truncation_latent, model.w_dim).to(model.mapping.w_avg))
    return model
