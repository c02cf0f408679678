"""The analyses as explorer jobs: each is `function(model, context, **kwargs)`, the shape of the
session's `Call(function=..., kwargs=...)` job, with the job's progress and cancel wired in.

    session.submit(Call(purpose="map", function=map_job, kwargs=(("num", 2000), ("space", "w"))))

The value each returns is the core result object (LatentMap, LayerView, ProbeReport, ...); the
window reads its numpy arrays and never touches torch.
"""

from __future__ import annotations

from gan_explorer.core.analysis.attribute import attribute_candidates
from gan_explorer.core.analysis.disentanglement import codec_disentanglement
from gan_explorer.core.analysis.latent_map import compute_map
from gan_explorer.core.analysis.layers import layer_view, list_layers, render_ablated
from gan_explorer.core.analysis.probe import probe_model
from gan_explorer.core.io.images import to_uint8


def _hooks(context) -> dict:
    return {"progress": context.progress, "should_stop": context.check}


def map_job(model, context, **kwargs):
    """-> LatentMap (compute_map's keyword arguments)."""
    return compute_map(model, **kwargs, **_hooks(context))


def layers_job(model, context, inputs=None):
    """-> [LayerInfo, ...] for the layer list."""
    return list_layers(model, inputs)


def layer_view_job(model, context, inputs, layer, **kwargs):
    """-> LayerView of `layer` for `inputs` (ws, or pictures for CycleGAN)."""
    return layer_view(model, inputs, layer, **kwargs)


def ablation_job(model, context, inputs, layer, channels, scale=0.0, **kwargs):
    """-> HWC uint8: the image with `channels` of `layer` scaled by `scale`."""
    return to_uint8(render_ablated(model, inputs, layer, channels, scale, **kwargs))[0]


def probe_job(model, context, **kwargs):
    """-> ProbeReport (probe_model's keyword arguments)."""
    return probe_model(model, **kwargs, **_hooks(context))


def disentanglement_job(model, context, **kwargs):
    """-> DisentanglementReport of a VAE / autoencoder on procedural faces."""
    return codec_disentanglement(model, **kwargs, **_hooks(context))


def attribute_grid_job(model, context, count=48, seed=0, truncation_psi=1.0):
    """-> (AttributeCandidates, images NHWC uint8): the grid the user marks."""
    import torch

    grid = attribute_candidates(model, count, seed, truncation_psi)
    images = []
    with torch.no_grad():
        for i in range(0, count, 16):
            context.check()
            images.append(to_uint8(model.synthesize(grid.ws[i:i + 16])))
            context.progress(min(i + 16, count), count)
    import numpy as np

    return grid, np.concatenate(images)
