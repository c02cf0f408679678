"""The one interface every explorable model family implements, and its config base."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import threading
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from gan_explorer.core.errors import ConfigError, shorten

# Every int in a config, whatever its meaning: beyond this it is a typo or an attack (a
# 400-digit integer would otherwise reach nn.Linear as an OverflowError).
MAX_CONFIG_INT = 1 << 20
# NVIDIA's vocabulary fields, bounded by what any real network uses (and well beyond).
FIELD_BOUNDS = {
    "img_resolution": (1, 4096),
    "img_channels": (1, 4),
    "z_dim": (1, 65536),
    "w_dim": (1, 65536),
    "mapping_layers": (0, 64),
    "c_dim": (0, 65536),
}
MAX_TEXT_CHARS = 200  # a string option (a loss name, a norm) is a short word
MAX_TUPLE_ITEMS = 256  # layer widths and the like
# Parameters and buffers a model may hold, counted from its config before anything is
# allocated: 2**28 float32 values are 1 GiB (NVIDIA's 1024 px StyleGAN2 G has 3e7).
DEFAULT_MAX_PARAMS = 1 << 28
MAX_TENSORS = 20000  # tensors in one model (a 1024 px StyleGAN2 has about 400)


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
        unknown = sorted(str(k) for k in set(data) - set(names))
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown option(s) {shorten(', '.join(unknown))}")
        values = {}
        for key, value in data.items():
            if isinstance(value, list):  # JSON has no tuples
                value = tuple(value)
            values[key] = value
        config = cls(**values)
        config.check_fields()
        config.validate()
        return config

    def replace(self, **changes):
        config = dataclasses.replace(self, **changes)
        config.check_fields()
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError for values the family cannot build."""

    def check_fields(self) -> None:
        """Every field against its annotation: the right type, ints bounded, floats finite.

        Runs before the family's own validate(), so that checks every family would repeat (and
        forget: a NaN learning-rate multiplier, a 400-digit width, a list where a number goes)
        live in one place.
        """
        hints = _field_types(type(self))
        for f in dataclasses.fields(self):
            _check_value(f.name, getattr(self, f.name), hints.get(f.name, Any))


@functools.lru_cache(maxsize=None)
def _field_types(cls) -> dict:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: check nothing rather than fail
        return {}


def _check_value(name: str, value, annotation) -> None:
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    if value is None and type(None) in options:
        return
    kinds = [o for o in options if o is not type(None)]
    errors = []
    for kind in kinds:
        try:
            _check_kind(name, value, kind)
            return
        except ConfigError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


def _is_union(annotation) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _check_kind(name: str, value, kind) -> None:
    origin = typing.get_origin(kind) or kind
    if kind is Any:
        return
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}={_show(value)}: must be true or false")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}={_show(value)}: must be an integer")
        low, high = FIELD_BOUNDS.get(name, (-MAX_CONFIG_INT, MAX_CONFIG_INT))
        if not low <= value <= high:
            raise ConfigError(f"{name}={_show(value, 40)}: must be from {low} to {high}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}={_show(value)}: must be a number")
        if isinstance(value, int) and abs(value) > MAX_CONFIG_INT:
            raise ConfigError(f"{name}={_show(value, 40)}: must be from {-MAX_CONFIG_INT} to {MAX_CONFIG_INT}")
        if not math.isfinite(value):
            raise ConfigError(f"{name}={value}: must be a finite number")
    elif kind is str:
        if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
            raise ConfigError(f"{name}={_show(value)}: must be a short text")
    elif origin in (tuple, list):
        if not isinstance(value, (tuple, list)) or len(value) > MAX_TUPLE_ITEMS:
            raise ConfigError(f"{name}={_show(value)}: must be a list of at most {MAX_TUPLE_ITEMS} values")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, float, str)):
                raise ConfigError(f"{name}={_show(value)}: items must be numbers or text")
            if isinstance(item, int) and abs(item) > MAX_CONFIG_INT:
                raise ConfigError(f"{name}: item {_show(item, 40)} is out of range")
            if isinstance(item, float) and not math.isfinite(item):
                raise ConfigError(f"{name}: item {item} must be a finite number")


def _show(value, limit: int = 200) -> str:
    return shorten(repr(value) if isinstance(value, str) else value, limit)


def max_parameters() -> int:
    """The cap on parameters + buffers of one model (env GAN_EXPLORER_MAX_PARAMS overrides it)."""
    text = os.environ.get("GAN_EXPLORER_MAX_PARAMS", "")
    try:
        return max(int(float(text)), 1) if text else DEFAULT_MAX_PARAMS
    except ValueError:
        raise ConfigError(f"GAN_EXPLORER_MAX_PARAMS={shorten(text, 40)}: must be a number of parameters") from None


class _Planning(threading.local):
    active = False
    count = 0
    tensors = 0
    limit = 0


_PLANNING = _Planning()


class _TooLarge(Exception):
    pass


def _count_tensor(module, name, tensor):
    if _PLANNING.active and tensor is not None:
        _PLANNING.count += tensor.numel()
        _PLANNING.tensors += 1
        if _PLANNING.count > _PLANNING.limit or _PLANNING.tensors > MAX_TENSORS:
            raise _TooLarge()  # stop building at once: the rest of a huge model is never visited


torch.nn.modules.module.register_module_parameter_registration_hook(_count_tensor)
torch.nn.modules.module.register_module_buffer_registration_hook(_count_tensor)


def planned_state(cls, config, limit: int | None = None) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """{tensor name: (shape, dtype)} of the model `cls(config)` would be, without allocating it.

    The model is built on torch's meta device while every parameter and buffer registration is
    counted; past `limit` (default max_parameters()) or MAX_TENSORS the build stops and
    ConfigError says so. Any module built from a config can be planned (an encoder too).
    """
    limit = max_parameters() if limit is None else int(limit)
    try:
        return dict(_planned_state_cached(cls, config, limit))
    except TypeError:  # an unhashable config: plan it without the cache
        return dict(_plan(cls, config, limit))


@functools.lru_cache(maxsize=64)
def _planned_state_cached(cls, config, limit):
    return tuple(_plan(cls, config, limit).items())


def _plan(cls, config, limit):
    if _PLANNING.active:
        raise RuntimeError("planned_state is not re-entrant")
    _PLANNING.active, _PLANNING.count, _PLANNING.tensors, _PLANNING.limit = True, 0, 0, limit
    try:
        with torch.device("meta"):
            model = cls(config)
    except _TooLarge:
        what = (f"more than {MAX_TENSORS:,} tensors" if _PLANNING.tensors > MAX_TENSORS
                else f"more than {limit:,} parameters")
        raise ConfigError(f"a {cls.family} model with this config would hold {what}, over the limit "
                          f"(set GAN_EXPLORER_MAX_PARAMS to allow more): {_config_brief(config)}") from None
    finally:
        _PLANNING.active = False
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def _config_brief(config) -> str:
    try:
        return shorten(json.dumps(config.to_dict(), sort_keys=True), 300)
    except Exception:
        return type(config).__name__


def check_model_size(cls, config) -> None:
    """ConfigError when `cls(config)` would be larger than the cap; called before building."""
    if _PLANNING.active:
        return  # this is the planning build itself
    planned_state(cls, config)


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
        config.check_fields()
        config.validate()
        check_model_size(type(self), config)
        self.config = config

    # NVIDIA's vocabulary, read from the config.
    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    @property
    def w_dim(self) -> int:
        """z_dim, plus c_dim for a conditional family without a mapping: its w is concat(z, c)."""
        return self.z_dim + self.c_dim

    @property
    def num_ws(self) -> int:
        return 1

    @property
    def c_dim(self) -> int:
        """Width of the condition c (0: unconditional, and for every family without the field)."""
        return int(getattr(self.config, "c_dim", 0) or 0)

    @property
    def conditioning(self):
        """The Conditioning (classes or factors) of a conditional model; None when c_dim == 0."""
        return _conditioning(self.config) if self.c_dim else None

    def condition_batch(self, c, n: int) -> torch.Tensor | None:
        """c for n rows on the model's device: None -> the default condition on a conditional
        model; ConfigError for a c on an unconditional model or one of the wrong width."""
        conditioning = self.conditioning
        if conditioning is None:
            if c is not None:
                raise ConfigError(f"this {self.family} model is not conditional (c_dim 0): "
                                  f"it takes no class or condition")
            return None
        return conditioning.batch(c, n, self._device())

    @property
    def img_resolution(self) -> int:
        return self.config.img_resolution

    @property
    def img_channels(self) -> int:
        return self.config.img_channels

    @property
    def w_avg(self) -> torch.Tensor:
        """The centre that truncation pulls toward; the prior's mean without a mapping (with
        concat(z, c): zeros then the average condition, see Conditioning.mean_vector)."""
        centre = torch.zeros(self.z_dim, device=self._device())
        if self.c_dim:
            centre = torch.cat([centre, self.conditioning.mean_vector().to(centre.device)])
        return centre

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

    def map(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
            c: torch.Tensor | None = None):
        """z [n, z_dim] (and c [n, c_dim] for a conditional model) -> ws [n, num_ws, w_dim].

        The default has no mapping network: w is z, or concat(z, c) for a conditional model
        (c=None: the default condition), broadcast to num_ws and truncated toward w_avg."""
        from gan_explorer.core.models.truncation import truncate

        w = z.to(torch.float32)
        c = self.condition_batch(c, w.shape[0])
        if c is not None:
            w = torch.cat([w, c.to(w.device)], dim=1)
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const", noise_generator=None):
        raise NotImplementedError

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"the {self.family} family has no encoder")

    def generate(self, z, truncation_psi=1.0, truncation_cutoff=None, noise_mode="const", c=None):
        """Images for z (and condition c: [n, c_dim], None for the default). The condition enters
        at map() only: synthesize(ws) never sees it."""
        if c is None:
            ws = self.map(z, truncation_psi, truncation_cutoff)
        else:
            ws = self.map(z, truncation_psi, truncation_cutoff, c=c)
        return self.synthesize(ws, noise_mode=noise_mode)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@functools.lru_cache(maxsize=64)
def _conditioning(config):
    from gan_explorer.core.models.conditioning import Conditioning

    return Conditioning.from_config(config)


class TranslationModel(nn.Module):
    """An image-to-image family (CycleGAN): no latent interface, two directions."""

    family: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    capabilities: ClassVar[Capabilities] = Capabilities(is_translation=True)

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.check_fields()
        config.validate()
        check_model_size(type(self), config)
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
