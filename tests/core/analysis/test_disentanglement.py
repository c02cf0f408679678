"""MIG, DCI and SAP on cases with a known answer, and on a real (tiny) VAE over procedural faces."""

import numpy as np
import pytest

from gan_explorer.core.analysis.disentanglement import (
    codec_disentanglement, disentanglement_scores, mig, mutual_information_matrix,
)
from gan_explorer.core.progress import Cancelled
from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.models import build_model
from tests.conftest import TINY


def _factors(n=2000, k=6, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.uniform(size=(n, k))
    f[:, 2] = rng.uniform(size=n) < 0.25   # one binary factor, like glasses
    return f, rng


def test_codes_equal_to_factors_up_to_permutation_and_scale_score_near_one():
    f, rng = _factors()
    perm = rng.permutation(f.shape[1])
    scale = rng.uniform(0.3, 4, f.shape[1]) * rng.choice([-1, 1], f.shape[1])
    codes = f[:, perm] * scale + rng.normal(size=f.shape[1])
    codes = np.hstack([codes, rng.normal(size=(len(f), 3)) * 1e-3])   # and a few dead dimensions
    report = disentanglement_scores(f, codes)
    assert report.mig > 0.9
    assert report.dci_disentanglement > 0.95 and report.dci_completeness > 0.95
    assert report.dci_informativeness > 0.99
    assert report.sap > 0.95
    # The matrix shows it: each factor's largest cell is the code it was copied to.
    assert np.array_equal(report.mutual_information.argmax(axis=1), np.argsort(perm))


def test_random_codes_score_near_zero():
    f, rng = _factors()
    report = disentanglement_scores(f, rng.normal(size=(len(f), 10)))
    assert report.mig < 0.05 and report.sap < 0.05
    assert report.dci_disentanglement < 0.2 and report.dci_completeness < 0.2
    assert report.dci_informativeness < 0.05


def test_rotated_factors_are_informative_but_entangled():
    f, rng = _factors()
    rotation = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    report = disentanglement_scores(f, (f - f.mean(0)) / f.std(0) @ rotation)
    assert report.dci_informativeness > 0.99
    assert report.mig < 0.3 and report.dci_disentanglement < 0.5


def test_mutual_information_of_a_copy_is_the_entropy():
    f, _ = _factors(n=1000)
    mi = mutual_information_matrix(f[:, 2:3], f[:, 2:3] * 7)
    p = f[:, 2].mean()
    assert mi[0, 0] == pytest.approx(-(p * np.log(p) + (1 - p) * np.log(1 - p)), rel=1e-9)
    score, _ = mig(f, f)
    assert score > 0.9


def test_bad_shapes_are_one_line():
    with pytest.raises(ConfigError, match=r"factors \[10, 2\] and codes \[9, 2\]"):
        disentanglement_scores(np.zeros((10, 2)), np.zeros((9, 2)))


def test_a_real_vae_on_procedural_faces():
    model = build_model("vae", **TINY["vae"]).eval()
    seen = []
    report = codec_disentanglement(model, num=60, batch_size=30, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(30, 60), (60, 60)]
    assert report.mutual_information.shape == (14, model.z_dim)
    assert 0 <= report.mig <= 1 and 0 <= report.dci_disentanglement <= 1 and 0 <= report.sap <= 1
    assert report.extra["reconstruction_mse"] > 0
    with pytest.raises(Cancelled):
        codec_disentanglement(model, num=60, batch_size=30, should_stop=lambda: True)
    with pytest.raises(GanExplorerError, match="needs an encoder"):
        codec_disentanglement(build_model("dcgan", **TINY["dcgan"]), num=60)
