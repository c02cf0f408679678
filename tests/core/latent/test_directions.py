"""Discovered directions (GANSpace PCA, SeFa) for every latent family, in W or, without a mapping, in Z."""

import numpy as np
import pytest
import torch

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.latent.directions import (
    METHODS, activation_pca_directions, first_activation, first_layer_matrix, sefa_directions,
)
from gan_explorer.core.models import build_model
from tests.conftest import TINY

LATENT_FAMILIES = ["stylegan", "stylegan3", "dcgan", "gan", "vae", "autoencoder"]


@pytest.mark.parametrize("family", LATENT_FAMILIES)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_directions_are_orthonormal_with_a_spread(family, method):
    model = build_model(family, **TINY[family]).eval()
    directions, sigma = METHODS[method](model, k=4, samples=600)
    assert directions.shape == (4, model.w_dim) and sigma.shape == (4,)
    assert np.allclose(np.linalg.norm(directions, axis=1), 1, atol=1e-4)
    if method == "sefa" or model.capabilities.has_mapping:  # eigenvectors / principal axes
        assert np.allclose(directions @ directions.T, np.eye(4), atol=1e-4)
    assert np.all(sigma > 0.05) and np.all(np.isfinite(sigma))


def _gan_with_one_loud_dimension(loud: int):
    """A real MLP GAN whose first layer amplifies z[loud] tenfold: both methods must find that axis."""
    model = build_model("gan", **TINY["gan"]).eval()
    first = model.generator[0]
    with torch.no_grad():
        first.weight.mul_(0.1)
        first.weight[:, loud] *= 100.0
    return model


@pytest.mark.parametrize("method", ["pca", "sefa"])
def test_without_a_mapping_directions_live_in_z_and_find_the_loud_axis(method):
    model = _gan_with_one_loud_dimension(loud=5)
    directions, sigma = METHODS[method](model, k=3, samples=1500)
    assert abs(directions[0, 5]) > 0.95, directions[0]
    # z is a standard normal: its spread along any unit direction is about 1.
    assert sigma[0] == pytest.approx(1.0, abs=0.1)


def test_pca_without_mapping_is_not_pca_of_the_isotropic_prior():
    """Before, PCA of w = z gave arbitrary axes; now the loud axis comes first."""
    model = _gan_with_one_loud_dimension(loud=2)
    assert first_activation(model) == "generator.1"
    directions, _ = activation_pca_directions(model, k=2, samples=1500)
    assert abs(directions[0, 2]) > 0.95


def test_first_layer_matrix_of_dcgan_is_its_projection_of_z():
    model = build_model("dcgan", **TINY["dcgan"]).eval()
    a = first_layer_matrix(model)
    z = torch.randn(3, model.z_dim)
    out = model.generator.main[0](z.reshape(3, -1, 1, 1)).flatten(1)
    assert np.allclose(z.double().numpy() @ a.T, out.detach().double().numpy(), atol=1e-5)


def test_sefa_top_direction_moves_the_first_layer_most():
    model = build_model("vae", **TINY["vae"]).eval()
    directions, _ = sefa_directions(model, k=1)
    a = first_layer_matrix(model)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    best = np.linalg.norm(a @ directions[0])
    random = np.random.default_rng(0).standard_normal((200, model.w_dim))
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    assert best >= np.linalg.norm(random @ a.T, axis=1).max() - 1e-6


def test_translation_family_has_no_directions():
    model = build_model("cyclegan", **TINY["cyclegan"])
    for method in METHODS.values():
        with pytest.raises(GanExplorerError, match="translates images"):
            method(model, k=2)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_conditional_model_without_mapping_gets_directions_in_its_w(method):
    """w is concat(z, c): the directions have w's width and leave the condition alone (PCA failed with
    a matmul shape error on the glasses DCGAN)."""
    torch.manual_seed(0)
    model = build_model("dcgan", **TINY["dcgan"], c_dim=1, c_names=("glasses",)).eval()
    directions, sigma = METHODS[method](model, k=5)
    assert directions.shape == (len(sigma), model.w_dim) and model.w_dim == model.z_dim + 1
    assert np.allclose(directions[:, model.z_dim:], 0) and np.all(sigma > 0)
