"""Pivotal tuning (core/latent/tuning.py): a tiny StyleGAN and a held-out procedural face, few steps."""

import numpy as np
import pytest
import torch

from gan_explorer.core.data.faces import FacesDataset
from gan_explorer.core.errors import Cancelled, ConfigError
from gan_explorer.core.generate import render_ws
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.io.identity import model_identity
from gan_explorer.core.io.models import open_model
from gan_explorer.core.latent import tuning as tuning_module
from gan_explorer.core.latent.state import LatentState
from gan_explorer.core.latent.tuning import (
    apply, find_tuning, load_tuning, save_tuning, tune, tuning_path,
)
from gan_explorer.core.models import build_model
from gan_explorer.core.synthesis_edits import synthesis_edits
from tests.conftest import TINY

STEPS = 12
pytestmark = pytest.mark.slow  # one short tuning (~4 s quiet, ~40 s on the shared machine) for the module


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, one_intra_op_thread):
    """(model file, model, photo, pivot ws, result) of one short tuning of a tiny StyleGAN."""
    torch.manual_seed(0)
    path = save_model(build_model("stylegan", **TINY["stylegan"]), tmp_path_factory.mktemp("m") / "m.safetensors")
    model = open_model(path).eval()
    model_identity(model, path)
    photo = FacesDataset(16, seed=1).image(0)
    pivot = model.w_avg.detach().reshape(1, 1, -1).expand(1, model.num_ws, -1).numpy().copy()
    result = tune(model, photo, pivot, steps=STEPS, learning_rate=3e-3, loss="l2", locality_every=2)
    return path, model, photo, pivot, result


def _state(pivot, tuning=""):
    return LatentState(ws=tuple(map(tuple, pivot[0].tolist())), tuning=tuning)


def _render(model, pivot, state):
    with synthesis_edits(model, state):
        return render_ws(model, torch.from_numpy(pivot))[0]


def test_tuning_raises_psnr_over_its_pivot_and_stores_small(tuned):
    _, model, _, _, result = tuned
    assert result.psnr > result.pivot_psnr + 1.0
    assert result.psnr_history[-1] > result.psnr_history[0]
    full = sum(p.numel() * 4 for p in model.synthesis.parameters())
    assert result.stored_bytes < full  # the change in float16 (auto, a small model) is half the weights


def test_the_state_renders_through_the_tuning_and_the_applier_restores_exactly(tuned):
    _, model, _, pivot, result = tuned
    params = dict(model.synthesis.named_parameters())
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    plain = _render(model, pivot, _state(pivot))
    shown = _render(model, pivot, _state(pivot, result.tuning.content_hash))
    assert np.array_equal(shown, result.images[0])  # what the tuning showed is what the state renders
    assert not np.array_equal(shown, plain)
    with apply(model, _state(pivot, result.tuning.content_hash)):
        assert any(dict(model.synthesis.named_parameters())[k] is not p for k, p in params.items())
    after = dict(model.synthesis.named_parameters())
    assert all(after[k] is p for k, p in params.items())  # the very Parameter objects are back
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert np.array_equal(_render(model, pivot, _state(pivot)), plain)


def test_an_edit_after_tuning_changes_the_image(tuned):
    _, model, _, pivot, result = tuned
    state = _state(pivot, result.tuning.content_hash)
    edited = state.with_w_offset("w:0", 0, model.num_ws - 1, dim=0, amount=2.0)
    from gan_explorer.core.latent.ws import ws_for_state

    with torch.no_grad():
        ws = ws_for_state(model, edited).numpy()
    assert not np.array_equal(_render(model, ws, edited), result.images[0])
    assert not np.array_equal(_render(model, ws, edited), _render(model, ws, edited.with_changes(tuning="")))


def test_stored_tuning_reloads_from_the_data_folder_bit_identically(tuned, monkeypatch):
    _, model, _, pivot, result = tuned
    path = save_tuning(result.tuning)
    assert path == tuning_path(result.tuning) and path.stat().st_size == result.stored_bytes
    monkeypatch.setattr(tuning_module, "_REGISTRY", {})  # a new process: only the file is left
    found = find_tuning(result.tuning.content_hash, model_identity(model))
    assert found is not result.tuning
    assert np.array_equal(_render(model, pivot, _state(pivot, found.content_hash)), result.images[0])


def test_a_tuning_of_another_base_model_is_refused_in_one_line(tuned, tmp_path):
    _, _, _, _, result = tuned
    path = save_tuning(result.tuning, tmp_path / "t.safetensors")
    torch.manual_seed(1)  # other weights: the same architecture, another model
    other = build_model("stylegan", **TINY["stylegan"])
    with pytest.raises(ConfigError) as caught:
        load_tuning(path, other)
    assert "\n" not in str(caught.value) and "t.safetensors" in str(caught.value)
    assert "another model" in str(caught.value)


def test_a_missing_tuning_is_one_line(tuned, monkeypatch):
    _, model, _, pivot, _ = tuned
    monkeypatch.setattr(tuning_module, "_REGISTRY", {})
    with pytest.raises(ConfigError, match="not on this machine"):
        _render(model, pivot, _state(pivot, "ab" * 32))


def test_cancel_raises_and_leaves_the_model_as_it_was(tuned):
    _, model, photo, pivot, _ = tuned
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    calls = []
    with pytest.raises(Cancelled):
        tune(model, photo, pivot, steps=50, loss="l2", should_stop=lambda: len(calls) >= 2,
             progress=lambda *a: calls.append(a))
    assert len(calls) == 2
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_generate_latent_png_re_renders_the_tuned_picture_on_another_machine(tuned, tmp_path, monkeypatch):
    """The PNG carries the tuning: with no tuning in the process or the data folder (another machine),
    `generate --latent picture.png` renders the very pixels of the export."""
    from PIL import Image

    from gan_explorer.cli import main
    from gan_explorer.core.io.images import png_info, save_image
    from gan_explorer.core.latent.provenance import export_metadata

    model_path, model, _, pivot, result = tuned
    state = _state(pivot, result.tuning.content_hash)
    image = _render(model, pivot, state)
    exported = tmp_path / "tuned.png"
    save_image(exported, image, pnginfo=png_info(export_metadata("m.safetensors", model_identity(model), state,
                                                                 pivot[0])))
    monkeypatch.setattr(tuning_module, "_REGISTRY", {})
    assert not tuning_path(result.tuning, tmp_path / "nowhere").exists()
    monkeypatch.setenv("GAN_EXPLORER_DATA", str(tmp_path / "another-machine"))
    out = tmp_path / "again.png"
    assert main(["generate", str(model_path), "--latent", str(exported), "--out", str(out)]) == 0
    again = np.asarray(Image.open(out))
    assert np.array_equal(again, image)
    assert not np.array_equal(again, render_ws(model, torch.from_numpy(pivot))[0])


def test_the_storages_keep_a_low_rank_change_and_auto_picks_by_size(monkeypatch):
    from gan_explorer.core.latent.tuning import Tuning, compress

    g = torch.Generator().manual_seed(0)
    low_rank = torch.randn(64, 4, generator=g) @ torch.randn(4, 32 * 9, generator=g)
    differences = {"conv.weight": low_rank.reshape(64, 32, 3, 3) * 1e-3, "conv.bias": torch.zeros(64)}
    for storage, rank in (("full", 1), ("half", 1), ("rank", 4), ("auto", 4)):
        stored = Tuning("b", "", "p", compress(differences, storage, rank))
        assert "conv.bias" not in stored.parameter_names()  # unchanged tensors are left out
        error = (stored.difference("conv.weight", (64, 32, 3, 3)) - differences["conv.weight"]).abs().max()
        assert error <= 2e-3 * differences["conv.weight"].abs().max()  # float16 factors: 11 significant bits
    assert set(compress(differences, "rank", 4)) == {"conv.weight.a", "conv.weight.b"}
    assert set(compress(differences, "auto", 4)) == {"conv.weight"}  # small: float16 whole
    monkeypatch.setattr(tuning_module, "AUTO_HALF_BYTES", 10)
    assert set(compress(differences, "auto", 4)) == {"conv.weight.a", "conv.weight.b"}
