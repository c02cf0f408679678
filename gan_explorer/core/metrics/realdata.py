"""Features of the real images, cached per (dataset content, resolution, feature network, count).

The real side of every metric is the same for every snapshot of a run, so it is computed once and
kept in the user's cache folder ($GAN_EXPLORER_CACHE, else $XDG_CACHE_HOME/gan_explorer, else
~/.cache/gan_explorer), under metrics/. The key is a hash of what the images *are*, not of where
they are: the bytes of each file of a folder or zip, the pixels of a built-in set, and for the
procedural faces their generator settings plus the pixels of their first faces (so a change of
the drawing code changes the key).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.io.atomic import atomic_write_bytes
from gan_explorer.core.io.reading import is_regular_file, read_npy
from gan_explorer.core.progress import Steps

CACHE_VERSION = 1


def cache_dir() -> Path:
    explicit = os.environ.get("GAN_EXPLORER_CACHE")
    if explicit:
        return Path(explicit) / "metrics"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gan_explorer" / "metrics"


class AreaDownsampled:
    """A dataset seen at a lower resolution, area-averaged (what a progressive run's trainer fed
    its discriminator at that resolution): image(i) as the wrapped dataset's, resized."""

    def __init__(self, dataset, resolution: int):
        self.dataset, self.resolution = dataset, int(resolution)
        self.channels = getattr(dataset, "channels", 3)
        self.name = f"{getattr(dataset, 'name', type(dataset).__name__)} at {self.resolution} px (area)"
        self.seed = getattr(dataset, "seed", None)
        if hasattr(dataset, "factors"):  # procedural faces: fingerprinted by seed and first pixels, not all
            self.factors = dataset.factors

    def __len__(self):
        return len(self.dataset)

    def image(self, index: int) -> np.ndarray:
        from PIL import Image

        array = dataset_images(self.dataset, [index])[0]
        small = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
        small = np.asarray(small.resize((self.resolution, self.resolution), Image.BOX))
        return small[:, :, None] if small.ndim == 2 else small


def dataset_images(dataset, indices) -> np.ndarray:
    """NHWC uint8 images of `dataset` at its resolution."""
    load = dataset.image if hasattr(dataset, "image") else dataset.load
    return np.stack([load(int(i)) for i in indices])


def to_tensor(images_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images_uint8)).permute(0, 3, 1, 2).float() / 127.5 - 1


def dataset_fingerprint(dataset, count: int) -> str:
    """A content hash of the first `count` images of `dataset` (see the module docstring)."""
    h = hashlib.sha256()
    h.update(f"{type(dataset).__name__}|{getattr(dataset, 'resolution', '')}|{getattr(dataset, 'channels', '')}|"
             f"{getattr(dataset, 'fit', '')}|{count}".encode())
    if hasattr(dataset, "factors") and hasattr(dataset, "seed"):  # procedural faces: settings + first pixels
        h.update(f"faces|seed={dataset.seed}".encode())
        for i in range(min(count, 4)):
            h.update(dataset.image(i).tobytes())
    elif hasattr(dataset, "files") and hasattr(dataset, "_source"):  # a folder or zip: the files' bytes
        for name in dataset.files[:count]:
            h.update(name.encode("utf-8", "surrogateescape") + b"\0")
            h.update(hashlib.sha256(dataset._source.read(name)).digest())
    else:
        for i in range(count):
            h.update(np.ascontiguousarray(dataset_images(dataset, [i])).tobytes())
    return h.hexdigest()


def real_features(dataset, features, count: int, batch_size: int = 128, use_cache: bool = True,
                  progress=None, should_stop=None) -> tuple[np.ndarray, dict]:
    """(features [count, dim] float32, info) of the first `count` images of `dataset`.

    info: {'cache': 'hit' | 'miss' | 'off', 'path': cache file, 'count': count}."""
    count = min(int(count), len(dataset))
    key = hashlib.sha256(f"v{CACHE_VERSION}|{dataset_fingerprint(dataset, count)}|{features.identity}|"
                         f"{count}".encode()).hexdigest()[:32]
    path = cache_dir() / f"{features.name.split(':')[0]}-{key}.npy"
    if use_cache and is_regular_file(path):
        try:  # the header is checked against the file before anything is allocated
            cached = read_npy(path, count * features.dim, "metrics cache")
            if cached.shape == (count, features.dim) and cached.dtype == np.float32:
                if progress is not None:
                    progress(1, 1)
                return cached, {"cache": "hit", "path": str(path), "count": count}
        except GanExplorerError:
            pass  # a damaged cache file is recomputed and replaced
    steps = Steps(max(1, -(-count // batch_size)), progress, should_stop)
    out = []
    for start in range(0, count, batch_size):
        images = to_tensor(dataset_images(dataset, range(start, min(start + batch_size, count))))
        out.append(features.extract(images))
        steps.step()
    result = torch.cat(out).numpy().astype(np.float32)
    if use_cache:
        buffer = io.BytesIO()
        np.save(buffer, result, allow_pickle=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
        meta = {"dataset": getattr(dataset, "name", type(dataset).__name__), "count": count,
                "features": features.name, "feature_identity": features.identity}
        atomic_write_bytes(path.with_suffix(".json"), json.dumps(meta, indent=1).encode())
    return result, {"cache": "miss" if use_cache else "off", "path": str(path), "count": count}
