"""Exports render exactly: a request marked `exact` is fp32 PyTorch whatever the Device menu chose
for full frames (bf16 here), so an exported picture re-renders to the same pixels."""

import numpy as np

from gan_explorer.core.io.models import open_model
from gan_explorer.core.latent.state import LatentState
from gan_explorer.core.render import Renderer, RenderRequest


def test_an_exact_request_ignores_bf16_full_frames():
    model = open_model("resources/demo/stylegan-faces64.safetensors", device="cpu")
    state = LatentState(seed=12)
    plain = Renderer(model).render(RenderRequest(1, state)).image
    renderer = Renderer(model)
    renderer.full_precision = "bf16"        # as Device > Full frames in bf16 sets it (emulated here)
    fast = renderer.render(RenderRequest(2, state)).image
    exact = renderer.render(RenderRequest(3, state, exact=True)).image
    assert not np.array_equal(fast, plain)  # bf16 does change pixels (a few levels)
    assert np.array_equal(exact, plain)
