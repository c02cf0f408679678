"""The truncation trick, used by every family's map(): it lives with the models so they need no
higher layer (core/latent re-exports it among its latent operations)."""

from __future__ import annotations

import torch


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float = 1.0, cutoff: int | None = None):
    """The truncation trick: pull ws toward w_avg by psi, in layers [0, cutoff) only if given.

    psi = 1 leaves ws untouched, psi = 0 gives w_avg, psi < 0 reflects through it.
    """
    if psi == 1:
        return ws
    w_avg = w_avg.to(ws.dtype).to(ws.device)
    out = ws.clone()
    layers = slice(None) if cutoff is None else slice(0, int(cutoff))
    out[:, layers] = w_avg.lerp(ws[:, layers], float(psi))
    return out
