import numpy as np
import pytest

DEMO = "resources/demo/stylegan-faces64.safetensors"


@pytest.fixture(autouse=True)
def own_data_folder(tmp_path, monkeypatch):
    """Each test makes its keys in its own data folder (never the user's, never another test's)."""
    monkeypatch.setenv("GAN_EXPLORER_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def watermark_on():
    from gan_explorer.core.trust.settings import set_watermark_enabled

    set_watermark_enabled(True)
    yield
    set_watermark_enabled(None)


@pytest.fixture(scope="session")
def demo():
    """The shipped 64 px demo model (the real path: its identity is what the mark carries)."""
    from pathlib import Path

    import gan_explorer as gx

    return gx.open(Path(__file__).resolve().parents[3] / DEMO)


@pytest.fixture(scope="session")
def demo_faces(demo):
    return np.stack([demo.render(seed=s) for s in range(3)])
