"""Preview renders while a slider moves: stop the StyleGAN2 skip architecture at a lower block.

Each block of the skip architecture adds its RGB output to the upsampled image of the blocks
before it, so the image after block R is the network's own picture at R px: a render that stops
there costs the MACs up to R (`SynthesisNetwork.macs`), a small share of a high-resolution frame.
"""

from __future__ import annotations

import math


def preview_resolutions(model) -> list[int]:
    """The resolutions a preview can stop at (ascending; empty where the family has no preview)."""
    synthesis = getattr(model, "synthesis", None)
    if getattr(model, "family", None) != "stylegan" or not hasattr(synthesis, "block_resolutions"):
        return []
    return list(synthesis.block_resolutions)


def preview_resolution(model, budget_ms: float, full_ms: float, min_resolution: int = 32) -> int | None:
    """The largest block resolution whose estimated render time fits ``budget_ms``, given a
    measured full frame of ``full_ms``; None when the full frame fits the budget or the family
    has no preview (render full frames then).

    The estimate scales the full time by the MAC share of the blocks up to R; the result is never
    below ``min_resolution`` (a smaller picture says too little), nor the full resolution.
    """
    resolutions = preview_resolutions(model)
    if not resolutions or full_ms <= budget_ms:
        return None
    synthesis = model.synthesis
    total = synthesis.macs()
    best = None
    for res in resolutions[:-1]:
        if res < min_resolution and res != resolutions[-2]:
            continue
        if best is None or full_ms * synthesis.macs(res) / total <= budget_ms:
            best = res
    return best


EMA_WEIGHT = 0.5  # weight of the newest preview time in a block's running cost (the load moves)
BF16_GUESS = 0.6  # an unmeasured bf16 preview, as a share of fp32's (the issue's native-bf16 matmul ratio)


class PreviewPlanner:
    """Chooses the block (and the precision) a preview stops at from measured preview times.

    A block's cost is not its MAC share of a full frame: a small block spends most of its time
    in per-layer overheads, so the MAC estimate sent 256 px previews to 64 px at 366 ms. Each
    preview's time is recorded per (resolution, precision); a block never measured is estimated
    from the nearest measured one of the same precision (by MACs), else from the full frame.
    The choice is the largest block whose cost fits the budget, in the faster precision there.
    """

    def __init__(self, model, budget_ms: float, precisions=("fp32",), min_resolution: int = 16):
        resolutions = preview_resolutions(model)
        self.budget_ms = float(budget_ms)
        self.precisions = tuple(precisions)
        self.resolutions = [r for r in resolutions[:-1] if r >= min_resolution] or resolutions[:-1][-1:]
        synthesis = getattr(model, "synthesis", None)
        self._macs = {r: synthesis.macs(r) for r in self.resolutions} if self.resolutions else {}
        self._total = synthesis.macs() if self.resolutions else 0
        self.ms: dict[tuple[int, str], float] = {}  # (resolution, precision) -> running preview ms

    def record(self, resolution: int, precision: str, ms: float):
        key = (resolution, precision)
        old = self.ms.get(key)
        self.ms[key] = ms if old is None else EMA_WEIGHT * ms + (1 - EMA_WEIGHT) * old

    def estimate(self, resolution: int, precision: str, full_ms: float) -> float:
        if (resolution, precision) in self.ms:
            return self.ms[(resolution, precision)]
        same = [(r, ms) for (r, p), ms in self.ms.items() if p == precision]
        if same:
            r0, ms0 = min(same, key=lambda item: abs(math.log2(item[0] / resolution)))
            return ms0 * self._macs[resolution] / self._macs[r0]
        if precision != "fp32":
            return BF16_GUESS * self.estimate(resolution, "fp32", full_ms)
        return full_ms * self._macs[resolution] / self._total if self._total else 0.0

    def choose(self, full_ms: float) -> tuple[int | None, str]:
        """(block resolution, precision) for the next preview; (None, 'fp32'): render the full frame
        (it fits the budget, or the family has no preview)."""
        if not self.resolutions or (full_ms and full_ms <= self.budget_ms):
            return None, "fp32"
        best = None
        for res in self.resolutions:  # ascending: the last that fits is the largest
            precision = min(self.precisions, key=lambda p: self.estimate(res, p, full_ms))
            if best is None or self.estimate(res, precision, full_ms) <= self.budget_ms:
                best = (res, precision)
        return best
