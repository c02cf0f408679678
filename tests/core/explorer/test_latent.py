"""LatentModel: the state of the image, its undo history and its edits (issue #25: what you see is
what you have). Most tests run it under a synchronous explorer, so every change is rendered and the
ws shown can be compared with the ws of the state."""

import numpy as np
import pytest

from gan_explorer.core.explorer.latent import Edit, LatentModel, edits_of
from gan_explorer.core.explorer.state import LatentState, WOffset
from tests.core.explorer.conftest import UNIT, Recorder, rendered_ws, tiny_model

def edit_everything(explorer):
    """An edit of every kind a user can make in W: a raw w slider, a found direction, a library one."""
    latent = explorer.latent
    latent.set_w(3, 1.5, (0, 5))
    latent.set_offset("d:0", (0, 5), UNIT, 2.0)
    latent.set_offset("lib:smile", (2, 4), -UNIT, 1.0)
    latent.end_gesture()
    assert [e.key for e in latent.edits()] == ["w:3", "d:0", "lib:smile"]


def test_edits_are_listed_with_the_names_a_user_knows():
    state = LatentState(seed=1, z_edits=((4, 0.5),), mix_seed=5, mix_layers=(3, 4), w_offsets=(
        WOffset("w:12", 0, 5, 12, (), 1.0), WOffset("d:3", 0, 5, -1, tuple(UNIT), 1.0),
        WOffset("lib:smile", 0, 5, -1, tuple(UNIT), 1.0)))
    assert edits_of(state) == [Edit("z:4", "z[4]"), Edit("w:12", "w[12]"), Edit("d:3", "direction 3"),
                               Edit("lib:smile", "smile"), Edit("mix", "mix with seed 5")]
    assert edits_of(LatentState(seed=1, mix_seed=5)) == []  # a mix seed with no layer mixes nothing


def test_a_new_seed_keeps_w_edits_lists_them_and_says_which(opened):
    explorer, model = opened
    messages = Recorder(explorer.viewer.events, "message")
    edit_everything(explorer)
    explorer.latent.set_z(2, 0.7)
    explorer.latent.end_gesture()
    assert explorer.latent.set_seed(9)
    state = explorer.latent.state
    assert state.seed == 9 and state.z_edits == ()  # a z edit belongs to the old z
    assert [e.key for e in explorer.latent.edits()] == ["w:3", "d:0", "lib:smile"] and explorer.latent.edited
    (message,) = messages.of("message")
    assert "Seed 9" in message and "3 edit(s)" in message
    assert all(name in message for name in ("w[3]", "direction 0", "smile"))
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, state))


def test_a_new_seed_names_every_edit_it_keeps_mixing_included(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    explorer.latent.change(mix_seed=5, mix_layers=(3, 4, 5))
    explorer.latent.set_w(1, 1.0, (0, 5))
    explorer.latent.set_seed(8)
    kept = explorer.latent.edits()
    assert kept, "the W edit stays"
    (message,) = messages.of("message")
    assert f"{len(kept)} edit(s)" in message
    for edit in kept:
        assert edit.label in message, f"{edit.label} is kept but the message does not say so"


def test_a_new_seed_without_edits_says_nothing(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    explorer.latent.set_seed(4)
    assert messages.of("message") == [] and not explorer.latent.edited
    assert not explorer.latent.set_seed(4)  # the same seed again: no step, no render


def test_reset_edits_removes_all_as_one_undo_step(opened):
    explorer, model = opened
    latent = explorer.latent
    latent.set_seed(6)
    edit_everything(explorer)
    latent.set_z(1, 0.5)
    latent.end_gesture()
    latent.change(mix_seed=3, mix_layers=(4, 5))
    edited = latent.state
    assert len(latent.edits()) == 5
    assert latent.reset_edits()
    assert latent.edits() == [] and not latent.edited
    assert latent.state == LatentState(seed=6, truncation_psi=edited.truncation_psi)
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, LatentState(
        seed=6, truncation_psi=edited.truncation_psi)))
    latent.undo()
    assert latent.state == edited and len(latent.edits()) == 5
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, edited))
    latent.redo()
    assert latent.edits() == []
    assert not latent.reset_edits()  # nothing left to reset: no empty undo step


def test_an_explicit_latent_replaces_every_edit_and_is_rendered_as_it_is(opened):
    explorer, model = opened
    edit_everything(explorer)
    rng = np.random.default_rng(0)
    ws = rng.standard_normal((model.num_ws, model.w_dim)).astype(np.float32)
    assert explorer.latent.replace_latent(ws)
    assert explorer.latent.edits() == [] and explorer.latent.state.w_offsets == ()
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, ws)  # exactly: nothing on top
    explorer.latent.undo()  # the edits come back with the state they belonged to
    assert [e.key for e in explorer.latent.edits()] == ["w:3", "d:0", "lib:smile"]


def test_a_new_seed_after_an_explicit_latent_drops_the_latent(opened):
    explorer, model = opened
    explorer.latent.replace_latent(np.zeros((model.num_ws, model.w_dim), np.float32))
    explorer.latent.set_seed(explorer.latent.state.seed)  # the same seed number: still a change
    assert explorer.latent.state.ws == ()
    np.testing.assert_array_equal(explorer.viewer.last_result.ws, rendered_ws(model, explorer.latent.state))


def test_the_w_slider_moves_in_units_of_the_real_sigma(opened):
    explorer, _ = opened
    info = explorer.viewer.info
    explorer.latent.set_w(3, 1.0, (0, info.num_ws - 1))
    (offset,) = explorer.latent.state.w_offsets
    assert offset.key == "w:3" and offset.amount == pytest.approx(float(info.w_std[3]))
    assert explorer.latent.w_values() == {3: pytest.approx(1.0)}
    explorer.latent.set_w(3, 0.0, (0, info.num_ws - 1))  # back to 0: the edit is gone
    assert explorer.latent.edits() == []


def test_one_undo_step_per_drag(opened):
    explorer, _ = opened
    latent = explorer.latent
    for v in (0.1, 0.2, 0.3):
        latent.set_z(0, v)
    latent.end_gesture()
    latent.set_seed(7)
    latent.undo()
    assert latent.state.z_edits == ((0, 0.3),)
    latent.undo()
    assert latent.state.z_edits == () and latent.state.seed == 0


def test_a_drag_renders_previews_and_its_end_a_full_frame(opened):
    explorer, _ = opened
    session = explorer.session
    previews = []
    original = session.render
    session.render = lambda state, token, request_id, preview=False: (previews.append(preview),
                                                                       original(state, token, request_id, preview))
    explorer.latent.set_w(0, 0.5, (0, 5))
    explorer.latent.set_w(0, 1.0, (0, 5))
    explorer.latent.end_gesture()
    assert previews == [True, True, False]


def test_a_newly_opened_model_starts_a_fresh_history_and_says_edits_were_cleared(opened):
    explorer, _ = opened
    messages = Recorder(explorer.viewer.events, "message")
    edit_everything(explorer)
    explorer.viewer.use_model(tiny_model(seed=2))
    assert explorer.latent.edits() == [] and not explorer.latent.history.can_undo()
    assert any("3 edit(s)" in m for m in messages.of("message"))


def test_offsets_by_prefix():
    latent = LatentModel()
    latent.set_offset("d:1", (0, 1), UNIT, 2.0)
    latent.set_offset("d:4", (0, 1), UNIT, -1.0)
    latent.set_offset("lib:smile", (0, 1), UNIT, 3.0)
    assert latent.offset_amounts("d:") == {"1": 2.0, "4": -1.0}
    latent.clear_offsets("d:")
    assert [e.key for e in latent.edits()] == ["lib:smile"]
    latent.undo()
    assert latent.offset_amounts("d:") == {"1": 2.0, "4": -1.0}


def test_s_channel_edits_and_bends_are_edits_that_reset_removes_but_a_blend_stays(opened):
    explorer, _ = opened
    latent = explorer.latent
    latent.change(s_edits=((0, 3, 1.5),), bends=((1, "scale", (2.0,)),), blend=("ab" * 32, 0.0))
    labels = [e.label for e in latent.edits()]
    assert labels == ["channel 0:3", "bend scale on layer 1"] and latent.edited
    assert latent.reset_edits()
    assert latent.state.s_edits == () and latent.state.bends == () and latent.state.blend == ("ab" * 32, 0.0)
