"""Pick a torch device by name: 'auto' prefers CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import torch

from gan_explorer.core.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.insert(0, "mps")
    return devices


def resolve_device(name: str = "auto") -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    base = name.split(":")[0]
    if base not in DEVICE_CHOICES:
        raise ConfigError(f"device {name!r}: must be one of {', '.join(DEVICE_CHOICES)}")
    if base != "cpu" and base not in available_devices():
        raise ConfigError(f"device {name!r} is not available here (available: {', '.join(available_devices())})")
    return torch.device(name)
