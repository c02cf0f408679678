"""Which units of a generator draw which part (GAN Dissection, Bau et al., ICLR 2019).

Each unit (channel) of a layer is upsampled to the output size and thresholded at its own top
quantile over many samples (Bau et al. keep the top 0.5 % of a unit's values); the IoU of that
region with each part, pooled over the samples, says how well the unit "is" the part. The parts of
generated samples come from a part classifier (core/analysis/parts.py), as Bau et al. use a
segmentation network. Switching off a part's best units (ablation) removes much of it:

    report = dissect(model, classifier, ws, layers)      # DissectionReport
    report.best(layer, "hair")                            # (unit, iou)
    effect = ablation_effect(model, classifier, ws, layer, units)   # part areas before / after
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from gan_explorer.core.analysis.parts import PartClassifier, part_areas, pixel_features, upsample
from gan_explorer.core.errors import Cancelled, ConfigError

DEFAULT_TOP = 0.01  # the fraction of a unit's values kept as "on" (Bau et al.: 0.005; 64 px faces' parts are small)


def unit_thresholds(activations: torch.Tensor, size: int, top: float = DEFAULT_TOP, chunk: int = 16,
                    max_values: int = 250_000) -> torch.Tensor:
    """[C] each unit's (1 - top) quantile over all samples and pixels after upsampling to `size`
    (estimated from at most `max_values` evenly strided values per unit, to bound memory)."""
    if not 0 < top < 1:
        raise ConfigError(f"top={top}: the fraction of a unit's values kept must be between 0 and 1")
    stride = max(1, -(-len(activations) * size * size // max_values))
    values = []
    for start in range(0, len(activations), chunk):
        up = upsample(activations[start:start + chunk].float(), size)
        values.append(up.permute(1, 0, 2, 3).reshape(up.shape[1], -1)[:, ::stride])
    flat = torch.cat(values, dim=1)
    k = max(1, int(round(flat.shape[1] * top)))
    return flat.topk(k, dim=1).values[:, -1]  # the k-th largest: `top` of the values reach it


def unit_masks(activations: torch.Tensor, thresholds: torch.Tensor, size: int) -> torch.Tensor:
    """[n, C, size, size] bool: where each unit reaches its threshold (a constant unit is never on)."""
    up = upsample(activations.float(), size)
    constant = up.amax(dim=(0, 2, 3)) <= up.amin(dim=(0, 2, 3))
    on = up >= thresholds[None, :, None, None]
    on[:, constant] = False
    return on


def unit_part_iou(activations: torch.Tensor, parts, part_count: int, top: float = DEFAULT_TOP,
                  chunk: int = 16) -> np.ndarray:
    """[C, K] IoU of each unit's top-quantile region with each part, pooled over the samples.
    activations [n, C, h, w]; parts [n, H, W] part indices (the output size)."""
    parts = torch.as_tensor(np.asarray(parts).astype(np.int64))
    if parts.ndim != 3 or len(parts) != len(activations):
        raise ConfigError(f"parts of shape {list(parts.shape)}: expected one [H, W] map per sample "
                          f"({len(activations)})")
    size = parts.shape[-1]
    thresholds = unit_thresholds(activations, size, top, chunk)
    c = activations.shape[1]
    intersection = torch.zeros(c, part_count, dtype=torch.float64)
    unit_area = torch.zeros(c, dtype=torch.float64)
    part_area = torch.zeros(part_count, dtype=torch.float64)
    for start in range(0, len(activations), chunk):
        on = unit_masks(activations[start:start + chunk], thresholds, size)
        p = parts[start:start + chunk]
        one_hot = torch.nn.functional.one_hot(p.reshape(-1), part_count).to(torch.float32)  # [P, K]
        units = on.permute(1, 0, 2, 3).reshape(c, -1).to(torch.float32)  # [C, P]
        intersection += (units @ one_hot).double()
        unit_area += units.sum(1).double()
        part_area += one_hot.sum(0).double()
    union = unit_area[:, None] + part_area[None, :] - intersection
    return torch.where(union > 0, intersection / union.clamp_min(1), torch.zeros_like(union)).numpy()


@dataclass(frozen=True)
class DissectionReport:
    """Each layer's units scored against each part."""

    part_names: tuple       # K names
    layers: tuple           # layer names, in running order
    iou: tuple              # per layer: [C, K] float array
    samples: int            # samples the scores pool over
    top: float              # the quantile kept per unit

    def layer_iou(self, layer: str) -> np.ndarray:
        if layer not in self.layers:
            raise ConfigError(f"layer {layer!r} was not dissected (dissected: {', '.join(self.layers)})")
        return self.iou[self.layers.index(layer)]

    def unit_names(self, layer: str) -> list[tuple[str, float]]:
        """Each unit's best part and its IoU: [("hair", 0.41), ...] in unit order."""
        table = self.layer_iou(layer)
        best = table.argmax(1)
        return [(self.part_names[k], float(table[u, k])) for u, k in enumerate(best)]

    def top_units(self, layer: str, part: str, count: int = 5) -> list[tuple[int, float]]:
        """The `count` units of `layer` whose region best matches `part`: [(unit, iou), ...]."""
        if part not in self.part_names:
            raise ConfigError(f"part {part!r}: not one of {', '.join(self.part_names)}")
        column = self.layer_iou(layer)[:, self.part_names.index(part)]
        order = np.argsort(-column, kind="stable")[:count]
        return [(int(u), float(column[u])) for u in order]

    def best(self, layer: str, part: str) -> tuple[int, float]:
        return self.top_units(layer, part, 1)[0]

    def best_table(self) -> dict:
        """{part: {layer: best unit IoU}}: the table the README shows."""
        return {part: {layer: round(float(self.iou[i][:, k].max()), 4) for i, layer in enumerate(self.layers)}
                for k, part in enumerate(self.part_names)}

    def to_json(self) -> dict:
        return dict(part_names=list(self.part_names), samples=self.samples, top=self.top,
                    best=self.best_table(),
                    units={layer: [dict(unit=u, part=name, iou=round(v, 4))
                                   for u, (name, v) in enumerate(self.unit_names(layer))]
                           for layer in self.layers})


@torch.no_grad()
def dissect(model, classifier: PartClassifier, ws, layers=None, top: float = DEFAULT_TOP, noise_mode: str = "const",
            batch: int = 16, progress=None, should_stop=None) -> DissectionReport:
    """Score every unit of `layers` (default: the classifier's feature layers) against the parts
    the classifier finds in the samples `ws` renders."""
    from gan_explorer.core.analysis.layers import capture_activations

    layers = list(layers or classifier.layers)
    ws = np.asarray(ws, np.float32)
    device = next(model.parameters()).device
    acts = {name: [] for name in layers}
    parts = []
    feature_layers = list(classifier.layers)
    wanted = list(dict.fromkeys(layers + feature_layers))
    for start in range(0, len(ws), batch):
        if should_stop is not None and should_stop():
            raise Cancelled("dissection cancelled")
        captured, _ = capture_activations(model, torch.from_numpy(ws[start:start + batch]).to(device), wanted,
                                          noise_mode)
        size = model.img_resolution
        features = torch.cat([upsample(captured[n], size) for n in feature_layers], dim=1)
        parts.append(classifier.predict(features))
        for name in layers:
            acts[name].append(captured[name].half())
        if progress is not None:
            progress(min(start + batch, len(ws)), len(ws) + len(layers))
    parts = np.concatenate(parts)
    tables = []
    for i, name in enumerate(layers):
        if should_stop is not None and should_stop():
            raise Cancelled("dissection cancelled")
        activation = torch.cat(acts[name])
        if activation.ndim != 4:
            raise ConfigError(f"layer {name!r} is not spatial; only feature maps can be dissected")
        tables.append(unit_part_iou(activation, parts, len(classifier.part_names), top))
        if progress is not None:
            progress(len(ws) + i + 1, len(ws) + len(layers))
    return DissectionReport(tuple(classifier.part_names), tuple(layers), tuple(tables), len(ws), top)


def ablation(layer: str, units, scale: float = 0.0):
    """A context-manager factory for pixel_features/segment: `units` of `layer` scaled while it runs."""
    from gan_explorer.core.analysis.layers import _module

    units = [int(u) for u in units]

    @contextlib.contextmanager
    def edit(model):
        def hook(_mod, _inp, out):
            out = out.clone()
            out[:, units] *= scale
            return out

        handle = _module(model, layer).register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()

    return edit


@dataclass(frozen=True)
class AblationEffect:
    part_names: tuple
    before: np.ndarray      # [K] area fractions of each part, no ablation
    after: np.ndarray       # [K] with the units switched off
    changed_pixels: float   # fraction of pixels whose part changed

    def relative_change(self) -> np.ndarray:
        """[K] (after - before) / before (NaN for a part absent before)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.before > 0, (self.after - self.before) / self.before, np.nan)

    def to_json(self) -> dict:
        return dict(before={p: round(float(v), 5) for p, v in zip(self.part_names, self.before)},
                    after={p: round(float(v), 5) for p, v in zip(self.part_names, self.after)},
                    relative_change={p: (None if not np.isfinite(v) else round(float(v), 4))
                                     for p, v in zip(self.part_names, self.relative_change())},
                    changed_pixels=round(self.changed_pixels, 5))


def ablation_effect(model, classifier: PartClassifier, ws, layer: str, units, scale: float = 0.0,
                    noise_mode: str = "const", should_stop=None) -> AblationEffect:
    """Each part's area as the classifier sees it, with and without `units` of `layer` scaled."""
    from gan_explorer.core.analysis.parts import segment

    k = len(classifier.part_names)
    before, _ = segment(model, classifier, ws, noise_mode, should_stop=should_stop)
    after, _ = segment(model, classifier, ws, noise_mode, edit=ablation(layer, units, scale),
                       should_stop=should_stop)
    return AblationEffect(tuple(classifier.part_names), part_areas(before, k), part_areas(after, k),
                          float((before != after).mean()))


__all__ = ["AblationEffect", "DissectionReport", "ablation", "ablation_effect", "dissect", "pixel_features",
           "unit_part_iou"]
