"""StyleSpace (S): the style vector each modulated convolution receives (Wu et al., CVPR 2021).

In StyleGAN2 and StyleGAN3 every modulated convolution (the 3x3 convs and the ToRGB 1x1 convs)
owns an affine layer that turns its w into one scale per input channel: that vector, the affine's
output, is the layer's style. S is all of them side by side (1408 channels on the 64 px demo).
The paper found single S channels that move one part of a face alone, which W directions rarely do.

- `style_layers(model)` enumerates the layers that take a style, in synthesis order, with a name
  ("b16.conv0", "L3_36_512"), the w they read and their width; a SEdit's `layer` is the index here.
  StyleGAN3's input affine (a rotation and translation, no convolution) is not a style layer.
- `styles_for_ws(model, ws)` computes a latent's styles; `style_spread(model)` their standard
  deviation over sampled latents, so that a slider moves a channel in units of its spread.
- `apply_s_edits(model, state)` is the synthesis applier of `LatentState.s_edits`: forward hooks on
  the affines add each edit's amount to its channel, and are removed on exit (no weight is touched).

Our StyleGAN, NVIDIA StyleGAN2 / StyleGAN2-ADA and rosinality networks imported into it (the same
classes after import) and StyleGAN3 all work; another family is refused in one line.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError


@dataclass(frozen=True)
class StyleLayer:
    index: int          # position among the model's style layers (a SEdit's `layer`)
    name: str           # the layer's name in the synthesis network ("b16.conv0", "L3_36_512")
    w_index: int        # which of the num_ws ws its affine reads
    channels: int       # width of its style vector (the conv's input channels)
    torgb: bool         # a ToRGB layer (its style scales the colour output, not features)
    resolution: int     # side of the feature map it writes (StyleGAN3: its sampling grid)

    @property
    def label(self) -> str:
        return f"{self.index}: {self.name} ({self.channels} ch)"


def has_style_space(model) -> bool:
    return getattr(model, "family", "") in ("stylegan", "stylegan3")


def _require(model):
    if not has_style_space(model):
        raise ConfigError(f"StyleSpace needs a StyleGAN2 or StyleGAN3 generator; "
                          f"the {getattr(model, 'family', type(model).__name__)} family has no styles")


def _layer_modules(model) -> list[tuple[StyleLayer, torch.nn.Module]]:
    """(StyleLayer, the layer module owning `.affine`) in the order synthesis runs them."""
    _require(model)
    synthesis = model.synthesis
    found = []
    if model.family == "stylegan":
        for res, op, w_index in synthesis.plan:
            module = getattr(getattr(synthesis, f"b{res}"), op)
            found.append((f"b{res}.{op}", w_index, module, op == "torgb", res))
    else:  # StyleGAN3: ws[0] drives the input transform, layer i reads ws[i + 1]
        for i, name in enumerate(synthesis.layer_names):
            module = getattr(synthesis, name)
            found.append((name, i + 1, module, bool(module.is_torgb), int(module.out_size)))
    return [(StyleLayer(k, name, w_index, int(module.affine.out_features), torgb, res), module)
            for k, (name, w_index, module, torgb, res) in enumerate(found)]


def style_layers(model) -> list[StyleLayer]:
    return [layer for layer, _ in _layer_modules(model)]


def num_channels(model) -> int:
    return sum(layer.channels for layer in style_layers(model))


def channel_name(layers: list[StyleLayer], layer: int, channel: int) -> str:
    """The paper's naming: "layer_channel" with the layer's name: "6 b16.conv1 #45"."""
    return f"{layer} {layers[layer].name} #{channel}"


def flat_index(layers: list[StyleLayer]) -> np.ndarray:
    """[num_channels, 2] (layer, channel) of each column of the concatenated S vector."""
    return np.concatenate([np.stack([np.full(l.channels, l.index), np.arange(l.channels)], 1) for l in layers])


def _affines(model):
    return [module.affine for _, module in _layer_modules(model)]


@torch.no_grad()
def styles_for_ws(model, ws: torch.Tensor) -> list[torch.Tensor]:
    """ws [n, num_ws, w_dim] -> the styles [n, channels] of each style layer (affine outputs)."""
    ws = ws.to(torch.float32)
    return [module.affine(ws[:, layer.w_index]) for layer, module in _layer_modules(model)]


def concat_styles(styles: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat(styles, dim=1)


@torch.no_grad()
def sample_styles(model, num: int = 1000, seed: int = 0, truncation_psi: float = 1.0, batch: int = 500):
    """Styles of `num` sampled latents (seeded z through the mapping): [num, num_channels] float32."""
    _require(model)
    generator = torch.Generator().manual_seed(int(seed))
    device = model._device()
    out = []
    for start in range(0, num, batch):
        z = torch.randn([min(batch, num - start), model.z_dim], generator=generator).to(device)
        ws = model.map(z, truncation_psi)
        out.append(concat_styles(styles_for_ws(model, ws)).cpu())
    return torch.cat(out)


def style_spread(model, num: int = 1000, seed: int = 0) -> list[np.ndarray]:
    """Standard deviation of each channel over `num` sampled latents, per style layer (a slider's
    unit). A channel that never moves gets 1, so its slider still does something."""
    styles = sample_styles(model, num, seed).numpy()
    std = styles.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
    out, start = [], 0
    for layer in style_layers(model):
        out.append(std[start:start + layer.channels])
        start += layer.channels
    return out


def check_s_edits(model, s_edits) -> list[StyleLayer]:
    layers = style_layers(model)
    for edit in s_edits:
        if not 0 <= edit.layer < len(layers):
            raise ConfigError(f"s_edits: layer {edit.layer} is not a style layer of this model "
                              f"(it has {len(layers)}: 0-{len(layers) - 1})")
        if not 0 <= edit.channel < layers[edit.layer].channels:
            raise ConfigError(f"s_edits: layer {edit.layer} ({layers[edit.layer].name}) has "
                              f"{layers[edit.layer].channels} channels, not {edit.channel + 1}")
    return layers


def delta_vectors(model, s_edits) -> dict[int, torch.Tensor]:
    """{style layer: the [channels] vector its edits add} (edits of one channel add up)."""
    layers = check_s_edits(model, s_edits)
    device = model._device()
    deltas: dict[int, torch.Tensor] = {}
    for edit in s_edits:
        if edit.layer not in deltas:
            deltas[edit.layer] = torch.zeros(layers[edit.layer].channels, device=device)
        deltas[edit.layer][edit.channel] += float(edit.amount)
    return deltas


@contextmanager
def add_to_styles(model, deltas: dict[int, torch.Tensor]):
    """While open, style layer k's affine output gets deltas[k] added ([channels], or [n, channels]
    for one delta per image of the batch). Forward hooks only: removed on exit, weights untouched."""
    affines = _affines(model)
    handles = []
    try:
        for k, delta in deltas.items():
            def hook(_module, _inputs, output, delta=delta):
                return output + delta.to(output.dtype)
            handles.append(affines[k].register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def apply_s_edits(model, state):
    """The synthesis applier of `state.s_edits` (core/synthesis_edits.py)."""
    with add_to_styles(model, delta_vectors(model, state.s_edits)):
        yield
