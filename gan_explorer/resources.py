"""Find shipped resources (icons, demo models) installed, editable or frozen alike."""

from __future__ import annotations

import sys
from pathlib import Path

DEMO_MODEL = "demo/stylegan-faces64.safetensors"


def resources_dir() -> Path:
    candidates = []
    if getattr(sys, "frozen", False):
        candidates.append(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources")
    candidates.append(Path(__file__).resolve().parent.parent / "resources")  # a checkout / editable install
    candidates.append(Path(sys.prefix) / "share" / "gan_explorer" / "resources")  # a wheel's data files
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[0]


def resource(name: str) -> Path:
    return resources_dir() / name


def demo_model() -> Path:
    return resource(DEMO_MODEL)


def demo_models() -> list[Path]:
    """Every shipped demo model, the one the app opens on first."""
    folder = resource("demo")
    found = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    return sorted(found, key=lambda p: p.name != Path(DEMO_MODEL).name)
