"""Latent files a user can save and re-render: .npy (ws or z array) or .json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.io.atomic import atomic_path, atomic_write_text


def save_latent(path: str | os.PathLike, ws: torch.Tensor, **info) -> None:
    """ws [n, num_ws, w_dim] -> .npy (the array) or .json ({"ws": ..., plus info such as seed})."""
    path = Path(path)
    array = ws.detach().cpu().to(torch.float32).numpy()
    if path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps({"ws": array.tolist(), **info}))
    else:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, array)


def load_latent(path: str | os.PathLike, num_ws: int, w_dim: int) -> torch.Tensor:
    """ws [n, num_ws, w_dim] from a latent file; a single w [w_dim] is broadcast to every layer."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
            array = np.asarray(data["ws"] if isinstance(data, dict) else data, dtype=np.float32)
        else:
            array = np.load(path, allow_pickle=False).astype(np.float32)
    except FileNotFoundError:
        raise GanExplorerError(f"{path}: no such latent file") from None
    except (ValueError, KeyError, OSError, TypeError) as exc:
        raise GanExplorerError(f"{path}: not a latent file ({exc})") from None
    if array.ndim == 1:
        array = np.broadcast_to(array, (num_ws, array.shape[0]))
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (num_ws, w_dim):
        raise GanExplorerError(f"{path}: latent has shape {list(array.shape)}, "
                               f"the model needs [n, {num_ws}, {w_dim}]")
    if not np.isfinite(array).all():
        raise GanExplorerError(f"{path}: latent contains NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array))
