"""The official conditional StyleGAN2-ADA fixture (c_dim 5) renders what the original code renders,
class by class, and honours c through our own checkpoint format."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.models import open_model

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stylegan_official"
NAME = "sg2ada_cond_32"


def _ref(file):
    return np.load(FIXTURES / f"{NAME}_ref" / file)


@pytest.fixture(scope="module")
def manifest():
    return json.loads((FIXTURES / f"{NAME}_ref" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def model():
    return open_model(FIXTURES / f"{NAME}.pkl")


def test_conditional_pickle_opens_with_its_label_width(model, manifest):
    assert (model.c_dim, model.num_ws, model.img_resolution) == (5, manifest["num_ws"], 32)
    assert model.conditioning.kind == "class" and model.conditioning.names[4] == "class 4"
    state = model.state_dict()
    assert set(state) == set(manifest["state_dict_keys"])
    for key in manifest["state_dict_keys"]:
        digest = hashlib.sha256(state[key].contiguous().numpy().tobytes()).hexdigest()
        assert digest == manifest["state_dict_tensors"][key]["sha256"], key


def test_every_class_seed_and_psi_matches_the_reference(model, manifest):
    entries = manifest["entries"]
    assert len(entries) == 18 and {e["class"] for e in entries} == {0, 2, 4}
    for psi in sorted({e["psi"] for e in entries}):
        batch = [e for e in entries if e["psi"] == psi]  # one batch per psi: 9 renders at once
        z = model.z_from_seeds([e["seed"] for e in batch])
        for e, row in zip(batch, z):
            assert np.array_equal(row[None].numpy(), _ref(e["z"]).astype(np.float32))
        c = torch.stack([model.conditioning.vector(e["class"]) for e in batch])
        for e, row in zip(batch, c):
            assert np.array_equal(row[None].numpy(), _ref(e["c"]))
        with torch.no_grad():
            ws = model.map(z, truncation_psi=psi, c=c)
            images = model.synthesize(ws, noise_mode="const")
        for e, w, img in zip(batch, ws, images):
            assert np.abs(w[None].numpy() - _ref(e["ws"])).max() <= 1e-5, e
            assert np.abs(img[None].numpy() - _ref(e["img"])).max() <= 1e-4, e  # README: images within 1e-4


def test_the_class_matters_and_the_default_is_class_0(model):
    z = model.z_from_seeds([0, 0, 0])
    with torch.no_grad():
        default = model.generate(z[:1])
        images = model.generate(z, c=torch.stack([model.conditioning.vector(0), model.conditioning.parse("2"),
                                                  model.conditioning.parse("class 4")]))
    assert torch.allclose(default[0], images[0], atol=1e-5)
    assert (images[0] - images[1]).abs().max() > 0.1 and (images[1] - images[2]).abs().max() > 0.1


def test_wrong_condition_is_one_line(model):
    z = model.sample_z(1, 0)
    with pytest.raises(ConfigError, match=r"\[n, 5\]"):
        model.map(z, c=torch.zeros(1, 3))
    with pytest.raises(ConfigError, match="classes 0 to 4"):
        model.conditioning.parse("7")
