"""Datasets: the procedural faces, image folders / zips, and small built-in sets."""

from __future__ import annotations

import numpy as np

from gan_explorer.core.data.builtin import BUILTIN, ArrayImageDataset
from gan_explorer.core.data.faces import FacesDataset, FaceFactors, render_face
from gan_explorer.core.data.folder import DatasetError, ImageFolderDataset
from gan_explorer.core.errors import ConfigError

__all__ = ["ArrayImageDataset", "DatasetError", "FaceFactors", "FacesDataset", "ImageFolderDataset",
           "open_dataset", "preview_images", "render_face"]


def open_dataset(spec: str, resolution: int | None = None, channels: int = 3, fit: str = "crop",
                 hflip: bool = False, count: int | None = None, seed: int = 0):
    """'faces', 'faces:64', 'digits', 'lfw_subset', or a folder / .zip path."""
    spec = str(spec)
    name, _, arg = spec.partition(":")
    if name == "faces":
        res = int(arg) if arg else resolution
        if res is None:
            raise ConfigError("faces: give a resolution, e.g. faces:64")
        if resolution is not None and arg and int(arg) != resolution:
            raise ConfigError(f"{spec}: resolution {arg} differs from the asked {resolution}")
        return FacesDataset(res, count=count, seed=seed, channels=channels)
    if resolution is None:
        raise ConfigError(f"{spec}: give a resolution for this dataset")
    if spec in BUILTIN:
        return ArrayImageDataset(spec, resolution, channels)
    return ImageFolderDataset(spec, resolution, channels=channels, fit=fit, hflip=hflip)


def preview_images(dataset, n: int = 16) -> np.ndarray:
    """The first n images as NHWC uint8 (for preview grids)."""
    n = min(n, len(dataset))
    images = [dataset.image(i) if hasattr(dataset, "image") else dataset.load(i) for i in range(n)]
    return np.stack(images)
