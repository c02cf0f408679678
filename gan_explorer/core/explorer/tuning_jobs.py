"""The explorer's pivotal tuning job (issue #28; the work is core/latent/tuning.py's): a projected
photo's W pivot, the weights tuned on the worker with progress, previews and Cancel, the tuning
stored in the data folder, and a plain result (numpy arrays and the tuning's content hash) for
the window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gan_explorer.core.explorer.jobs import Job


@dataclass(frozen=True)
class TunedPicture:
    content_hash: str            # what LatentState.tuning holds now
    path: str                    # the stored tuning file
    target: np.ndarray           # HWC uint8: the photo as the model sees it
    projected: np.ndarray        # HWC uint8: the pivot through the base model
    tuned: np.ndarray            # HWC uint8: the pivot through the tuned (stored) weights
    pivot_psnr: float
    psnr: float
    seconds: float
    steps: int
    stored_bytes: int


@dataclass(frozen=True)
class TunePicture(Job):
    """Tune the weights so that `pivot_ws` renders `target` -> TunedPicture; each progress step's
    preview is the tuned reconstruction so far."""

    target: Any = None           # HWC uint8 at the model's resolution (the projection's target)
    pivot_ws: Any = None         # [1, num_ws, w_dim] float32: the W projection
    steps: int = 100

    def run(self, context):
        import torch

        from gan_explorer.core.latent.tuning import save_tuning, tune

        def progress(step, total, loss_value, preview):
            context.progress(step, total, f"tuning, loss {loss_value:.4g}", preview)

        with torch.enable_grad():
            result = tune(context.model, self.target, self.pivot_ws, steps=int(self.steps), progress=progress,
                          should_stop=context.check)
        path = save_tuning(result.tuning)
        return TunedPicture(content_hash=result.tuning.content_hash, path=str(path), target=result.target[0],
                            projected=result.pivot_images[0], tuned=result.images[0],
                            pivot_psnr=float(result.pivot_psnr), psnr=float(result.psnr), seconds=result.seconds,
                            steps=result.steps, stored_bytes=result.stored_bytes)
