"""The address table: each address is a pure function of the state, in the units its slider shows;
anything else is refused with the reason it is counted under."""

import math

import numpy as np
import pytest

from gan_explorer.core.latent.state import LatentState, SEdit
from gan_explorer.core.perform.addresses import (
    AddressError, Keyframe, LibraryEntry, Target, address_of_change, addresses, apply_message, cc_value,
    describe_table, keyframe_state, match,
)

TARGET = Target(z_dim=8, w_dim=4, num_ws=6, w_sigma=(0.5, 2.0, 1.0, 1.0),
                library={"big smile": LibraryEntry((0.0, 1.0, 0.0, 0.0), 0.25, (2, 3))})


def test_each_address_sets_its_parameter_in_slider_units():
    s = LatentState(seed=3, z_edits=((1, 0.5),))
    assert apply_message(s, TARGET, "/seed", [7]) == LatentState(seed=7)  # z edits go with the seed, as the box
    assert apply_message(s, TARGET, "/psi", [0.7]).truncation_psi == 0.7
    assert apply_message(s, TARGET, "/cutoff", [0]).truncation_cutoff is None  # 0 = all layers
    assert apply_message(s, TARGET, "/cutoff", [4]).truncation_cutoff == 4
    assert apply_message(s, TARGET, "/noise", [1]).noise_mode == "random"
    assert apply_message(s, TARGET, "/noise", ["none"]).noise_mode == "none"
    assert apply_message(s, TARGET, "/noise/seed", [12]).noise_seed == 12
    assert apply_message(s, TARGET, "/z/4", [1.5]).z_edits == ((1, 0.5), (4, 1.5))
    (w,) = apply_message(s, TARGET, "/w/1", [1.5]).w_offsets
    assert (w.key, w.dim, w.amount, w.layer_start, w.layer_end) == ("w:1", 1, 3.0, 0, 5)  # 1.5 σ of σ = 2
    for name in ("big smile", "big_smile"):  # a space is written '_' in an address
        (d,) = apply_message(s, TARGET, f"/direction/{name}", [2.0]).w_offsets
        assert (d.key, d.amount, d.layer_start, d.layer_end, d.direction) == ("lib:big smile", 0.5, 2, 3,
                                                                                (0.0, 1.0, 0.0, 0.0))
    assert apply_message(s, TARGET, "/s/2/17", [0.25]).s_edits == (SEdit(2, 17, 0.25),)
    mixed = apply_message(s, TARGET, "/mix/coarse", [9])
    assert (mixed.mix_seed, mixed.mix_layers) == (9, (0, 1, 2, 3))  # 6 ws: layers 0-3 are the coarse ones
    assert apply_message(mixed, TARGET, "/mix/fine", [-1]).mix_layers == ()
    assert address_of_change(s, apply_message(s, TARGET, "/mix/middle", [2])) == "/mix/middle"
    assert apply_message(s, TARGET, "/z/1", [0]).z_edits == ()  # back to 0 removes the edit
    edited = LatentState(seed=3, z_edits=((1, 0.5),), s_edits=(SEdit(0, 1, 1.0),), mix_seed=4, mix_layers=(1,))
    assert apply_message(edited, TARGET, "/reset", []) == LatentState(seed=3)


@pytest.mark.parametrize("address, params, reason", [
    ("/nope", [1], "unknown"), ("/z/x", [1.0], "unknown"), ("psi", [1.0], "unknown"), ("/" + "a" * 300, [], "unknown"),
    ("/psi", ["high"], "type"), ("/psi", [], "type"), ("/psi", [1.0, 2.0], "type"), ("/psi", [True], "type"),
    ("/seed", [1.5], "type"), ("/psi", [math.nan], "range"), ("/psi", [math.inf], "range"),
    ("/seed", [-1], "range"), ("/seed", [2**32], "range"), ("/z/8", [1.0], "range"), ("/w/4", [1.0], "range"),
    ("/z/0", [1e6], "range"), ("/cutoff", [7], "range"), ("/noise", [3], "range"), ("/noise", ["loud"], "range"),
    ("/direction/frown", [1.0], "range"), ("/mix/toes", [1], "unknown"), ("/mix/fine", [-2], "range"), ("/keyframe", [0.5], "range"), ("/preset/a", [], "range"),
])
def test_bad_messages_are_refused_with_their_reason(address, params, reason):
    with pytest.raises(AddressError) as caught:
        apply_message(LatentState(), TARGET, address, params)
    assert caught.value.reason == reason


def test_keyframe_position_is_a_keyframe_at_whole_numbers_and_a_w_plus_lerp_between():
    a, b = LatentState(seed=1, truncation_psi=0.5), LatentState(seed=2)
    ws_a, ws_b = np.zeros((6, 4), np.float32), np.ones((6, 4), np.float32)
    target = Target(z_dim=8, w_dim=4, num_ws=6, keyframes=(Keyframe(a, ws_a), Keyframe(b, ws_b)))
    assert keyframe_state(target, 0) == a and keyframe_state(target, 1) == b and keyframe_state(target, 9) == b
    between = apply_message(LatentState(), target, "/keyframe", [0.25])
    np.testing.assert_allclose(np.asarray(between.ws), np.full((6, 4), 0.25))
    assert between.seed == 1 and between.truncation_psi == 0.5


def test_move_condition_and_class_for_the_models_that_have_them():
    factors = Target(z_dim=8, w_dim=4, num_ws=6, c_kind="factors", c_names=("glasses", "smile"), c_default=(0.0, 0.5))
    classes = Target(z_dim=8, w_dim=4, num_ws=6, c_kind="class", c_names=("cat", "dog", "fox"), c_default=(1, 0, 0))
    s = LatentState()
    assert apply_message(s, TARGET, "/move/angle", [30.0]).transform == (0.0, 0.0, 30.0)
    assert apply_message(s, factors, "/condition/glasses", [1.0]).condition == (1.0, 0.5)
    assert apply_message(s, factors, "/condition/1", [0.9]).condition == (0.0, 0.9)
    assert apply_message(s, classes, "/class", [2]).condition == (0.0, 0.0, 1.0)
    for target, address, value in ((TARGET, "/move/z", 1.0), (factors, "/condition/hat", 1.0),
                                   (factors, "/class", 1), (classes, "/class", 3), (classes, "/condition/cat", 1.0)):
        with pytest.raises(AddressError):
            apply_message(s, target, address, [value])
    angle, args = match("/move/angle")
    assert cc_value(angle, TARGET, 127, args) == 180.0
    assert address_of_change(s, s.with_changes(transform=(0.0, 0.25, 0.0))) == "/move/y"
    assert address_of_change(s.with_changes(condition=(0.0, 0.5)), s.with_changes(condition=(1.0, 0.5))) \
        == "/condition/0"
    assert address_of_change(s.with_changes(condition=(1.0, 0.0, 0.0)), s.with_changes(condition=(0.0, 1.0, 0.0))) \
        == "/class"


def test_a_knob_sweeps_the_sliders_range():
    psi, _ = match("/psi")
    z, _ = match("/z/3")
    cutoff, _ = match("/cutoff")
    assert cc_value(psi, TARGET, 0) == -1.0 and cc_value(psi, TARGET, 127) == 2.0
    assert cc_value(z, TARGET, 127) == 3.0 and cc_value(z, TARGET, 0) == -3.0
    assert cc_value(cutoff, TARGET, 127) == 6 and isinstance(cc_value(cutoff, TARGET, 64), int)


def test_the_address_a_control_move_changed():
    s = LatentState(seed=3)
    assert address_of_change(s, s.with_changes(seed=4)) == "/seed"
    assert address_of_change(s, s.with_changes(truncation_psi=0.3)) == "/psi"
    assert address_of_change(s, s.with_z_edit(5, 0.1)) == "/z/5"
    assert address_of_change(s, s.with_w_offset("w:2", 0, 5, dim=2, amount=0.1)) == "/w/2"
    assert address_of_change(s, s.with_w_offset("lib:big smile", 0, 5, direction=(1.0,), amount=0.1)) \
        == "/direction/big_smile"
    assert address_of_change(s, s.with_changes(s_edits=(SEdit(1, 2, 0.5),))) == "/s/1/2"
    assert address_of_change(s, s.with_changes(seed=4, truncation_psi=0.2)) is None  # two things: not a control
    assert address_of_change(s, s.with_z_edit(1, 0.1).with_z_edit(2, 0.1)) is None


def test_every_address_is_in_the_table():
    table = describe_table()
    assert all(f"`{a.pattern}`" in table for a in addresses())
    assert len(addresses()) >= 13


def test_the_readme_lists_every_address():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = [a.pattern for a in addresses() if f"| `{a.pattern}` |" not in readme]
    assert not missing, f"README's performer table lacks {missing}"


def test_a_feature_adds_an_address_and_learn_finds_its_slider(monkeypatch):
    from gan_explorer.core.perform import addresses as table

    monkeypatch.setattr(table, "_ADDRESSES", list(table._ADDRESSES))
    monkeypatch.setattr(table, "_CHANGE_FINDERS", [])
    other = "ab" * 32
    table.register_address(table.Address("/blend/weight", "blend", "0 to 1",
                                         lambda s, t, a, v: s.with_changes(blend=(other, v))))
    table.register_change_finder(lambda b, a: "/blend/weight" if b.blend != a.blend else None)
    assert apply_message(LatentState(), TARGET, "/blend/weight", [0.3]).blend == (other, 0.3)
    assert address_of_change(LatentState(), LatentState(blend=(other, 0.5))) == "/blend/weight"
    with pytest.raises(ValueError):
        table.register_address(table.Address("/psi", "again", "", lambda s, t, a, v: s))


def test_blend_addresses_act_on_the_partner_the_network_opened(tmp_path):
    """OSC /blend/<i> sets one stage's weight toward the model opened with Blend with…; before one is
    open, or past the last stage, the message is refused (and counted) in one line."""
    import numpy as np

    from gan_explorer.core.explorer.explorer import Explorer
    from gan_explorer.core.explorer.session import ExplorerSession
    from gan_explorer.core.io.checkpoint import load_model, save_model
    from gan_explorer.core.io.identity import file_identity
    from gan_explorer.core.perform.addresses import AddressError, address_of_change, match

    demo = "resources/demo/stylegan-faces64.safetensors"
    explorer = Explorer(ExplorerSession(sync=True), data_dir=tmp_path / "data")
    explorer.viewer.open_model(demo)
    entry, args = match("/blend/4")
    with pytest.raises(AddressError, match="no second model is open"):
        entry.check(explorer.perform.target, args, 1.0)
    partner = save_model(load_model(demo), tmp_path / "relative.safetensors")
    explorer.network.list_layout()
    assert explorer.network.open_partner(partner).ok
    target = explorer.perform.target
    assert target.blend_partner == file_identity(partner) and target.blend_stages == 5
    entry.check(target, args, 1.0)
    state = entry.apply(explorer.latent.state, target, args, 1.0)
    assert state.blend == (file_identity(partner), 0.0, 0.0, 0.0, 0.0, 1.0)
    assert address_of_change(explorer.latent.state, state) == "/blend/4"     # MIDI learn finds the slider
    with pytest.raises(AddressError, match="stages 0 to 4"):
        entry.check(target, (7,), 1.0)
    assert np.isfinite(entry.apply(state, target, (0,), 0.5).blend[1])
