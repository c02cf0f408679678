"""Blended networks: two generators of the same architecture mixed stage by stage.

With weight 0 a stage draws with this model's weights, with 1 with the other's, between them with
their linear blend. Low-resolution stages set the layout, high ones the texture, so taking the
coarse stages from one model and the fine ones from another (a layer swap: weights 0,0,0,1,1) is
how the "toonify" pictures were made (Pinkney and Adler, "Resolution Dependent GAN Interpolation
for Controllable Image Synthesis Between Domains", 2020). The mapping network and w_avg stay this
model's, so every seed and edit means what it meant.

The state's `blend` is (the other model's content hash, one weight per stage); the other model is
found among the partners opened with `open_partner` (the window's "Blend with…", the CLI's
`--blend-with`). `apply_blend(model, state)` is the synthesis applier: it swaps blended tensors
into the synthesis parameters and puts the originals back on exit (the same tensor objects, so
the model is restored exactly). Weights of exactly 0 and 1 use the parents' own tensors, so those
frames equal each parent's bit for bit.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

from gan_explorer.core.errors import ConfigError

_partners: dict[str, object] = {}   # content hash -> an opened model (few: each is a whole network)
MAX_PARTNERS = 4


def open_partner(content_hash: str, model) -> None:
    """Make `model` available to states that blend with `content_hash`."""
    if content_hash not in _partners and len(_partners) >= MAX_PARTNERS:
        _partners.pop(next(iter(_partners)))
    _partners[content_hash] = model


def partner(content_hash: str):
    return _partners.get(content_hash)


def blend_stages(model) -> list[str]:
    """The stages a blend weighs, in synthesis order: block resolutions (StyleGAN2) or layers
    (StyleGAN3, its input first)."""
    family = getattr(model, "family", "")
    if family == "stylegan":
        return [f"b{res}" for res in model.synthesis.block_resolutions]
    if family == "stylegan3":
        return ["input", *model.synthesis.layer_names]
    raise ConfigError(f"blending needs StyleGAN2 or StyleGAN3 generators; the {family or type(model).__name__} "
                      f"family cannot be blended")


def check_partner(model, other) -> None:
    """ConfigError, one line, unless `other` has the architecture of `model` (every synthesis
    parameter of the same name and shape)."""
    stages = blend_stages(model)
    if getattr(other, "family", "") != model.family:
        raise ConfigError(f"cannot blend a {model.family} with a {getattr(other, 'family', '?')} model")
    mine = {n: p.shape for n, p in model.synthesis.named_parameters()}
    theirs = {n: p.shape for n, p in other.synthesis.named_parameters()}
    if mine != theirs:
        differ = next((n for n in mine if theirs.get(n) != mine[n]), None) or next(iter(set(theirs) - set(mine)))
        raise ConfigError(f"the two models differ in architecture (first at {differ}): only models of the "
                          f"same resolution and widths blend")
    del stages


def layer_swap(model, from_stage: int) -> tuple:
    """Weights that take stages from `from_stage` on from the other model (the toonify recipe)."""
    count = len(blend_stages(model))
    return tuple(0.0 if i < from_stage else 1.0 for i in range(count))


@contextmanager
def apply_blend(model, state):
    """While open, the model's synthesis draws with the blend `state.blend` names."""
    content_hash, weights = state.blend[0], tuple(state.blend[1:])
    other = partner(content_hash)
    if other is None:
        raise ConfigError(f"this picture blends with model {content_hash[:12]}…, which is not open: open it with "
                          f"Blend with… (the window) or --blend-with FILE")
    check_partner(model, other)
    stages = blend_stages(model)
    if len(weights) == 1:
        weights = weights * len(stages)
    if len(weights) != len(stages):
        raise ConfigError(f"a blend of this model takes {len(stages)} weights (one per stage: "
                          f"{', '.join(stages)}), not {len(weights)}")
    theirs = {**dict(other.synthesis.named_parameters()), **dict(other.synthesis.named_buffers())}
    swapped = []
    try:
        with torch.no_grad():
            for stage, weight in zip(stages, weights):
                if weight == 0:
                    continue
                module = getattr(model.synthesis, stage)
                for name, tensor in _blended_tensors(module):
                    source = theirs[f"{stage}.{name}"].detach().to(tensor.device, tensor.dtype)
                    swapped.append((tensor, tensor.data))
                    tensor.data = source if weight == 1 else torch.lerp(tensor.data, source, float(weight))
        _forget_derived(model)
        yield
    finally:
        for tensor, original in reversed(swapped):
            tensor.data = original
        if swapped:
            _forget_derived(model)


def _blended_tensors(module):
    """A stage's weights and the float buffers it draws with (StyleGAN2's constant noise, StyleGAN3's
    input gains, frequencies and phases): what makes the partner's picture the partner's. The input's
    `transform` stays this model's: it is the user's translate / rotate, not a learnt value."""
    yield from module.named_parameters()
    for name, buffer in module.named_buffers():
        if buffer.is_floating_point() and name.split(".")[-1] != "transform":
            yield name, buffer


def _forget_derived(model) -> None:
    """Layers that keep kernels derived from their weights (StyleGAN2's render path) recompute them."""
    for module in model.synthesis.modules():
        if hasattr(module, "_kernel_key"):
            module._kernel_key = None
