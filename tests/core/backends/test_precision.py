"""bf16 renders: detection and fallback, error against fp32, preview planning, the Renderer's
choice between the late-layer cache and a full render, and `--precision` on the CLI."""

import numpy as np
import pytest
import torch

from gan_explorer.core.backends import precision as precision_module
from gan_explorer.core.backends import EagerRenderer, PreviewPlanner, SynthesisCache
from gan_explorer.core.backends.precision import cpu_flags, image_error, resolve_precision
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.models import open_model
from gan_explorer.core.models import build_model
from gan_explorer.core.render import Renderer, RenderRequest
from gan_explorer.core.latent.state import LatentState
from gan_explorer.resources import demo_model
from tests.conftest import TINY

# Measured by benchmarks/bench_precision.py (bf16 autocast against fp32, 8-bit levels): the demo
# 64 px max 9 / mean 0.35 / PSNR 52.5 dB, the official 64 px fixture max 6 / mean 0.31 / PSNR 46 dB
# (see the README table for a 256 px model). The bound leaves room for other seeds, not for a broken cast.
BF16_MAX_LEVELS, BF16_MEAN_LEVELS, BF16_MIN_PSNR = 24, 1.0, 40.0


@pytest.fixture
def native(monkeypatch):
    """Pretend the CPU computes bf16 natively (the numerics are the same where it is emulated)."""
    monkeypatch.setattr(precision_module, "native_bf16", lambda: (True, "avx512_bf16"))


@pytest.fixture
def not_native(monkeypatch):
    monkeypatch.setattr(precision_module, "native_bf16", lambda: (False, "no AVX512-BF16 (test)"))


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\nflags\t: other\n")
    assert cpu_flags(str(info)) == {"fpu", "avx2", "avx512f", "avx512_bf16"}
    assert cpu_flags(str(tmp_path / "missing")) == set()


def test_detection_matches_the_cpu_flags():
    native, why = precision_module.native_bf16()
    flags = cpu_flags()
    if flags:
        assert native == bool(flags & {"avx512_bf16", "amx_bf16"}), why


def test_bf16_falls_back_to_fp32_where_it_is_not_native(not_native):
    chosen, note = resolve_precision("bf16", "cpu")
    assert chosen == "fp32" and "no AVX512-BF16 (test)" in note
    assert resolve_precision("fp32", "cpu") == ("fp32", "")
    with pytest.raises(ConfigError, match="fp16"):
        resolve_precision("fp16", "cpu")


def test_bf16_is_used_where_native(native):
    assert resolve_precision("bf16", "cpu") == ("bf16", "")


@pytest.mark.slow  # bf16 is emulated (slow) on a CPU without it
@pytest.mark.parametrize("source", ["demo", "official"])
def test_bf16_frames_are_close_to_fp32(source):
    from tests.gui.conftest import FIXTURES

    path = demo_model() if source == "demo" else FIXTURES / "stylegan_official" / "sg2ada_64.pkl"
    model = open_model(path)
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([0]))
        fp32 = EagerRenderer(model).synthesize(ws)
        bf16 = EagerRenderer(model, precision="bf16").synthesize(ws)
    assert bf16.dtype == torch.bfloat16  # the cast happened: not an fp32 frame compared with itself
    error = image_error(bf16, fp32)
    assert 0 < error["max_levels"] <= BF16_MAX_LEVELS, error
    assert error["mean_levels"] <= BF16_MEAN_LEVELS and error["psnr_db"] >= BF16_MIN_PSNR, error


def test_planner_picks_the_largest_block_whose_measured_cost_fits():
    model = build_model("stylegan", **{**TINY["stylegan"], "img_resolution": 32})
    planner = PreviewPlanner(model, budget_ms=100, min_resolution=8)
    assert planner.resolutions == [8, 16]
    assert planner.choose(full_ms=80) == (None, "fp32")  # the full frame fits: no preview
    assert planner.choose(full_ms=150) == (16, "fp32")  # unmeasured: the MAC share of the full frame fits
    planner.record(16, "fp32", 400.0)  # the overheads the MAC estimate missed
    assert planner.choose(full_ms=150) == (8, "fp32")
    planner.record(16, "fp32", 60.0)  # running cost (400 + 60) / 2 is still over the budget
    assert planner.choose(full_ms=150) == (8, "fp32")
    planner.record(16, "fp32", 20.0)  # (230 + 20) / 2 = 125: still over
    assert planner.choose(full_ms=150) == (8, "fp32")
    planner.record(16, "fp32", 20.0)  # (125 + 20) / 2 = 72.5: the 16 px block fits again
    assert planner.choose(full_ms=150) == (16, "fp32")


def test_planner_uses_bf16_only_where_it_measured_faster():
    model = build_model("stylegan", **{**TINY["stylegan"], "img_resolution": 32})
    planner = PreviewPlanner(model, budget_ms=100, precisions=("fp32", "bf16"), min_resolution=8)
    planner.record(16, "fp32", 150.0)
    assert planner.choose(full_ms=1000) == (16, "bf16")  # unmeasured bf16 is tried where fp32 is over
    planner.record(16, "bf16", 400.0)  # emulated: slower
    assert planner.choose(full_ms=1000) == (8, "fp32")


def _tiny_renderer():
    torch.manual_seed(0)
    return Renderer(build_model("stylegan", **{**TINY["stylegan"], "img_resolution": 32}).eval(), 1)


def test_renderer_paths_give_the_same_image_bit_for_bit():
    renderer = _tiny_renderer()
    state = LatentState(seed=3)
    images = {}
    for path, times in (("eager", {"cache": 100.0, "eager": 1.0}), ("cache", {"cache": 1.0, "eager": 100.0})):
        renderer.cache.clear()
        renderer.full_ms = dict(times)
        images[path] = renderer.render(RenderRequest(1, state, model_token=1)).image
        assert renderer.last_path == path
    assert np.array_equal(images["cache"], images["eager"])
    # A late-layer edit resumed from the cache equals a full render of the edited state.
    renderer.full_ms = {"cache": 1.0, "eager": 100.0}
    edited = state.with_w_offset("late", 4, renderer.model.num_ws, dim=0, amount=0.5)
    cached = renderer.render(RenderRequest(2, edited, model_token=1)).image
    assert renderer.last_path == "cache" and renderer.cache.last_start > 0
    fresh = _tiny_renderer().render(RenderRequest(3, edited, model_token=1)).image
    assert np.array_equal(cached, fresh) and not np.array_equal(cached, images["cache"])


def test_renderer_never_takes_the_cache_where_it_measured_slower():
    renderer = _tiny_renderer()
    ws = torch.zeros(1, renderer.model.num_ws, renderer.model.w_dim)
    state = LatentState(seed=0)
    renderer.cache.synthesize(ws)
    late = ws.clone()
    late[:, -1] += 1  # only the last ToRGB's w: the cache recomputes one block
    share = renderer.cache.work_share(late)
    assert 0 < share < 0.5
    renderer.full_ms = {"cache": 100.0, "eager": 60.0}
    assert renderer._full_path(late, state) == "cache"  # share * 100 < 60
    assert renderer._full_path(ws + 1, state) == "eager"  # every layer changed: the cache costs 100
    renderer.full_ms = {"cache": 1000.0, "eager": 60.0}
    assert renderer._full_path(late, state) == "eager"


def test_cache_keys_on_precision(native):
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    cache = SynthesisCache(model)
    ws = model.map(model.sample_z(1, 0)).detach()
    cache.synthesize(ws, precision="bf16")
    assert cache.work_share(ws, precision="fp32") == 1.0  # bf16 activations never feed an fp32 frame
    image = cache.synthesize(ws, precision="fp32")
    assert cache.last_start == 0 and image.dtype == torch.float32
    with torch.no_grad():
        assert torch.equal(image, model.synthesize(ws))


def test_use_engine_bf16_falls_back_where_not_native(not_native):
    renderer = _tiny_renderer()
    line = renderer.use_engine("bf16")
    assert renderer.full_precision == "fp32" and "no AVX512-BF16 (test)" in line


def test_use_engine_bf16_where_native(native):
    renderer = _tiny_renderer()
    assert renderer.use_engine("bf16") == "eager bf16" and renderer.full_precision == "bf16"
    result = renderer.render(RenderRequest(1, LatentState(seed=1), model_token=1))
    assert result.error is None and result.image.dtype == np.uint8
    renderer.engine = None  # what the session does for 'eager'
    assert renderer.full_precision == "fp32"


def _generate(tmp_path, name, *extra):
    from PIL import Image

    from gan_explorer.cli import main

    out = tmp_path / name
    assert main(["generate", str(demo_model()), "--seeds", "0", "--out-dir", str(out), *extra]) == 0
    return [np.asarray(Image.open(out / "seed0000.png")).astype(int)]


@pytest.mark.slow
def test_cli_precision_bf16(tmp_path, native):
    fp32 = _generate(tmp_path, "fp32")
    bf16 = _generate(tmp_path, "bf16", "--precision", "bf16")
    diffs = [np.abs(a - b) for a, b in zip(fp32, bf16)]
    assert 0 < max(d.max() for d in diffs) <= BF16_MAX_LEVELS
    assert max(d.mean() for d in diffs) <= BF16_MEAN_LEVELS


@pytest.mark.slow
def test_cli_precision_falls_back_and_says_so(tmp_path, not_native, capsys):
    fp32 = _generate(tmp_path, "fp32")
    fallback = _generate(tmp_path, "fallback", "--precision", "bf16")
    assert "rendering in fp32" in capsys.readouterr().err
    assert all(np.array_equal(a, b) for a, b in zip(fp32, fallback))
