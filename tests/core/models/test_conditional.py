"""Conditional models (issue #21, control): the Conditioning interface, c entering at map() only,
the discriminators / encoder taking c, and configs that cannot describe a condition refused."""

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.checkpoint import load_model, save_model
from gan_explorer.core.models import build_model
from gan_explorer.core.models.conditioning import Conditioning
from tests.conftest import TINY

FAMILIES = ["stylegan", "dcgan", "vae"]


def conditional(family, c_dim=3, **extra):
    return build_model(family, **TINY[family], c_dim=c_dim, **extra).eval()


def test_class_conditioning_vectors_and_text():
    cond = Conditioning(kind="class", c_dim=3, names=("cat", "dog", "fox"))
    assert cond.vector(2).tolist() == [0, 0, 1] == cond.vector(np.int64(2)).tolist()
    assert cond.describe(cond.vector(1)) == "dog"
    assert cond.parse("dog").tolist() == [0, 1, 0] == cond.parse(" 1 ").tolist() == cond.parse("class=1").tolist()
    assert cond.default_vector().tolist() == [1, 0, 0]
    assert Conditioning(kind="class", c_dim=2).names == ("class 0", "class 1")
    assert Conditioning(kind="class", c_dim=2).parse("class 1").tolist() == [0, 1]
    for text, message in [("7", "classes 0 to 2"), ("-1", "classes 0 to 2"), ("cow", "not a class"),
                          ("", "empty condition"), ("glasses=1", "not a class")]:
        with pytest.raises(ConfigError, match=message):
            cond.parse(text)
    with pytest.raises(ConfigError, match="conditioned on classes"):
        cond.vector({"cat": 1})


def test_factor_conditioning_defaults_and_errors():
    cond = Conditioning(kind="factors", c_dim=3, names=("glasses", "smile", "hair_color"))
    # Factors not given keep the procedural faces' defaults: glasses 0, smile 0, hair colour 0.5.
    assert cond.default_vector().tolist() == [0.0, 0.0, 0.5]
    assert cond.parse("glasses=1, smile=0.8").tolist() == pytest.approx([1.0, 0.8, 0.5])
    assert cond.describe(cond.parse("smile=0.8")) == "glasses=0, smile=0.8, hair_color=0.5"
    assert cond.vector({"hair_color": 0.25}).tolist() == [0.0, 0.0, 0.25]
    assert cond.vector([1, 2, 3]).tolist() == [1, 2, 3]
    for text, message in [("beard=1", "not one of glasses, smile, hair_color"), ("glasses", "NAME=VALUE"),
                          ("smile=lots", "not a number"), ("smile=nan", "finite")]:
        with pytest.raises(ConfigError, match=message):
            cond.parse(text)
    with pytest.raises(ConfigError, match="not classes"):
        cond.vector(1)
    with pytest.raises(ConfigError, match="2 values"):
        cond.vector([1, 2])


@pytest.mark.parametrize("family", FAMILIES)
def test_condition_enters_at_map_only(family):
    model = conditional(family)
    assert model.c_dim == 3 and model.conditioning.c_dim == 3
    z = model.z_from_seeds([0, 1])
    with torch.no_grad():
        ws_default = model.map(z)
        ws0 = model.map(z, c=torch.eye(3)[[0, 0]])
        ws2 = model.map(z, c=torch.eye(3)[[2, 2]])
        assert torch.allclose(ws_default, ws0)  # no c: the default condition (class 0) on every row
        assert ws0.shape == (2, model.num_ws, model.w_dim)
        img0, img2 = model.synthesize(ws0), model.synthesize(ws2)  # synthesize(ws) takes no c
        assert (img0 - img2).abs().max() > 1e-3
        assert torch.allclose(model.generate(z, c=torch.eye(3)[[2, 2]]), img2, atol=1e-5)
        mixed = model.map(z, c=torch.eye(3)[[0, 2]])  # one condition per row
        assert torch.allclose(mixed[1], ws2[1], atol=1e-6)
    for bad in (torch.zeros(2, 4), torch.zeros(3, 3)):
        with pytest.raises(ConfigError, match="c has"):
            model.map(z, c=bad)


@pytest.mark.parametrize("family", FAMILIES)
def test_unconditional_models_refuse_a_condition(family):
    model = build_model(family, **TINY[family]).eval()
    assert model.c_dim == 0 and model.conditioning is None
    z = model.z_from_seeds([0])
    with pytest.raises(ConfigError, match="not conditional"):
        model.map(z, c=torch.zeros(1, 3))


def test_concatenated_w_width_and_truncation_centre():
    model = conditional("dcgan", c_dim=4)
    assert model.w_dim == TINY["dcgan"]["z_dim"] + 4
    assert model.w_avg[-4:].tolist() == [0.25] * 4  # every class alike: psi pulls toward no class in particular
    ws = model.map(model.z_from_seeds([0]), truncation_psi=0.0, c=torch.eye(4)[[1]])
    assert torch.allclose(ws[0, 0], model.w_avg)


@pytest.mark.parametrize("family", ["stylegan", "dcgan"])
def test_discriminators_score_the_condition(family):
    model = conditional(family)
    D = model.make_discriminator() if family == "dcgan" else _stylegan_d(model)
    D.eval()
    images = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        a, b = D(images, torch.eye(3)[[0] * 4]), D(images, torch.eye(3)[[1] * 4])
    assert a.shape == (4, 1) and not torch.allclose(a, b)
    with pytest.raises(ConfigError, match="give c"):
        D(images)


def _stylegan_d(model):
    from gan_explorer.core.models.stylegan import StyleGANDiscriminator

    return StyleGANDiscriminator(model.config)


def test_cvae_encoder_takes_the_condition_and_encode_carries_it():
    model = conditional("vae")
    images = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        mu0, _ = model.encode_distribution(images, torch.eye(3)[[0, 0]])
        mu1, _ = model.encode_distribution(images, torch.eye(3)[[1, 1]])
        ws = model.encode(images, torch.eye(3)[[1, 1]])
    assert not torch.allclose(mu0, mu1)
    assert ws.shape == (2, 1, model.w_dim) and ws[0, 0, -3:].tolist() == [0, 1, 0]


@pytest.mark.parametrize("family", FAMILIES)
def test_conditional_checkpoint_round_trip(family, tmp_path):
    model = conditional(family, c_dim=2, c_kind="factors", c_names=("glasses", "smile"))
    again = load_model(save_model(model, tmp_path / f"{family}.safetensors"))
    assert again.conditioning == model.conditioning
    z = model.z_from_seeds([3])
    c = again.conditioning.parse("glasses=1,smile=-0.5")[None]
    with torch.no_grad():
        assert torch.allclose(model.generate(z, c=c), again.generate(z, c=c), atol=1e-6)


@pytest.mark.parametrize("change, message", [
    (dict(c_dim=2, c_names=("a",)), "1 names for c_dim=2"),
    (dict(c_dim=2, c_kind="factors"), "needs c_names"),
    (dict(c_dim=1, c_kind="labels"), "c_kind='labels'"),
    (dict(c_dim=2, c_names=("a", "a")), "must differ"),
    (dict(c_dim=2, c_names=("a=b", "c")), "not a usable name"),
    (dict(c_dim=-1), "c_dim=-1"),
])
def test_bad_condition_configs_are_one_line(change, message):
    for family in FAMILIES:
        with pytest.raises(ConfigError, match=message):
            build_model(family, **TINY[family], **change)
