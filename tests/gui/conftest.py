from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QSettings, QStandardPaths

QStandardPaths.setTestModeEnabled(True)  # belt and braces: Qt's own folders go to a test location too
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.models import build_model
from tests.conftest import TINY


@pytest.fixture
def tiny_model_file(tmp_path):
    torch.manual_seed(1)
    model = build_model("stylegan", **TINY["stylegan"])
    for name, p in model.named_parameters():  # visible noise, so noise modes matter
        if name.endswith("noise_strength"):
            p.data.fill_(0.2)
    return save_model(model, tmp_path / "tiny.safetensors")


@pytest.fixture
def make_window(qtbot, tmp_path):
    from gan_explorer.gui.main_window import MainWindow

    windows = []

    def make(sync=True):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
        window = MainWindow(sync=sync, settings=settings, data_dir=tmp_path / "data")
        window.quiet_errors = True
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.bridge.shutdown()


def open_and_wait(qtbot, window, path, timeout=20000, psi=1.0):
    """Open a model and wait for its first image; then set ψ through its box (the window starts
    at 0.7 on a model with a mapping network; most tests compare with core functions at ψ = 1)."""
    with qtbot.waitSignal(window.sigImageShown, timeout=timeout):
        window.open_model(str(path))
    box = window.latent_panel.psi
    if psi is not None and box.isEnabled() and window.state.truncation_psi != psi:
        with qtbot.waitSignal(window.sigImageShown, timeout=timeout):
            box.setValue(psi)
