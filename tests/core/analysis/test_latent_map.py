"""The latent map: points, placing latents on it, clicks back to latents, colours, the figure."""

import numpy as np
import pytest
import torch

from gan_explorer.core.analysis.latent_map import available_spaces, compute_map, render_map_image
from gan_explorer.core.progress import Cancelled
from gan_explorer.core.data.faces import factors_for
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.models import build_model
from tests.conftest import TINY


@pytest.fixture(scope="module")
def stylegan():
    torch.manual_seed(0)
    return build_model("stylegan", **TINY["stylegan"]).eval()


def test_pca_map_of_w_places_latents_and_clicks_render_them(stylegan):
    m = compute_map(stylegan, num=40, space="w", seed=10, thumbnail_size=8, color_by=None, batch_size=16)
    assert m.points.shape == (40, 2) and m.thumbnails.shape == (40, 8, 8, 3)
    assert list(m.seeds) == list(range(10, 50))
    assert np.allclose(m.project(m.latents), m.points, atol=1e-5)
    # A click on a point gives back that seed's latent ...
    i = m.nearest(m.points[7] + 1e-4)
    assert i == 7
    expected = stylegan.map(stylegan.sample_z(1, 17))
    assert torch.allclose(m.ws(stylegan, i), expected, atol=1e-6)
    # ... and the current latent (ws from the renderer) lands where its point is; a moved one moves.
    assert np.allclose(m.project_ws(expected[0]), m.points[7], atol=1e-4)
    moved = expected + 0.5 * torch.randn(1, 1, stylegan.w_dim)
    assert not np.allclose(m.project_ws(moved), m.points[7], atol=1e-2)


def test_z_map_for_a_family_without_mapping():
    model = build_model("dcgan", **TINY["dcgan"]).eval()
    assert available_spaces(model) == ["z"]
    m = compute_map(model, num=12, thumbnail_size=0, color_by=None)
    assert m.space == "z" and m.thumbnails is None
    assert np.allclose(m.latents[3], model.sample_z(1, 3)[0].numpy())
    with pytest.raises(ConfigError, match="offers z"):
        compute_map(model, num=12, space="w")


def test_code_map_of_a_vae_is_coloured_by_the_true_factors():
    model = build_model("vae", **TINY["vae"]).eval()
    m = compute_map(model, num=24, thumbnail_size=0, batch_size=12)
    assert m.space == "code" and m.color_source == "true factors of the data"
    assert np.allclose(m.colors["smile"], [factors_for(i, seed=1).smile for i in range(24)])
    # Its latents are the encoder means of those faces.
    from gan_explorer.core.data.faces import FacesDataset

    image = FacesDataset(16, seed=1)[5][0][None]
    assert np.allclose(m.latents[5], model.encode(image)[0, 0].detach().numpy(), atol=1e-5)


@pytest.mark.slow  # importing scikit-learn's manifold module alone takes seconds on 2 busy cores
def test_tsne_places_a_sampled_latent_on_its_own_point(stylegan):
    pytest.importorskip("sklearn", reason="t-SNE comes from scikit-learn")
    m = compute_map(stylegan, num=30, space="z", method="tsne", thumbnail_size=0, color_by=None)
    assert np.allclose(m.project(m.latents[4]), m.points[4], atol=1e-3)


def test_umap_without_umap_learn_is_one_clear_line(stylegan):
    try:
        import umap  # noqa: F401
        pytest.skip("umap-learn is installed here")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match="needs umap-learn"):
        compute_map(stylegan, num=10, method="umap", thumbnail_size=0, color_by=None)


def test_progress_and_cancel(stylegan):
    seen = []
    compute_map(stylegan, num=20, batch_size=10, thumbnail_size=0, color_by=None,
                progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    calls = []

    def stop_after_first():
        calls.append(1)
        return len(calls) > 1
    with pytest.raises(Cancelled):
        compute_map(stylegan, num=20, batch_size=10, thumbnail_size=0, color_by=None, should_stop=stop_after_first)


def test_the_figure_draws_points_thumbnails_colours_and_markers():
    model = build_model("vae", **TINY["vae"]).eval()
    m = compute_map(model, num=30, thumbnail_size=16, batch_size=15)
    image = render_map_image(m, size=400, color_by="skin_tone", thumbnail_px=40,
                             markers=[(m.points[0], "you are here")])
    assert image.shape == (444, 400, 3) and image.dtype == np.uint8
    assert (image != 255).any(axis=2).mean() > 0.05          # something was drawn
    red = (image[..., 0] > 200) & (image[..., 1] < 60) & (image[..., 2] < 90)
    assert red.sum() > 20                                      # the marker
    with pytest.raises(ConfigError, match="known factors are"):
        render_map_image(m, color_by="moustache")


def test_code_map_of_a_folder_is_coloured_by_its_class_folders(tmp_path):
    from PIL import Image

    for k, (name, colour) in enumerate([("cats", (200, 30, 30)), ("dogs", (30, 30, 200))]):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.new("RGB", (20, 20), tuple(c + 5 * i for c in colour)).save(tmp_path / name / f"{i}.png")
    model = build_model("autoencoder", **TINY["autoencoder"]).eval()
    m = compute_map(model, num=8, data=str(tmp_path), thumbnail_size=0)
    assert m.color_source == "class folders of the data"
    assert sorted(m.colors["class"].tolist()) == [0] * 4 + [1] * 4


def test_a_model_of_faces_is_coloured_by_the_shipped_regressor_and_others_are_not(stylegan):
    plain = compute_map(stylegan, num=6, thumbnail_size=0)
    assert plain.colors == {} and plain.color_source == ""
    stylegan.provenance = {"data": "faces:16"}   # as training records it
    try:
        m = compute_map(stylegan, num=6, thumbnail_size=0)
    finally:
        del stylegan.provenance
    assert m.color_source == "predicted by the factor regressor"
    assert set(m.colors) >= {"skin_tone", "smile", "glasses"} and m.colors["smile"].shape == (6,)
