"""The factor regressor as the analyses use it: images -> predicted procedural-face factors.

The network itself (a small CNN trained on procedural faces, shipped in resources/networks) lives
in gan_explorer.core.metrics.factors, which also serves the quality metrics. This module only
loads it with one clear line when it is missing and labels images in batches.
"""

from __future__ import annotations

import numpy as np
import torch

from gan_explorer.core.errors import GanExplorerError


def load_regressor(device="cpu", path=None):
    """The shipped factor regressor, or the network file at `path` (one trained with `gan-explorer
    probe train`): `.predict(images) -> {factor: Tensor[N]}`; a one-line error when missing."""
    try:
        from gan_explorer.core.metrics.factors import load_factor_regressor
    except ImportError as exc:
        raise GanExplorerError(f"the factor regressor is not available in this build ({exc})") from None
    return load_factor_regressor(device) if path is None else load_factor_regressor(device, path=path)


def factor_kinds(regressor) -> dict[str, str]:
    """{factor: 'binary' | 'continuous'} from the regressor, falling back to the faces' definition."""
    kinds = getattr(regressor, "factor_kinds", None)
    if isinstance(kinds, dict):
        return dict(kinds)
    binary = set(getattr(regressor, "binary_factors", None) or ())
    if not binary:
        try:
            from gan_explorer.core.metrics import factors as module

            binary = set(getattr(module, "BINARY_FACTORS", ()) or ())
        except ImportError:
            pass
    names = factor_names(regressor)
    binary = binary or {"glasses"}
    return {n: ("binary" if n in binary else "continuous") for n in names}


def factor_names(regressor) -> list[str]:
    names = getattr(regressor, "factor_names", None)
    if names:
        return list(names)
    try:
        from gan_explorer.core.metrics.factors import FACTOR_NAMES

        return list(FACTOR_NAMES)
    except ImportError:
        from gan_explorer.core.data.faces import FACTOR_NAMES

        return list(FACTOR_NAMES)


@torch.no_grad()
def predict(regressor, images: torch.Tensor) -> dict[str, np.ndarray]:
    """images [N, C, H, W] in [-1, 1] -> {factor: float64 [N]}."""
    out = regressor.predict(images)
    return {k: v.detach().double().cpu().numpy().reshape(-1) for k, v in out.items()}
