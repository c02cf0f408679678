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


def test_a_noise_loop_holds_the_face_and_closes():
    """NVIDIA's fixture (its noise strengths are ~0.1; the demo's are ~1e-4): texture flows, the face stays."""
    from gan_explorer.core.animation.loops import noise_loop_frames

    model = open_model("tests/fixtures/stylegan_official/sg2ada_64.pkl", device="cpu")
    state = LatentState(seed=1, noise_seed=3)
    ws = loop_ws(model, state, "noise", 12)
    assert torch.equal(ws[0], ws[-1])                      # the latent holds still
    images = np.stack(list(noise_loop_frames(model, ws, state)))
    check = seam_check(images)
    assert check["seamless"] and check["step_min"] > 0      # the noise moves every frame, and closes
    # The same face with other texture: nearer its own still (9 levels measured) than another seed is (20).
    held = next(render_frames(model, ws[:1], state)).astype(int)
    other = LatentState(seed=2)
    another = next(render_frames(model, loop_ws(model, other, "noise", 2)[:1], other)).astype(int)
    assert np.abs(held - images[0]).mean() < 0.6 * np.abs(held - another).mean()


def test_a_noise_loop_needs_a_stylegan2():
    from gan_explorer.core.animation.loops import noise_loop_frames
    from gan_explorer.core.errors import ConfigError

    model = open_model("tests/fixtures/stylegan_official/sg3t_64.pkl", device="cpu")
    with pytest.raises(ConfigError, match="noise loop needs a StyleGAN2"):
        next(noise_loop_frames(model, torch.zeros(2, model.num_ws, model.w_dim), LatentState()))
