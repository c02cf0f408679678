import pytest
import torch

from gan_explorer.core.backends import SynthesisCache, preview_resolution
from gan_explorer.core.models import build_model
from tests.conftest import TINY


@pytest.fixture
def model():
    model = build_model("stylegan", **{**TINY["stylegan"], "img_resolution": 32}).eval()
    with torch.no_grad():
        for layer in model.modules():
            if hasattr(layer, "noise_strength"):
                layer.noise_strength.fill_(0.3)
    return model


@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
def test_late_layer_edits_reuse_early_activations_and_equal_full_renders(model, noise_mode):
    cache = SynthesisCache(model)
    ws = model.map(model.z_from_seeds([1]))
    g = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    with torch.no_grad():
        assert torch.equal(cache.synthesize(ws, noise_mode, 7), model.synthesize(ws, noise_mode, g()))
        assert cache.last_start == 0
        for k, delta in [(6, 0.5), (3, -0.2), (7, 0.1), (0, 0.3), (5, 0.0)]:
            edited = ws.clone()
            edited[:, k:] += delta
            got = cache.synthesize(edited, noise_mode, 7)
            assert torch.equal(got, model.synthesize(edited, noise_mode, g())), (k, delta)
            if delta and k:
                # It resumed at the first step taking w[k]: no earlier layer ran again.
                first = next(i for i, (_, _, w) in enumerate(model.synthesis.plan) if w >= k)
                assert cache.last_start == first
            ws = edited


def test_preview_and_full_share_the_cache(model):
    cache = SynthesisCache(model)
    ws = model.map(model.z_from_seeds([2]))
    with torch.no_grad():
        preview = cache.synthesize(ws, max_resolution=8)
        assert torch.equal(preview, model.synthesize(ws, max_resolution=8))
        full = cache.synthesize(ws)  # continues from where the preview stopped
        assert cache.last_start == model.synthesis.plan_end(8)
        assert torch.equal(full, model.synthesize(ws))
        assert torch.equal(cache.synthesize(ws, max_resolution=8), preview)


def test_a_new_seed_noise_or_weight_change_renders_from_scratch(model):
    cache = SynthesisCache(model)
    ws = model.map(model.z_from_seeds([3]))
    with torch.no_grad():
        cache.synthesize(ws, "random", 1)
        assert torch.equal(cache.synthesize(ws, "random", 2), model.synthesize(ws, "random", torch.Generator().manual_seed(2)))
        assert cache.last_start == 0
        model.synthesis.b4.conv1.weight.mul_(2)
        assert torch.equal(cache.synthesize(ws, "random", 2), model.synthesize(ws, "random", torch.Generator().manual_seed(2)))
        assert cache.last_start == 0


def test_a_memory_cap_keeps_renders_exact(model):
    cache = SynthesisCache(model, max_bytes=4096)  # room for the smallest states only
    ws = model.map(model.z_from_seeds([4]))
    with torch.no_grad():
        cache.synthesize(ws)
        edited = ws.clone()
        edited[:, -1] += 1
        assert torch.equal(cache.synthesize(edited), model.synthesize(edited))
        assert 0 < cache.last_start < model.synthesis.plan_end(None) - 1


def test_only_stylegan2_models_have_a_cache():
    with pytest.raises(TypeError, match="StyleGAN2"):
        SynthesisCache(build_model("dcgan", **TINY["dcgan"]))


def test_preview_resolution_fits_the_budget():
    model = build_model("stylegan", img_resolution=1024, channel_base=2048, channel_max=8, z_dim=8, w_dim=8)
    assert preview_resolution(model, budget_ms=300, full_ms=200) is None  # the full frame fits
    res = preview_resolution(model, budget_ms=100, full_ms=1000)
    synthesis = model.synthesis
    assert synthesis.macs(res) / synthesis.macs() <= 0.1 < synthesis.macs(res * 2) / synthesis.macs()
    assert preview_resolution(model, budget_ms=1, full_ms=1000) == 32  # never below min_resolution
    assert preview_resolution(build_model("dcgan", **TINY["dcgan"]), 10, 1000) is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (renders run on one where present)")
def test_cuda_renders_previews_and_cached_layers_equal_the_cpu(model):
    ws = model.map(model.z_from_seeds([1, 2]))
    with torch.no_grad():
        cpu_full, cpu_preview = model.synthesize(ws), model.synthesize(ws, max_resolution=16)
        gpu = model.to("cuda")
        ws_gpu = ws.to("cuda")
        assert torch.allclose(gpu.synthesize(ws_gpu).cpu(), cpu_full, atol=1e-4)
        assert torch.allclose(gpu.synthesize(ws_gpu, max_resolution=16).cpu(), cpu_preview, atol=1e-4)
        cache = SynthesisCache(gpu)
        cache.synthesize(ws_gpu)
        edited = ws_gpu.clone()
        edited[:, 5:] += 0.5
        assert torch.equal(cache.synthesize(edited), gpu.synthesize(edited))
