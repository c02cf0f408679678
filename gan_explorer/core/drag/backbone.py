"""Where a drag reads its features: one intermediate feature map of the generator per family.

DragGAN takes the features after a middle block of StyleGAN2 and resizes them to the image size.
We never resize the whole map: a point of the image is sampled from the feature map bilinearly at
the matching continuous coordinate (`FeatureBackbone.to_feature`), which is the same value the
resized map would hold there and costs nothing for the pixels no loss looks at.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan_explorer.core.errors import ConfigError

# Largest feature resolution read: DragGAN's middle block of a 512/1024 px StyleGAN2 is 128 or 256 px;
# above 128 the backward pass costs more than the precision it buys on a CPU.
MAX_FEATURE_RESOLUTION = 128


@dataclass(frozen=True)
class FeatureBackbone:
    """How to get (features with grad, image without) from ws, and where image pixels lie in the features.

    feature coordinate = offset + (pixel + 0.5) * scale - 0.5 (pixel centres at integer coordinates)."""

    model: object
    describe: str       # which layer, for the user ("synthesis block 32")
    scale: float        # feature pixels per image pixel
    offset: float       # feature pixels before the image's first pixel (StyleGAN3's margin)

    def features_and_image(self, ws, noise_mode="const", noise_generator=None):
        raise NotImplementedError

    def to_feature(self, points: torch.Tensor) -> torch.Tensor:
        return self.offset + (points + 0.5) * self.scale - 0.5


@dataclass(frozen=True)
class StyleGAN2Backbone(FeatureBackbone):
    """StyleGAN2 (ours, NVIDIA's and rosinality's load into it): the activations leaving block
    `resolution`; autograd runs only up to there, the rest of the image renders without it."""

    resolution: int = 32

    def features_and_image(self, ws, noise_mode="const", noise_generator=None):
        synthesis = self.model.synthesis
        captured = {}
        end = synthesis.plan_end(self.resolution)

        def keep(k, x, img):
            if k == end:
                captured["state"] = (x, img)

        synthesis.run(ws, noise_mode, noise_generator, max_resolution=self.resolution, on_step=keep)
        x, img = captured["state"]
        with torch.no_grad():
            image = synthesis.run(ws.detach(), noise_mode, noise_generator, start=end,
                                  state=(x.detach(), img.detach()))
        return x, image


@dataclass(frozen=True)
class HookBackbone(FeatureBackbone):
    """Any synthesis whose layers are modules (StyleGAN3): a forward hook keeps one layer's output;
    the whole network runs with autograd (StyleGAN3 has no skip outputs to stop at)."""

    layer_name: str = ""

    def features_and_image(self, ws, noise_mode="const", noise_generator=None):
        captured = {}
        module = getattr(self.model.synthesis, self.layer_name)
        handle = module.register_forward_hook(lambda _m, _i, out: captured.setdefault("x", out))
        try:
            image = self.model.synthesize(ws, noise_mode=noise_mode, noise_generator=noise_generator)
        finally:
            handle.remove()
        return captured["x"], image.detach()


def backbone_for(model, feature_resolution: int | None = None) -> FeatureBackbone:
    """The feature map a drag uses on `model`; ConfigError (one line) for a family that cannot drag.
    `feature_resolution` picks a StyleGAN2 block (None: half the image, at most 128; a quarter at <= 64 px)."""
    family = getattr(model, "family", type(model).__name__)
    resolution = int(getattr(getattr(model, "config", None), "img_resolution", 0) or 0)
    if family == "stylegan":
        blocks = model.synthesis.block_resolutions
        # Half the image size (DragGAN's middle block at 256 px), at most 128, never the last block
        # (its features are nearly RGB: they track colour, not parts).
        # At 64 px and below the half-size block is nearly pixels too (it tracked skin texture and
        # moved landmarks worse on the demo): a quarter of the image, where parts are features.
        wanted = min(resolution // 2, MAX_FEATURE_RESOLUTION) if resolution > 64 else resolution // 4
        if feature_resolution is not None:
            wanted = feature_resolution
        chosen = max(r for r in blocks if r <= max(wanted, blocks[0]))
        return StyleGAN2Backbone(model, f"synthesis block {chosen}", chosen / resolution, 0.0, chosen)
    if family == "stylegan3":
        synthesis = model.synthesis
        wanted = min(resolution // 2, MAX_FEATURE_RESOLUTION)
        names = synthesis.layer_names[:-1]  # not ToRGB
        _, rates, _, sizes, _ = model.config.layer_plan()
        # The first layer sampled at >= `wanted`: fine enough to track, still before the critically
        # sampled last layers, whose features are nearly the image.
        index = next((i for i in range(len(names)) if rates[i] >= wanted), len(names) - 1)
        rate, size = float(rates[index]), float(sizes[index])
        return HookBackbone(model, f"synthesis layer {names[index]}", rate / resolution, (size - rate) / 2,
                            names[index])
    if getattr(getattr(model, "capabilities", None), "is_translation", False):
        raise ConfigError(f"drag needs a latent to optimise; a {family} model translates pictures (A->B) and has none")
    raise ConfigError(f"drag optimises the first W+ rows of a style-based generator (StyleGAN2/3); "
                      f"a {family} model has no per-layer W+ to move parts with")
