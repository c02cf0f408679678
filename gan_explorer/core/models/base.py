"""The one interface every explorable model family implements, and its config base."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from gan_explorer.core.errors import ConfigError


@dataclass(frozen=True)
class Capabilities:
    """What a family can do; the GUI greys out the rest instead of faking it."""

    has_mapping: bool = False  # z -> w is a learned network (truncation toward w_avg means something)
    style_mixing: bool = False  # num_ws > 1: per-layer ws can be mixed
    has_encoder: bool = False  # encode(images) -> ws
    has_noise: bool = False  # per-layer noise inputs (noise_mode matters)
    is_translation: bool = False  # image -> image (CycleGAN); no latent interface
    has_transform: bool = False  # the image can be translated and rotated (StyleGAN3 input transform)


@dataclass(frozen=True)
class ModelConfig:
    """Base of the frozen per-family configs; saved as JSON inside every checkpoint."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown option(s) {', '.join(unknown)}")
        values = {}
        for key, value in data.items():
            if isinstance(value, list):  # JSON has no tuples
                value = tuple(value)
            values[key] = value
        config = cls(**values)
        config.validate()
        return config

    def replace(self, **changes):
        config = dataclasses.replace(self, **changes)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError for values the family cannot build."""


def check_power_of_two(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or value < low or value > high or value & (value - 1):
        raise ConfigError(f"{name}={value!r}: must be a power of two from {low} to {high}")


def check_positive(name: str, value) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{name}={value!r}: must be a positive number")


def z_from_seed(seed: int, z_dim: int, n: int = 1) -> np.ndarray:
    """NVIDIA's convention (gen_images.py): z for seed s is RandomState(s).randn(1, z_dim)."""
    if not 0 <= int(seed) < 2**32:
        raise ConfigError(f"seed {seed}: must be an integer from 0 to 2**32-1")
    return np.random.RandomState(int(seed)).randn(n, z_dim)


class GenerativeModel(nn.Module):
    """A generator family explored through z -> ws -> image.

    Subclasses set ``family`` and ``config_class`` and implement ``map`` and
    ``synthesize``; families without a mapping network use ``num_ws = 1`` and
    ``w_dim = z_dim``. Images are NCHW in [-1, 1] (not clamped).
    """

    family: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config

    # NVIDIA's vocabulary, read from the config.
    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    @property
    def w_dim(self) -> int:
        return self.z_dim

    @property
    def num_ws(self) -> int:
        return 1

    @property
    def img_resolution(self) -> int:
        return self.config.img_resolution

    @property
    def img_channels(self) -> int:
        return self.config.img_channels

    @property
    def w_avg(self) -> torch.Tensor:
        """The centre that truncation pulls toward; the prior's mean without a mapping."""
        return torch.zeros(self.w_dim, device=self._device())

    def _device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        return torch.device("cpu")

    def sample_z(self, n: int = 1, seed: int = 0) -> torch.Tensor:
        """[n, z_dim] float32 on the model's device; for n = 1 exactly NVIDIA's z for `seed`."""
        z = z_from_seed(seed, self.z_dim, n)
        return torch.from_numpy(z).to(torch.float32).to(self._device())

    def z_from_seeds(self, seeds) -> torch.Tensor:
        """One z per seed, stacked: [len(seeds), z_dim]."""
        return torch.cat([self.sample_z(1, s) for s in seeds])

    def map(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None):
        """z [n, z_dim] -> ws [n, num_ws, w_dim]; the default broadcasts z (no mapping network)."""
        from gan_explorer.core.latent.ops import truncate

        ws = z.to(torch.float32).unsqueeze(1).repeat(1, self.num_ws, 1)
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const", noise_generator=None):
        raise NotImplementedError

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"the {self.family} family has no encoder")

    def generate(self, z, truncation_psi=1.0, truncation_cutoff=None, noise_mode="const"):
        return self.synthesize(self.map(z, truncation_psi, truncation_cutoff), noise_mode=noise_mode)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class TranslationModel(nn.Module):
    """An image-to-image family (CycleGAN): no latent interface, two directions."""

    family: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    capabilities: ClassVar[Capabilities] = Capabilities(is_translation=True)

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config

    @property
    def img_resolution(self) -> int:
        return self.config.img_resolution

    @property
    def img_channels(self) -> int:
        return self.config.img_channels

    def translate(self, images: torch.Tensor, direction: str = "AB") -> torch.Tensor:
        raise NotImplementedError

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
