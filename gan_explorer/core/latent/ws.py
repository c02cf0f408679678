"""How a latent state becomes ws: z for its seed and edits, map() under its condition, truncation,
style mixing and slider offsets. The renderer, exports, interpolation and the Python API all use
these, so a state means the same image everywhere."""

from __future__ import annotations

import numpy as np
import torch

from gan_explorer.core.latent.ops import mix_styles, truncate
from gan_explorer.core.latent.state import LatentState


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
