"""Official StyleGAN2-ADA / StyleGAN3 pickles render what the original code renders."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_explorer.core.io.checkpoint import load_model, save_model
from gan_explorer.core.io.models import open_model
from gan_explorer.core.latent import mix_styles

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stylegan_official"
NETWORKS = ["sg2ada_64", "sg3t_64"]


def _manifest(name):
    return json.loads((FIXTURES / f"{name}_ref" / "manifest.json").read_text())


def _ref(name, file):
    return np.load(FIXTURES / f"{name}_ref" / file)


@pytest.fixture(scope="module", params=NETWORKS)
def network(request):
    return request.param, open_model(FIXTURES / f"{request.param}.pkl")


def test_fixtures_are_there():
    assert all((FIXTURES / f"{n}.pkl").is_file() for n in NETWORKS), f"the official fixtures belong in tests/fixtures: {FIXTURES}"


def test_state_dict_matches_manifest_hashes(network):
    name, model = network
    manifest = _manifest(name)
    state = model.state_dict()
    assert model.num_ws == manifest["num_ws"] and model.img_resolution == manifest["img_resolution"]
    for key in manifest["state_dict_keys"]:
        digest = hashlib.sha256(state[key].contiguous().numpy().tobytes()).hexdigest()
        assert digest == manifest["state_dict_tensors"][key]["sha256"], key


def test_every_seed_and_psi_matches_the_reference(network):
    name, model = network
    entries = [e for e in _manifest(name)["entries"] if e["kind"] == "seed"]
    assert len(entries) == 8
    with torch.no_grad():
        for e in entries:
            z = model.sample_z(1, e["seed"])
            assert np.array_equal(z.numpy(), _ref(name, e["z"]).astype(np.float32))
            ws = model.map(z, truncation_psi=e["psi"])
            assert np.abs(ws.numpy() - _ref(name, e["ws"])).max() <= 1e-5
            img = model.synthesize(ws, noise_mode="const")
            assert np.abs(img.numpy() - _ref(name, e["img"])).max() <= 1e-4, e  # README: images within 1e-4


def test_style_mixing_entry(network):
    name, model = network
    (e,) = [e for e in _manifest(name)["entries"] if e["kind"] == "style_mix"]
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([e["row_seed"], e["col_seed"]]), truncation_psi=e["psi"])
        mixed = mix_styles(ws[:1], ws[1:], e["col_styles"])
        assert np.abs(mixed.numpy() - _ref(name, e["ws"])).max() <= 1e-5
        assert np.abs(model.synthesize(mixed).numpy() - _ref(name, e["img"])).max() <= 1e-4


def test_stylegan3_transform_entry():
    model = open_model(FIXTURES / "sg3t_64.pkl")
    (e,) = [e for e in _manifest("sg3t_64")["entries"] if e["kind"] == "transform"]
    inverse = model.set_transform((0.1, -0.2), 15)
    assert np.allclose(inverse.numpy(), np.linalg.inv(_ref("sg3t_64", "transform_t0.1_-0.2_r15_matrix.npy")), atol=1e-6) \
        or np.allclose(inverse.numpy(), _ref("sg3t_64", "transform_t0.1_-0.2_r15_matrix.npy"), atol=1e-6)
    with torch.no_grad():
        img = model.synthesize(model.map(model.sample_z(1, e["seed"]), truncation_psi=e["psi"]))
    assert np.abs(img.numpy() - _ref("sg3t_64", e["img"])).max() <= 1e-4


def test_imported_model_saves_to_our_format_with_provenance(network, tmp_path):
    name, model = network
    path = save_model(model, tmp_path / f"{name}.safetensors", provenance=model.provenance)
    again = load_model(path)
    assert again.provenance["format"] == "nvidia-pickle" and len(again.provenance["sha256"]) == 64
    with torch.no_grad():
        z = model.sample_z(1, 3)
        assert torch.equal(model.generate(z, 0.5), again.generate(z, 0.5))


def test_generate_cli_takes_a_pickle_directly(tmp_path):
    from PIL import Image

    from gan_explorer.cli import main

    out = tmp_path / "s1.png"
    assert main(["generate", str(FIXTURES / "sg2ada_64.pkl"), "--seeds", "1", "--out", str(out)]) == 0
    ref = _ref("sg2ada_64", "seed1_psi1.0_img.npy")[0].transpose(1, 2, 0)
    expected = np.clip(np.floor(ref * 127.5 + 128), 0, 255).astype(np.uint8)
    assert np.abs(np.asarray(Image.open(out)).astype(int) - expected).max() <= 1


def test_designed_stylegan3_filters_equal_the_official_ones():
    """A StyleGAN3 built from the fixture's options designs the same FIR filters the pickle carries."""
    from gan_explorer.core.models.stylegan3 import StyleGAN3

    imported = open_model(FIXTURES / "sg3t_64.pkl")
    fresh = StyleGAN3(imported.config)
    official = {k: v for k, v in imported.state_dict().items() if k.endswith("_filter")}
    designed = fresh.state_dict()
    assert official  # the T config has up/down filters in every layer
    for key, value in official.items():
        assert torch.allclose(designed[key], value, atol=1e-7), key
