"""Small real datasets that ship inside installed packages, usable by name when present."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from gan_explorer.core.data.folder import DatasetError, check_resolution, fit_square


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DatasetError("dataset 'digits' needs scikit-learn (pip install scikit-learn)") from None
    data = load_digits()
    images = (data.images / 16.0 * 255).astype(np.uint8)  # 8x8, values 0..16
    return images, data.target.astype(int), [str(i) for i in range(10)]


def _lfw_subset():
    try:
        from skimage.data import lfw_subset
    except ImportError:
        raise DatasetError("dataset 'lfw_subset' needs scikit-image (pip install scikit-image)") from None
    images = (lfw_subset() * 255).astype(np.uint8)  # 200 grayscale faces, 25x25; 100 faces then 100 non-faces
    labels = np.array([0] * 100 + [1] * 100)
    return images, labels, ["face", "non-face"]


BUILTIN = {"digits": _digits, "lfw_subset": _lfw_subset}


class ArrayImageDataset(torch.utils.data.Dataset):
    """Grayscale uint8 images held in memory (they are tiny), resized to the resolution."""

    def __init__(self, name: str, resolution: int, channels: int = 1):
        if name not in BUILTIN:
            raise DatasetError(f"unknown built-in dataset {name!r} (known: {', '.join(BUILTIN)})")
        check_resolution(resolution)
        images, labels, classes = BUILTIN[name]()
        self.name, self.resolution, self.channels = name, resolution, channels
        self.images, self.labels, self.class_names = images, labels, classes

    def __len__(self):
        return len(self.images)

    def load(self, index):
        image = fit_square(Image.fromarray(self.images[index]).convert("RGB" if self.channels == 3 else "L"),
                           self.resolution)
        array = np.asarray(image)
        return array[:, :, None] if array.ndim == 2 else array

    def __getitem__(self, index):
        tensor = torch.from_numpy(self.load(index).copy()).permute(2, 0, 1).to(torch.float32) / 127.5 - 1
        return tensor, int(self.labels[index])
