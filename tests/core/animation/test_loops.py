"""Loops close: the step from the last frame to the first is one more step of the same walk."""

import numpy as np
import pytest
import torch

from gan_explorer.core.animation.animate import render_frames
from gan_explorer.core.animation.loops import closed_spline, loop_ws, seam_check
from gan_explorer.core.io.models import open_model
from gan_explorer.core.latent.state import LatentState
from gan_explorer.core.latent.ws import ws_for_state

DEMO = "resources/demo/stylegan-faces64.safetensors"


@pytest.fixture(scope="module")
def demo():
    return open_model(DEMO, device="cpu")


def test_the_closed_spline_passes_through_every_point_and_wraps():
    points = torch.randn(4, 3, 5, dtype=torch.float64)
    curve = closed_spline(points, 12)
    for k in range(4):
        assert torch.allclose(curve[3 * k], points[k])
    # one more sample after the last one would be the first point: the seam is an ordinary step
    steps = (curve[1:] - curve[:-1]).norm(dim=(1, 2))
    assert (curve[0] - curve[-1]).norm() <= steps.max() * 1.5


@pytest.mark.parametrize("space", ["z", "w"])
def test_a_loop_starts_at_the_state_and_its_seam_is_an_ordinary_step(demo, space):
    state = LatentState(seed=3)
    ws = loop_ws(demo, state, space, 16).double()
    assert ws.shape == (16, demo.num_ws, demo.w_dim)
    if space == "w":
        assert torch.allclose(ws[0], ws_for_state(demo, state)[0].double(), atol=1e-5)
    steps = (ws[1:] - ws[:-1]).norm(dim=(1, 2))
    seam = (ws[0] - ws[-1]).norm()
    assert steps.min() * 0.9 <= seam <= steps.max() * 1.1


def test_a_rendered_w_loop_is_seamless_and_the_state_edits_ride_along(demo):
    state = LatentState(seed=5).with_w_offset("w:0", 0, demo.num_ws - 1, dim=0, amount=2.0)
    ws = loop_ws(demo, state, "w", 12)
    assert torch.allclose(ws[0], ws_for_state(demo, state)[0], atol=1e-5)   # the edit is in frame 0
    images = np.stack(list(render_frames(demo, ws, state)))
    check = seam_check(images)
    assert check["seamless"] and check["seam"] > 0
    # and a walk that does not close is caught: drop the last quarter of the loop
    assert not seam_check(images[:9])["seamless"]


def test_keyframe_loop_needs_two_keyframes(demo):
    from gan_explorer.core.errors import ConfigError

    with pytest.raises(ConfigError, match="two keyframes"):
        loop_ws(demo, LatentState(), "keyframes", 8, keyframes=[LatentState(seed=1)])
