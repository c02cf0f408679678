"""Exported graphs (ONNX on OpenVINO / ONNX Runtime) render what eager renders, within 1e-4.

The engines come with the `fast` extra (`pip install -e '.[test,fast]'`); without one, the
engine tests are skipped with that reason and only the fallback tests run."""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_explorer.core import backends
from gan_explorer.core.io.models import open_model
from gan_explorer.core.models import build_model
from gan_explorer.resources import demo_model
from tests.conftest import PRECIOUS, TINY

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stylegan_official"
INSTALLED = [e for e in backends.ENGINES if backends.engine_available(e)]
needs_engine = pytest.mark.skipif(not INSTALLED, reason="no inference engine installed (the `fast` extra)")
engines = pytest.mark.parametrize("engine", INSTALLED or ["none"])


def _noisy(model):
    with torch.no_grad():
        for layer in model.modules():
            if hasattr(layer, "noise_strength"):
                layer.noise_strength.fill_(0.3)
    return model.eval()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _noisy(build_model("stylegan", **TINY["stylegan"])), tmp_path_factory.mktemp("graphs")


def _assert_equal_to_eager(model, renderer, ws, noise_mode="const", atol=1e-4):
    with torch.no_grad():
        eager = model.synthesize(ws, noise_mode, torch.Generator().manual_seed(9))
        graph = renderer.synthesize(ws, noise_mode, torch.Generator().manual_seed(9))
    assert graph.shape == eager.shape
    assert float((graph - eager).abs().max()) <= atol


@needs_engine
@engines
@pytest.mark.parametrize("batch", [1, 3])
def test_tiny_graph_equals_eager_in_every_noise_mode(tiny, engine, batch):
    model, root = tiny
    renderer = backends.GraphRenderer(model, engine, root=root)
    assert renderer.name == engine
    z = model.z_from_seeds(range(batch))
    with torch.no_grad():
        ws = model.map(z, 0.7)
        assert torch.allclose(renderer.map(z, 0.7), ws, atol=1e-5)
    for noise_mode in ("const", "none", "random"):
        _assert_equal_to_eager(model, renderer, ws, noise_mode)


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory):
    return tmp_path_factory.mktemp("graphs")  # the second engine reuses the first one's exports


@pytest.mark.slow
@needs_engine
@engines
def test_official_pickle_and_demo_render_as_eager(engine, shared_root):
    tmp_path = shared_root
    for path in (FIXTURES / "sg2ada_64.pkl", demo_model()):
        model = open_model(path)
        renderer = backends.GraphRenderer(model, engine, root=tmp_path)
        with torch.no_grad():
            ws = model.map(model.z_from_seeds([0, 1]), 0.7)
        _assert_equal_to_eager(model, renderer, ws)
    # ... and the official reference images, to the importer tests' tolerance.
    model = open_model(FIXTURES / "sg2ada_64.pkl")
    renderer = backends.GraphRenderer(model, engine, root=tmp_path)
    ref = np.load(FIXTURES / "sg2ada_64_ref" / "seed1_psi1.0_img.npy")
    with torch.no_grad():
        img = renderer.synthesize(renderer.map(model.sample_z(1, 1)))
    assert np.abs(img.numpy() - ref).max() <= 1e-3


@pytest.mark.slow
@needs_engine
@engines
def test_256px_random_init_graph_equals_eager(engine, tmp_path):
    model = _noisy(build_model("stylegan", img_resolution=256, channel_base=2048, channel_max=64, z_dim=64, w_dim=64))
    renderer = backends.GraphRenderer(model, engine, root=tmp_path)
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([3]))
    _assert_equal_to_eager(model, renderer, ws)


@needs_engine
def test_graphs_are_cached_per_model_content(tiny):
    model, root = tiny
    folder = backends.GraphRenderer(model, INSTALLED[0], root=root).folder
    assert folder.parent == root / "graphs" and folder.name == backends.model_content_hash(model)
    stamp = (folder / "synthesis.onnx").stat().st_mtime_ns
    backends.GraphRenderer(model, INSTALLED[-1], root=root)
    assert (folder / "synthesis.onnx").stat().st_mtime_ns == stamp  # reused, not exported again
    changed = build_model("stylegan", **TINY["stylegan"])
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        changed.synthesis.b16.conv1.bias.add_(0.5)
    assert backends.model_content_hash(changed) != folder.name


def test_graphs_cached_under_the_old_hash_are_found_and_renamed(tmp_path):
    """Before one model identity the folder was named by a hash of the family, the whole config,
    the graph format, the app version and the tensors: such a folder is renamed, not exported again."""
    from gan_explorer.core.backends.graph import GRAPH_FORMAT, cached_graphs, graph_key
    from gan_explorer.core.io.identity import identity_key, legacy_graph_key, memory_identity

    model = _noisy(build_model("stylegan", **TINY["stylegan"]))
    old = tmp_path / "graphs" / legacy_graph_key(model, GRAPH_FORMAT)
    old.mkdir(parents=True)
    for name in ("mapping.onnx", "synthesis.onnx"):
        (old / name).write_text(name)  # stand-ins: a complete folder, its files as recorded, is used as it is
    (old / "graph.json").write_text(json.dumps({"format": GRAPH_FORMAT, "synthesis_inputs": ["ws"], "sha256": {
        name: hashlib.sha256(name.encode()).hexdigest() for name in ("mapping.onnx", "synthesis.onnx")}}))
    folder = cached_graphs(model, tmp_path)
    assert folder.name == graph_key(model) and folder.name.startswith(identity_key(memory_identity(model)))
    assert (folder / "synthesis.onnx").read_text() == "synthesis.onnx" and not old.exists()


@needs_engine
def test_auto_picks_the_fastest_measured_path_and_remembers_it(tiny):
    model, root = tiny
    renderer = backends.open_renderer(model, "auto", cache_root=root)
    choices = list((root / "graphs" / backends.model_content_hash(model)).glob("choice-*.json"))
    assert len(choices) == 1 and renderer.name in choices[0].read_text()
    assert backends.open_renderer(model, "auto", cache_root=root).name == renderer.name
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([5]))
    _assert_equal_to_eager(model, renderer, ws)


def test_families_without_a_graph_render_eagerly_with_a_reason(tmp_path):
    model = build_model("dcgan", **TINY["dcgan"]).eval()
    renderer = backends.open_renderer(model, "auto", cache_root=tmp_path)
    assert renderer.name == "eager" and "\n" not in renderer.reason
    assert "dcgan family has no exported graph" in renderer.reason or "no inference engine" in renderer.reason
    z = model.sample_z(1, 0)
    assert torch.equal(renderer.synthesize(renderer.map(z)), model.synthesize(model.map(z)).detach())


@needs_engine
def test_a_failed_export_falls_back_to_eager_with_one_line(tmp_path):
    model = _noisy(build_model("stylegan", **TINY["stylegan"]))
    (tmp_path / "graphs").write_text("a file where the cache folder should be")
    renderer = backends.open_renderer(model, "auto", cache_root=tmp_path)
    assert renderer.name == "eager"
    assert renderer.reason and "\n" not in renderer.reason
    with pytest.raises(ValueError, match="prefer='fastest'"):
        backends.open_renderer(model, "fastest")


@needs_engine
@engines
def test_a_conditional_model_maps_each_class_on_the_engine_as_eager(engine, tmp_path):
    model = _noisy(build_model("stylegan", **TINY["stylegan"], c_dim=3))
    renderer = backends.GraphRenderer(model, engine, root=tmp_path)
    z = model.z_from_seeds([0, 1])
    with torch.no_grad():
        for k in range(3):
            c = torch.nn.functional.one_hot(torch.tensor([k, k]), 3).float()
            ws = model.map(z, 0.7, c=c)
            assert torch.allclose(renderer.map(z, 0.7, c=c), ws, atol=1e-5)
            _assert_equal_to_eager(model, renderer, ws)


# --- The cache does not trust its contents (issue #26) -------------------------------------------------

class _ConstantImage(torch.nn.Module):
    """A planted synthesis graph: every input stays an input, the output is one grey image."""

    def forward(self, ws, *noises):
        used = sum(n.mean(dim=(1, 2, 3)) for n in noises) + ws.mean(dim=(1, 2))
        return torch.zeros(ws.shape[0], 3, 16, 16) + used[:, None, None, None] * 0 + 0.99


def _plant(model, folder, record_hash):
    from gan_explorer.core.backends.graph import noise_inputs

    inputs = json.loads((folder / "graph.json").read_text())["synthesis_inputs"]
    torch.onnx.export(_ConstantImage(), (torch.zeros(2, model.num_ws, model.w_dim), *noise_inputs(model, 2)),
                      str(folder / "synthesis.onnx"), input_names=inputs, output_names=["out"],
                      dynamic_axes={k: {0: "batch"} for k in inputs + ["out"]}, opset_version=17, dynamo=False)
    if record_hash:  # the planter rewrites the record too: only the agreement check can tell
        info = json.loads((folder / "graph.json").read_text())
        info["sha256"]["synthesis.onnx"] = hashlib.sha256((folder / "synthesis.onnx").read_bytes()).hexdigest()
        (folder / "graph.json").write_text(json.dumps(info))


def _truncate(name, keep=0.5):
    def damage(model, folder):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[:int(len(data) * keep)])
    return damage


@needs_engine
@pytest.mark.parametrize("damage", [
    pytest.param(lambda m, f: _plant(m, f, record_hash=False), id="planted"),
    pytest.param(lambda m, f: _plant(m, f, record_hash=True), id="planted-with-its-hash"),
    pytest.param(_truncate("synthesis.onnx"), id="truncated-synthesis"),
    pytest.param(_truncate("mapping.onnx", 0.1), id="truncated-mapping"),
    pytest.param(_truncate("graph.json"), id="graph.json-cut-mid-write"),
])
def test_a_damaged_or_planted_cached_graph_is_exported_again(tiny, tmp_path, damage):
    model, _ = tiny
    folder = backends.cached_graphs(model, tmp_path)
    damage(model, folder)
    renderer = backends.GraphRenderer(model, INSTALLED[0], root=tmp_path)
    assert renderer.name == INSTALLED[0] and renderer.folder == folder  # rebuilt, not left on eager for good
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([4]))
    _assert_equal_to_eager(model, renderer, ws)
    info = json.loads((folder / "graph.json").read_text())
    for name in ("mapping.onnx", "synthesis.onnx"):
        assert info["sha256"][name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert sorted(p.name for p in folder.iterdir()) == ["graph.json", "mapping.onnx", "synthesis.onnx"]


@needs_engine
def test_a_graph_that_still_disagrees_after_a_fresh_export_renders_eagerly_with_one_line(tiny, tmp_path,
                                                                                        monkeypatch):
    from gan_explorer.core.backends import graph

    model, _ = tiny
    monkeypatch.setattr(graph, "AGREEMENT_ATOL", -1.0)  # nothing agrees: as an exporter that is wrong
    with pytest.raises(graph.GraphMismatch, match="differs from eager"):
        backends.GraphRenderer(model, INSTALLED[0], root=tmp_path)
    renderer = backends.open_renderer(model, "auto", cache_root=tmp_path)
    assert renderer.name == "eager" and "differs from eager" in renderer.reason and "\n" not in renderer.reason


@needs_engine
def test_the_remembered_choice_is_never_written_through_a_link(tiny, tmp_path, users_file):
    model, _ = tiny
    folder = backends.cached_graphs(model, tmp_path)
    os.symlink(users_file, folder / f"choice-{torch.get_num_threads()}threads.json")
    backends.open_renderer(model, "auto", cache_root=tmp_path)
    assert users_file.read_bytes() == PRECIOUS
