import torch

from gan_explorer.bench.synthesis import peer_status, textbook_synthesis
from gan_explorer.cli import main
from gan_explorer.core.models import build_model
from tests.conftest import TINY


def test_unknown_benchmark_is_a_clear_error(capsys):
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_the_synthesis_reference_is_the_same_network():
    """The benchmark's textbook formulation (grouped convolutions) renders what eager renders."""
    model = build_model("stylegan", **{**TINY["stylegan"], "img_resolution": 32}).eval()
    with torch.no_grad():
        for layer in model.modules():
            if hasattr(layer, "noise_strength"):
                layer.noise_strength.fill_(0.3)
        ws = model.map(model.z_from_seeds(range(3)), 0.7)
        for batch in (1, 3):
            assert torch.allclose(textbook_synthesis(model, ws[:batch]), model.synthesize(ws[:batch]), atol=1e-5)


def test_peers_are_named_with_a_figure_or_a_one_line_reason():
    for label, status in peer_status():
        assert label and "\n" not in status and (status == "importable" or status.startswith("not measured"))


def test_the_projection_benchmark_is_registered():
    from gan_explorer.bench import _BENCHMARKS, run_benchmark

    try:
        run_benchmark("nope")
    except Exception:
        pass
    assert "projection" in _BENCHMARKS


def test_the_stylegan3_benchmark_measures_the_checkouts_own_fixture():
    from gan_explorer.bench.stylegan3 import fixture_path

    path = fixture_path()
    assert path.is_file() and path.parts[-4:] == ("tests", "fixtures", "stylegan_official", "sg3t_64.pkl")
    assert "shared" not in path.relative_to(path.parents[3]).parts


def test_the_stylegan3_benchmark_without_a_fixture_is_one_line(tmp_path, monkeypatch, capsys):
    """Outside a checkout (no tests/fixtures beside the package) and no --fixture: one line, nothing run."""
    from gan_explorer.bench import stylegan3

    monkeypatch.setattr(stylegan3, "CHECKOUT", tmp_path)
    monkeypatch.setattr(stylegan3, "CHECKOUT_FIXTURE", tmp_path / "tests" / "fixtures" / "sg3t_64.pkl")
    assert main(["bench", "stylegan3", "--quick"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err and "--fixture PATH" in err and "tests/fixtures/stylegan_official/sg3t_64.pkl" in err
    assert main(["bench", "stylegan3", "--quick", "--fixture", str(tmp_path / "nope.pkl")]) == 2
    assert "nope.pkl: no such file" in capsys.readouterr().err
    assert main(["bench", "synthesis", "--fixture", str(tmp_path / "nope.pkl")]) == 2
    assert "takes no --fixture" in capsys.readouterr().err
