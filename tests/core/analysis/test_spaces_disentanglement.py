"""DCI / MIG / SAP of Z, W, W+ and S on the 64 px faces demo, with the factors the regressor reads."""

from pathlib import Path

import pytest

from gan_explorer.core.analysis.disentanglement import latent_spaces_disentanglement
from gan_explorer.core.errors import ConfigError

DEMO = Path(__file__).parents[3] / "resources" / "demo" / "stylegan-faces64.safetensors"


@pytest.fixture(scope="module")
def demo():
    from gan_explorer.core.io.models import open_model

    return open_model(DEMO)


@pytest.mark.slow  # 160 images and the regressor: 57 s measured on the shared, loaded machine
def test_every_space_is_scored_on_its_own_codes(demo):
    seen = []
    reports = latent_spaces_disentanglement(demo, num=40, batch_size=20, progress=lambda d, t: seen.append((d, t)))
    assert list(reports) == ["z", "w", "w+", "s"]
    assert {s: r.extra["dims"] for s, r in reports.items()} == {"z": 128, "w": 128, "w+": 10 * 128, "s": 1408}
    for report in reports.values():
        assert report.num_samples == 40 and "background_hue_cos" in report.factor_names
        for value in (report.mig, report.dci_disentanglement, report.dci_completeness, report.sap):
            assert 0.0 <= value <= 1.0
    assert seen[-1] == (80, 80)  # the mixed W+ images count too
    # z and w of the same images: different codes, different scores
    assert reports["z"].dci_disentanglement != reports["w"].dci_disentanglement


def test_an_unknown_space_or_count_is_one_line(demo):
    with pytest.raises(ConfigError, match="space 'q'"):
        latent_spaces_disentanglement(demo, num=40, spaces=("q",))
    with pytest.raises(ConfigError, match="num 5"):
        latent_spaces_disentanglement(demo, num=5)
