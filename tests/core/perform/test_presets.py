"""Presets: saved with the ws they render with, read back equal from the data folder, recalled, and
morphed (0 is preset a, 1 is preset b, between is the lerp of their ws)."""

import json

import numpy as np
import pytest

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.latent.state import LatentState, SEdit
from gan_explorer.core.perform.presets import Preset, PresetStore, morph
from tests.core.explorer.conftest import rendered_ws


def test_save_recall_morph_round_trip(performing):
    explorer, model, mailman = performing
    perform, latent = explorer.perform, explorer.latent
    latent.set_seed(1)
    latent.set_z(2, 1.5)
    assert perform.save_preset("calm", {"output_size": 512}).ok
    state_a = latent.state
    latent.set_seed(2)
    latent.change(truncation_psi=0.5)
    perform.save_preset("wild")
    state_b = latent.state
    assert perform.preset_names() == ["calm", "wild"]

    again = PresetStore(explorer.viewer.info.content_hash, explorer.perform.data_dir)  # read back from the data folder
    a, b = again.get("calm"), again.get("wild")
    assert a.state == state_a and b.state == state_b and a.settings == {"output_size": 512}
    np.testing.assert_allclose(a.ws, rendered_ws(model, state_a), atol=1e-6)

    assert perform.recall("calm") and latent.state == state_a
    assert perform.morph("calm", "wild", 1.0) and latent.state == state_b
    perform.morph("calm", "wild", 0.5)
    np.testing.assert_allclose(explorer.viewer.last_result.ws, (a.ws + b.ws) / 2, atol=1e-5)
    perform.receive("/preset/calm", ())  # over OSC too
    mailman.pump()
    assert latent.state == state_a
    perform.receive("/morph/calm/wild", (0.25,))
    mailman.pump()
    np.testing.assert_allclose(explorer.viewer.last_result.ws, a.ws + 0.25 * (b.ws - a.ws), atol=1e-5)
    perform.remove_preset("calm")
    assert PresetStore(explorer.viewer.info.content_hash, explorer.perform.data_dir).names() == ["wild"]


def test_morph_interpolates_what_both_have_and_takes_the_rest_from_the_nearer():
    ws = np.zeros((2, 3), np.float32)
    a = Preset("a", LatentState(seed=1, truncation_psi=0.0, noise_mode="none", s_edits=(SEdit(0, 1, 1.0),)), ws)
    b = Preset("b", LatentState(seed=2, truncation_psi=1.0, s_edits=(SEdit(0, 2, 2.0),)), ws + 1)
    early, late = morph(a, b, 0.25), morph(a, b, 0.75)
    assert early.truncation_psi == 0.25 and early.noise_mode == "none" and late.noise_mode == "const"
    assert early.s_edits == (SEdit(0, 1, 0.75), SEdit(0, 2, 0.5))
    np.testing.assert_allclose(np.asarray(late.ws), 0.75)
    assert morph(a, b, -1) == a.state and morph(a, b, 2) == b.state
    with pytest.raises(ConfigError, match="other shapes"):
        morph(a, Preset("c", LatentState(), np.zeros((3, 3), np.float32)), 0.5)


def test_a_damaged_presets_file_is_set_aside_and_bad_names_refused(tmp_path):
    key = "ab" * 32
    store = PresetStore(key, tmp_path)
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps({"presets": [{"name": "x", "state": {"seed": -4}}]}))
    damaged = PresetStore(key, tmp_path)
    assert damaged.names() == [] and "not a usable presets file" in damaged.warning
    assert list(tmp_path.glob("presets/*.damaged-*.json"))
    for name in ("", "a/b", "x" * 81):
        with pytest.raises(ConfigError):
            damaged.add(Preset(name, LatentState()))
    with pytest.raises(ConfigError):
        damaged.add(Preset("ok", LatentState(), None, {"nested": {"no": 1}}))
