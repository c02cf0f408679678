"""Latent files a user can save and re-render: .npy (ws or z array) or .json.

A latent file comes from anywhere, so it is read within limits: a .npy header is parsed and
checked against the file's length before any array is allocated (a 4 TB shape in a 128-byte
file is one line, not a MemoryError), object arrays are refused, JSON is size- and
depth-limited, and the number of latents is capped (`max_count`; the CLI's --max-images).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import GanExplorerError, escape_text
from gan_explorer.core.io import reading
from gan_explorer.core.io.atomic import atomic_path, atomic_write_text

MAX_LATENTS = 1024  # latents rendered from one file unless the caller allows more
MAX_JSON_BYTES = 64 * 1024**2  # JSON is for a few latents (the window saves one); many belong in a .npy
MAX_JSON_DEPTH = 8  # {"ws": [[[...]]]} is 4 deep


class LatentFileError(GanExplorerError):
    """A latent file that cannot be used: names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = os.fspath(path)
        super().__init__(f"{escape_text(self.path, 400)}: {reason}")


def save_latent(path: str | os.PathLike, ws: torch.Tensor, **info) -> None:
    """ws [n, num_ws, w_dim] -> .npy (the array) or .json ({"ws": ..., plus info such as seed})."""
    path = Path(path)
    array = ws.detach().cpu().to(torch.float32).numpy()
    if path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps({"ws": array.tolist(), **info}))
    else:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:  # the temporary atomic_path made: never a link or a FIFO
                np.save(f, array)


def save_noise(path: str | os.PathLike, noises) -> None:
    """The noise images `project --noise optimize` found, as an .npz (arr_0, arr_1, ... in layer
    order), written atomically: a link, a FIFO or a device at `path` is refused, never written through."""
    arrays = [np.asarray(n.detach().cpu().numpy() if isinstance(n, torch.Tensor) else n) for n in noises]
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, *arrays)


def read_npy(path: str | os.PathLike, max_elements: int, hint: str = "") -> np.ndarray:
    """A numeric .npy array of at most `max_elements` values, checked before it is allocated."""
    return reading.read_npy(path, max_elements, "latent file", hint)


def _read_json(path: Path, max_count: int, num_ws: int, w_dim: int):
    limit = min(MAX_JSON_BYTES, 64 * 1024 + max_count * num_ws * w_dim * 32)  # 32 characters a float is generous
    try:
        data = reading.read_user_json(path, limit, "latent file", MAX_JSON_DEPTH)
    except reading.UserFileError as exc:
        if exc.reason.startswith("too large"):
            raise LatentFileError(path, f"more than a JSON of {max_count:,} latents needs (limit {limit:,} "
                                        f"bytes); use --max-images to allow more, or .npy") from None
        raise LatentFileError(path, exc.reason) from None
    ws = data.get("ws") if isinstance(data, dict) else data
    if ws is None:
        raise LatentFileError(path, "not a latent file (no \"ws\" key)")
    try:
        return np.asarray(ws, dtype=np.float32)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise LatentFileError(path, "not a latent file (\"ws\" is not a rectangular array of numbers)") from None


def load_latent(path: str | os.PathLike, num_ws: int, w_dim: int, max_count: int = MAX_LATENTS) -> torch.Tensor:
    """ws [n, num_ws, w_dim] from a latent file; a single w [w_dim] is broadcast to every layer.

    At most `max_count` latents; more is one line that names the cap.
    """
    path = Path(path)
    if path.suffix.lower() == ".png":  # a picture this app exported remembers the ws it was made from
        from gan_explorer.core.latent.provenance import read_picture_provenance

        provenance = read_picture_provenance(path)
        if provenance is None or provenance.ws is None:
            raise LatentFileError(path, "this picture carries no gan_explorer latent (only PNGs the app "
                                        "exported do)")
        array = provenance.ws
    elif path.suffix.lower() == ".json":
        array = _read_json(path, max_count, num_ws, w_dim)
    else:
        array = read_npy(path, max_elements=max_count * num_ws * w_dim,
                         hint=f" ({max_count:,} latents of {num_ws} x {w_dim}); use --max-images to render more"
                         ).astype(np.float32)
    if array.ndim == 1:
        array = np.broadcast_to(array, (num_ws, array.shape[0]))
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (num_ws, w_dim):
        raise LatentFileError(path, f"latent has shape {list(array.shape)}, the model needs [n, {num_ws}, {w_dim}]")
    if len(array) == 0:
        raise LatentFileError(path, "holds no latent (an array of 0 rows)")
    if len(array) > max_count:
        raise LatentFileError(path, f"{len(array):,} latents, more than {max_count:,}; "
                                    f"use --max-images to render more")
    if not np.isfinite(array).all():
        raise LatentFileError(path, "latent contains NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array))
