"""The latent state of an image and the edits in it, and how a state becomes ws.

The explorer, the renderer, exports and the Python API share this vocabulary. The state is frozen
and made of plain Python data, so history can hold states as they are,
requests can cross threads, and a state can be written to JSON (bookmarks, exported PNGs) and read
back equal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch

from gan_explorer.core.latent.ops import mix_styles, truncate


class WOffset(NamedTuple):
    """One slider's edit in W: `amount` along a raw w dimension or a unit direction, over a layer range."""

    key: str                   # which slider made it ("w:12", "d:3", "lib:smile"); one offset per key
    layer_start: int           # first layer of ws that moves
    layer_end: int             # last layer (inclusive)
    dim: int = -1              # a raw w dimension, or -1 to move along `direction`
    direction: tuple = ()      # unit vector [w_dim] when dim == -1
    amount: float = 0.0        # how far, in w units (sliders convert from sigma)


@dataclass(frozen=True)
class LatentState:
    """Everything that decides the current image; immutable, so history can hold it as is."""

    seed: int = 0
    z: tuple = ()                          # the z vector; empty = z for `seed`
    z_edits: tuple = ()                    # ((dim, delta), ...) added to z
    truncation_psi: float = 1.0
    truncation_cutoff: int | None = None
    noise_mode: str = "const"
    noise_seed: int = 0
    w_offsets: tuple[WOffset, ...] = ()
    ws: tuple = ()                         # explicit ws (interpolation frame, mixing cell, loaded latent)
    transform: tuple = (0.0, 0.0, 0.0)     # StyleGAN3: translate x, translate y, rotate (degrees)
    mix_seed: int = -1                     # style mixing: take `mix_layers` from this seed's ws
    mix_layers: tuple = ()
    condition: tuple = ()                  # c of a conditional model (one-hot class or factor values);
                                           # empty, or a width the model does not take: its default
    mix_condition: tuple = ()              # the condition `mix_seed`'s styles are drawn under (empty: ours)

    def with_changes(self, **changes) -> "LatentState":
        return replace(self, **changes)

    def with_w_offset(self, key: str, start: int, end: int, dim: int = -1, direction=(), amount: float = 0.0):
        """Set (or with amount 0, remove) the offset named `key`: one slider's edit in W."""
        kept = tuple(o for o in self.w_offsets if o.key != key)
        if amount:
            kept += (WOffset(key, int(start), int(end), int(dim), tuple(float(v) for v in direction),
                             float(amount)),)
        return replace(self, w_offsets=kept)

    def without_offsets(self, prefix: str) -> "LatentState":
        return replace(self, w_offsets=tuple(o for o in self.w_offsets if not o.key.startswith(prefix)))

    def offset(self, key: str) -> WOffset | None:
        return next((o for o in self.w_offsets if o.key == key), None)

    def with_z_edit(self, dim: int, delta: float):
        kept = tuple(e for e in self.z_edits if e[0] != dim)
        if delta:
            kept += ((int(dim), float(delta)),)
        return replace(self, z_edits=kept)

    def label(self) -> str:
        """A short human name: "seed 12", "seed 3 × 5 (mix)", "seed 12 (edited)", "latent"."""
        if self.ws:
            return "latent"
        text = f"seed {self.seed}"
        if self.mix_seed >= 0 and self.mix_layers:
            text += f" × {self.mix_seed} (mix)"
        if self.z_edits or self.w_offsets or self.z:
            text += " (edited)"
        return text

    def base(self, **changes) -> "LatentState":
        """The seed, truncation, noise and transform of this state without any edit."""
        kept = LatentState(seed=self.seed, truncation_psi=self.truncation_psi,
                           truncation_cutoff=self.truncation_cutoff, noise_mode=self.noise_mode,
                           noise_seed=self.noise_seed, transform=self.transform, condition=self.condition)
        return replace(kept, **changes)


def state_to_dict(state: LatentState) -> dict:
    data = dataclasses.asdict(state)
    data["w_offsets"] = [list(o) for o in state.w_offsets]
    return data


def state_from_dict(data: dict) -> LatentState:
    """The inverse of state_to_dict; unknown keys (from a newer version) are ignored."""
    if not isinstance(data, dict):
        raise ValueError(f"a latent state must be a JSON object, not {type(data).__name__}")

    def tuples(v):
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v

    names = {f.name for f in dataclasses.fields(LatentState)}
    values = {k: tuples(v) for k, v in data.items() if k in names}
    values["w_offsets"] = tuple(WOffset(*o) for o in values.get("w_offsets", ()))
    return LatentState(**values)


# --- a state's ws -----------------------------------------------------------------------------
def z_for_state(model, state: LatentState) -> torch.Tensor:
    if state.z:
        z = torch.tensor([state.z], dtype=torch.float32, device=model._device())
    else:
        z = model.sample_z(1, state.seed)
    for dim, delta in state.z_edits:
        z[0, int(dim)] += float(delta)
    return z


def condition_for_state(model, state: LatentState) -> torch.Tensor | None:
    """c [1, c_dim] for a conditional model's map(); None (the model's default) when the state has
    none or one of another width (a bookmark made on another model)."""
    c_dim = int(getattr(model, "c_dim", 0) or 0)
    if c_dim <= 0 or len(state.condition) != c_dim:
        return None
    return torch.tensor([state.condition], dtype=torch.float32, device=model._device())


def map_state(model, z: torch.Tensor, state: LatentState, truncation_psi: float = 1.0,
              truncation_cutoff: int | None = None) -> torch.Tensor:
    """model.map(z) under the state's condition (only conditional models are given a c)."""
    c = condition_for_state(model, state)
    if c is None:
        return model.map(z, truncation_psi, truncation_cutoff)
    return model.map(z, truncation_psi, truncation_cutoff, c=c.expand(len(z), -1))


@torch.no_grad()
def ws_for_state(model, state: LatentState) -> torch.Tensor:
    """[1, num_ws, w_dim]: explicit ws, or map(z, c) with truncation, plus slider offsets."""
    device = model._device()
    if state.ws:
        ws = torch.tensor(np.asarray(state.ws, dtype=np.float32)[None], device=device)
    else:
        ws = map_state(model, z_for_state(model, state), state)
        ws = truncate(ws, model.w_avg, state.truncation_psi, state.truncation_cutoff)
        if state.mix_seed >= 0 and state.mix_layers:
            under = state.with_changes(condition=state.mix_condition) if state.mix_condition else state
            other = map_state(model, model.sample_z(1, state.mix_seed), under)
            other = truncate(other, model.w_avg, state.truncation_psi, state.truncation_cutoff)
            ws = mix_styles(ws, other, [int(i) for i in state.mix_layers])
    if state.w_offsets:
        ws = ws.clone()
        for offset in state.w_offsets:
            layers = slice(int(offset.layer_start), int(offset.layer_end) + 1)
            if offset.dim >= 0:
                ws[:, layers, int(offset.dim)] += float(offset.amount)
            else:
                direction = torch.tensor(offset.direction, dtype=ws.dtype, device=device)
                ws[:, layers] += float(offset.amount) * direction
    return ws
