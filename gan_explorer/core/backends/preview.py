"""Preview renders while a slider moves: stop the StyleGAN2 skip architecture at a lower block.

Each block of the skip architecture adds its RGB output to the upsampled image of the blocks
before it, so the image after block R is the network's own picture at R px: a render that stops
there costs the MACs up to R (`SynthesisNetwork.macs`), a small share of a high-resolution frame.
"""

from __future__ import annotations


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
