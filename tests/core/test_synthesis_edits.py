"""The in-synthesis edit fields of a latent state: checked where they enter, written to JSON and
read back equal, and a state with an edit this version has no applier for is refused in one line."""

import json

import pytest

from gan_explorer.core.latent.state import LatentState, StateError, state_from_dict, state_to_dict, validate_state
from gan_explorer.core.synthesis_edits import _appliers, has_synthesis_edits, synthesis_edits


def test_fields_round_trip_through_json():
    state = validate_state(LatentState(s_edits=((1, 2, 0.5),), bends=((3, "scale", (2.0,)),),
                                       tuning="ab12", blend=("cd", 0.5, 1.0)))
    assert state_from_dict(json.loads(json.dumps(state_to_dict(state)))) == state
    assert has_synthesis_edits(state) and not has_synthesis_edits(LatentState())
    assert state.base().tuning == "ab12" and state.base().s_edits == ()


@pytest.mark.parametrize("field, value, words", [
    ("tuning", "../etc/passwd", "not a content hash"),
    ("s_edits", [[0, 1]], "triple"),
    ("s_edits", [[0, 1, float("nan")]], "finite"),
    ("bends", [[0, 7, []]], "triple"),
    ("blend", ["ABC", 0.5], "content hash"),
])
def test_bad_values_are_refused_in_one_line(field, value, words):
    with pytest.raises(StateError, match=words) as info:
        state_from_dict({field: value})
    assert "\n" not in str(info.value)


def test_an_edit_without_an_applier_is_refused():
    fields = {name for name, _ in _appliers()}
    for field, value in (("s_edits", ((0, 0, 1.0),)), ("bends", ((0, "invert", ()),)), ("tuning", "ab"),
                         ("blend", ("ab", 1.0))):
        if field in fields:
            continue
        with pytest.raises(Exception, match=field):
            with synthesis_edits(object(), LatentState(**{field: value})):
                pass
