"""What a conditional model is told to generate: a class (one-hot c) or named factors (c holds values).

A conditional model's config carries ``c_dim`` (0: unconditional), ``c_kind`` ('class' or
'factors') and ``c_names``; `Conditioning` turns what a person asks for (a class index or name,
"glasses=1,smile=0.8", a dict) into the float vector c [c_dim] that map() takes, and says what a
model renders when no c is given (`default_vector`).

Defaults: a class model renders class 0 when asked for nothing (a real class, as NVIDIA's
gen_images.py needs one); a factor model holds every factor not named at its default: the
procedural faces' own default for a faces factor (glasses 0, smile 0, hair_color 0.5, ...),
else 0.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch

from gan_explorer.core.errors import ConfigError, quote

CONDITION_KINDS = ("class", "factors")
MAX_CONDITION_TEXT = 1000  # a typed condition: a few names and numbers
MAX_FACTOR_VALUE = 1e6  # a factor's value: far beyond any factor's range, far below float32 overflow


def factor_default(name: str) -> float:
    """The value a factor not given takes: the procedural faces' default for its factors, else 0."""
    from gan_explorer.core.data.faces import FaceFactors

    return float(getattr(FaceFactors(), name, 0.0)) if name in FaceFactors.__dataclass_fields__ else 0.0


def check_condition_fields(c_dim, c_kind, c_names) -> None:
    """ConfigError for a c_dim / c_kind / c_names triple a model cannot be built with."""
    if c_kind not in CONDITION_KINDS:
        raise ConfigError(f"c_kind={c_kind!r}: must be 'class' or 'factors'")
    if c_dim < 0:
        raise ConfigError(f"c_dim={c_dim}: must not be negative")
    if c_names and len(c_names) != c_dim:
        raise ConfigError(f"c_names has {len(c_names)} names for c_dim={c_dim}")
    if c_kind == "factors" and c_dim and not c_names:
        raise ConfigError(f"c_kind='factors' needs c_names (one per factor, {c_dim})")
    for name in c_names:
        if not isinstance(name, str) or not name.strip() or any(ch in name for ch in "=,;\n"):
            raise ConfigError(f"c_names: {quote(str(name), 40)} is not a usable name "
                              f"(non-empty, without '=', ',' or ';')")
    if len(set(c_names)) != len(c_names):
        raise ConfigError("c_names: the names must differ")


@dataclass(frozen=True)
class Conditioning:
    """The condition interface of one conditional model (built from its config)."""

    kind: str               # 'class' (c is one-hot) or 'factors' (c holds one value per named factor)
    c_dim: int              # width of c
    names: tuple = ()       # class or factor names, length c_dim ("class 0".. when the config had none)

    def __post_init__(self):
        if not self.names:
            object.__setattr__(self, "names", tuple(f"class {i}" for i in range(self.c_dim)))
        check_condition_fields(self.c_dim, self.kind, self.names)
        if self.c_dim < 1:
            raise ConfigError("a Conditioning needs c_dim >= 1")

    @classmethod
    def from_config(cls, config) -> "Conditioning | None":
        c_dim = int(getattr(config, "c_dim", 0) or 0)
        if c_dim <= 0:
            return None
        return cls(kind=getattr(config, "c_kind", "class"), c_dim=c_dim, names=tuple(getattr(config, "c_names", ())))

    def default_vector(self) -> torch.Tensor:
        """[c_dim] float32: class 0 (one-hot), or every factor at its default (factor_default)."""
        if self.kind == "class":
            return self.one_hot(0)
        return torch.tensor([factor_default(n) for n in self.names], dtype=torch.float32)

    def mean_vector(self) -> torch.Tensor:
        """[c_dim]: the average condition (every class equally: 1 / c_dim each; factors at their
        defaults). Truncation of a concatenated (z, c) pulls c toward it, as NVIDIA's class-agnostic
        w_avg does for StyleGAN."""
        if self.kind == "class":
            return torch.full([self.c_dim], 1.0 / self.c_dim)
        return self.default_vector()

    def one_hot(self, index: int) -> torch.Tensor:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.c_dim:
            raise ConfigError(f"class {quote(str(index), 40)}: this model has classes 0 to {self.c_dim - 1}")
        c = torch.zeros(self.c_dim)
        c[index] = 1.0
        return c

    def class_index(self, text: str) -> int:
        """A class by index ("3") or by name ("cat", or "class 3" when the model has no names)."""
        text = str(text)
        if len(text) > MAX_CONDITION_TEXT:
            raise ConfigError(f"class of {len(text):,} characters: too long")
        text = text.strip()
        if text in self.names:
            return self.names.index(text)
        digits = text[1:] if text.startswith("-") else text
        if digits.isascii() and digits.isdigit():  # '²' is a digit to str.isdigit, not to int()
            if len(digits) > 9 or not 0 <= int(text) < self.c_dim:
                raise ConfigError(f"class {quote(text, 40)}: this model has classes 0 to {self.c_dim - 1}")
            return int(text)
        shown = ", ".join(self.names[:12]) + (", ..." if self.c_dim > 12 else "")
        raise ConfigError(f"class {quote(text, 40)}: not a class of this model (0 to {self.c_dim - 1}: {shown})")

    def vector(self, value) -> torch.Tensor:
        """[c_dim] float32 from a class index (one-hot), a class name, a {factor: value} dict
        (factors not named keep their default), or a sequence / tensor of c_dim numbers."""
        if isinstance(value, str):
            return self.parse(value)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):  # numpy ints too
            value = int(value)
            if self.kind != "class":
                raise ConfigError(f"class {value}: this model is conditioned on factors "
                                  f"({', '.join(self.names)}), not classes")
            return self.one_hot(value)
        if isinstance(value, dict):
            return self._factors(value)
        try:
            c = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
        except (TypeError, ValueError, RuntimeError):
            raise ConfigError(f"condition {quote(str(value), 40)}: expected a class, a dict of factors "
                              f"or {self.c_dim} numbers") from None
        if c.numel() != self.c_dim:
            raise ConfigError(f"a condition of {c.numel()} values; this model's c has {self.c_dim}")
        if not torch.isfinite(c).all():
            raise ConfigError("the condition holds NaN or infinite values")
        return c

    def _factors(self, values: dict) -> torch.Tensor:
        c = self.default_vector()
        for name, value in values.items():
            if self.kind == "class":
                raise ConfigError(f"condition {quote(str(name), 40)}: this model is conditioned on classes, "
                                  f"give a class index or name")
            if name not in self.names:
                raise ConfigError(f"factor {quote(str(name), 40)}: not one of {', '.join(self.names)}")
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                raise ConfigError(f"factor {name}={quote(str(value), 20)}: not a number") from None
            if not abs(number) <= MAX_FACTOR_VALUE:  # NaN too
                raise ConfigError(f"factor {name}={quote(str(value), 20)}: must be a finite number from "
                                  f"{-MAX_FACTOR_VALUE:g} to {MAX_FACTOR_VALUE:g}")
            c[self.names.index(name)] = number
        return c

    def parse(self, text: str) -> torch.Tensor:
        """[c_dim] from what a person types: "3" or a class name for a class model;
        "glasses=1,smile=0.8" for a factor model (a class model also takes "class=3")."""
        text = str(text)
        if len(text) > MAX_CONDITION_TEXT:
            raise ConfigError(f"condition of {len(text)} characters: too long")
        text = text.strip()
        if not text:
            raise ConfigError("empty condition: give a class or NAME=VALUE pairs")
        if self.kind == "class":
            name, sep, value = text.partition("=")
            if sep and name.strip() == "class":
                text = value
            return self.one_hot(self.class_index(text))
        values = {}
        for item in filter(None, (t.strip() for t in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"condition {quote(item, 40)}: expected NAME=VALUE with NAME one of "
                                  f"{', '.join(self.names)}")
            if name.strip() in values:
                raise ConfigError(f"condition {quote(text, 60)}: factor {quote(name.strip(), 40)} is given twice")
            values[name.strip()] = value.strip()
        if not values:
            raise ConfigError(f"condition {quote(text, 40)}: no NAME=VALUE pair (factors: {', '.join(self.names)})")
        return self._factors(values)

    def batch(self, c, n: int, device=None) -> torch.Tensor:
        """c for n rows: None -> default_vector() on every row; else c checked as [n, c_dim] (or
        [c_dim] / [1, c_dim], broadcast to the n rows). ConfigError for any other width."""
        if c is None:
            out = self.default_vector().unsqueeze(0).expand(n, -1)
        else:
            if not isinstance(c, torch.Tensor):
                c = torch.as_tensor(c, dtype=torch.float32)
            if c.ndim == 1:
                c = c.unsqueeze(0)
            if c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ConfigError(f"c has shape {list(c.shape)}; this model takes [n, {self.c_dim}]")
            if c.shape[0] == 1 and n != 1:
                c = c.expand(n, -1)
            elif c.shape[0] != n:
                raise ConfigError(f"c has {c.shape[0]} rows for {n} latents")
            out = c.to(torch.float32)
        return out.to(device) if device is not None else out

    def describe(self, c: torch.Tensor) -> str:
        """"cat" (the largest entry's class) or "glasses=1, smile=0.8" for a vector [c_dim]."""
        c = torch.as_tensor(c).reshape(-1)
        if self.kind == "class":
            return self.names[int(c.argmax())]
        return ", ".join(f"{n}={float(v):.3g}" for n, v in zip(self.names, c))


def no_condition(model_family: str, c) -> None:
    """ConfigError when a c is given to an unconditional model."""
    if c is not None:
        raise ConfigError(f"this {model_family} model is not conditional (c_dim 0): it takes no class or condition")
