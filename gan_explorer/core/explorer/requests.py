"""Typed requests and results that cross the thread between the window and the session.

Requests carry the token of the model they were made for: the session drops anything made
for an earlier model instead of running it against the new one. Results are plain data (numpy
arrays, strings), never torch tensors, so the GUI never touches torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_explorer.core.errors import Cancelled  # noqa: F401  (jobs raise it; re-exported for callers)
from gan_explorer.core.render import RenderRequest, RenderResult  # noqa: F401  (the render path's own types)


# --- model events -----------------------------------------------------------------------------
@dataclass
class ModelInfo:
    """What the window shows about the open model; numpy and plain data only."""

    token: int
    path: str
    family: str
    img_resolution: int
    img_channels: int
    parameters: int
    capabilities: dict
    provenance: dict
    config: dict
    content_hash: str = ""
    z_dim: int = 0
    w_dim: int = 0
    num_ws: int = 0
    w_avg: np.ndarray | None = None
    w_std: np.ndarray | None = None  # per-dimension spread of sampled w: the W sliders' sigma
    c_dim: int = 0                   # width of a conditional model's c (0: unconditional)
    c_kind: str = ""                 # a conditional model: "class" or "factors" ("" unconditional)
    c_names: tuple = ()              # its class or factor names (length c_dim)
    c_default: tuple = ()            # the condition its map() uses when given none

    @property
    def is_translation(self) -> bool:
        return bool(self.capabilities.get("is_translation"))

    def can(self, capability: str) -> bool:
        return bool(self.capabilities.get(capability))


@dataclass
class ModelFailure:
    token: int
    path: str
    error: str


@dataclass
class DeviceChange:
    device: str          # the device now in use
    error: str | None = None  # why a requested device was refused (the previous one stays)
    engine: str = "eager"     # what renders full frames: eager, or an inference engine (and why not)
