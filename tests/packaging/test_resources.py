"""What the executable ships: resources found through one helper, a demo model that loads."""

import configparser
from pathlib import Path

import torch

from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.resources import demo_model, resource, resources_dir

ROOT = Path(__file__).resolve().parents[2]


def test_resources_are_found_without_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources_dir().is_dir() and resource("icon.png").is_file()


def test_the_demo_model_is_a_small_stylegan_that_renders():
    path = demo_model()
    assert path.is_file() and path.stat().st_size < 30 * 1024 * 1024
    model = load_model(path)
    assert model.family == "stylegan" and model.img_resolution == 64
    with torch.no_grad():
        image = model.generate(model.sample_z(1, 0), truncation_psi=0.7)
    assert torch.isfinite(image).all() and image.std() > 0.05
    assert model.provenance.get("trained_by") == "gan-explorer train"


def test_desktop_file_and_spec():
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(ROOT / "resources" / "gan-explorer.desktop")
    assert entry["Desktop Entry"]["Exec"].startswith("gan-explorer")
    spec = (ROOT / "build.spec").read_text()
    compile(spec, "build.spec", "exec")  # valid Python
    for needed in ("resources", "freeze_support", "console=", "torch_shm_manager", "icon.ico", "icns"):
        assert needed in spec or needed in (ROOT / "gan_explorer" / "__main__.py").read_text(), needed


def test_the_spec_excludes_nothing_the_app_imports():
    """A module in build.spec's EXCLUDES that the window imports would crash the frozen app."""
    import ast
    import subprocess
    import sys

    tree = ast.parse((ROOT / "build.spec").read_text())
    excludes = next(ast.literal_eval(node.value) for node in ast.walk(tree)
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXCLUDES")
    script = ("import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen';"
              "import gan_explorer.cli, gan_explorer.gui.main_window, gan_explorer.gui.app;"
              "import gan_explorer.core.training.loop, gan_explorer.core.io.importers;"
              # Building models runs lazy imports too (StyleGAN3 designs its filters on the spot).
              "from gan_explorer.core.models import build_model;"
              "[build_model(f, img_resolution=32) for f in ('stylegan', 'stylegan3', 'vae', 'cyclegan')];"
              "print('\\n'.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                check=True).stdout.split())
    clashes = [name for name in excludes if name in loaded]
    assert not clashes, f"build.spec excludes modules the app imports: {clashes}"


def test_no_shipped_demo_names_a_folder_of_the_machine_that_trained_it():
    """The demos' metadata keeps what a user can use (data, kimg, options, versions), no local path."""
    import json
    import re

    from gan_explorer.core.io.checkpoint import is_local_path, read_metadata

    user_folder = re.compile(r"/(home|Users|root|work|tmp|scratch|mnt)/|\\+Users\\+|~/")
    demos = sorted((ROOT / "resources" / "demo").glob("*.safetensors"))
    assert len(demos) == 3
    for path in demos:
        metadata = read_metadata(path)
        provenance = json.loads(metadata["provenance"])
        assert {"data", "kimg", "gan_explorer_version", "torch_version"} <= set(provenance), path.name
        assert "run_dir" not in provenance, path.name
        leaves = list(metadata.values())  # every text, and every string inside the JSON ones
        stack = [json.loads(metadata[key]) for key in ("provenance", "config")]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, str):
                leaves.append(node)
        for text in leaves:
            assert not is_local_path(text) and not user_folder.search(text), (path.name, text)
