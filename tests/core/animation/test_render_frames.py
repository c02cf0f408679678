"""Exported frames are what the window shows for the same state: random noise does not flicker
between frames, and a StyleGAN3 frame keeps its state's translate and rotate."""

import numpy as np

from gan_explorer.core.animation.animate import render_frames
from gan_explorer.core.explorer.animation import frame_state
from gan_explorer.core.io.models import open_model
from gan_explorer.core.latent.state import LatentState, validate_state
from gan_explorer.core.latent.ws import ws_for_state
from gan_explorer.core.render import Renderer, RenderRequest


def shown(model, state):
    return Renderer(model).render(RenderRequest(1, validate_state(state))).image


def test_random_noise_is_the_same_in_every_frame_and_in_the_preview():
    model = open_model("resources/demo/stylegan-faces64.safetensors", device="cpu")
    state = LatentState(seed=2, noise_mode="random", noise_seed=9)
    ws = ws_for_state(model, state).expand(5, -1, -1)
    frames = list(render_frames(model, ws, state))
    assert all(np.array_equal(f, frames[0]) for f in frames)
    assert np.array_equal(frames[0], shown(model, frame_state(state, ws[0].numpy())))


def test_a_stylegan3_frame_keeps_its_transform_whatever_rendered_last():
    model = open_model("tests/fixtures/stylegan_official/sg3t_64.pkl", device="cpu")
    state = LatentState(seed=1, transform=(0.2, 0.0, 15.0))
    ws = ws_for_state(model, state)
    expected = shown(model, state)
    shown(model, LatentState(seed=1))                     # the last render had no transform
    (frame,) = render_frames(model, ws, state)
    assert np.array_equal(frame, expected)
