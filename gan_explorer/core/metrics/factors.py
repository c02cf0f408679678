"""The factor regressor: the shipped FacesNet's output layer, which predicts every procedural-face factor.

The procedural faces (core/data/faces.py) know the true factors of every image they draw, so the
network is trained with exact labels, as many as wanted. Outputs, in FACTOR_NAMES order:

- continuous factors: one output each, the factor rescaled from its range to [-1, 1] (MSE);
- background_hue: a hue is an angle (0 and 1 are the same colour), so two outputs, cos and sin
  of 2*pi*hue (MSE), turned back into a hue by atan2;
- glasses (binary): one logit (binary cross-entropy); `predict` gives the probability.

`train_factor_network` renders a training and a held-out set, trains, and scores every factor on
the held-out set (R^2 for continuous factors, with the hue's residual taken around the circle;
accuracy for glasses). `gan-explorer features train` runs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.data.faces import FACTOR_NAMES as _FACE_FACTORS
from gan_explorer.core.data.faces import FACTOR_RANGES, FacesDataset
from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.metrics.network import (
    INPUT_RESOLUTION, FacesNet, FacesNetConfig, load_faces_net, prepare_images, save_faces_net,
)
from gan_explorer.core.progress import Steps

FACTOR_NAMES: list[str] = list(_FACE_FACTORS)
BINARY_FACTORS: tuple[str, ...] = ("glasses",)
CIRCULAR_FACTORS: tuple[str, ...] = ("background_hue",)
CONTINUOUS_FACTORS: tuple[str, ...] = tuple(n for n in FACTOR_NAMES if n not in BINARY_FACTORS)
FACTOR_KINDS: dict[str, str] = {n: ("binary" if n in BINARY_FACTORS else "continuous") for n in FACTOR_NAMES}
# The factors a person sees at a glance at 64 px; the shipped network must score >= 0.9 on them.
VISIBLE_FACTORS: tuple[str, ...] = ("skin_tone", "hair_color", "glasses", "smile")
NETWORK_RESOURCE = "networks/faces-factors64.safetensors"


def _layout() -> list[tuple[str, slice]]:
    layout, start = [], 0
    for name in FACTOR_NAMES:
        width = 2 if name in CIRCULAR_FACTORS else 1
        layout.append((name, slice(start, start + width)))
        start += width
    return layout


OUTPUT_LAYOUT = _layout()
NUM_OUTPUTS = OUTPUT_LAYOUT[-1][1].stop


def encode_targets(factors: torch.Tensor) -> torch.Tensor:
    """True factors [N, len(FACTOR_NAMES)] (FaceFactors.to_array order) -> training targets [N, NUM_OUTPUTS]."""
    columns = []
    for i, name in enumerate(FACTOR_NAMES):
        value = factors[:, i]
        if name in CIRCULAR_FACTORS:
            angle = 2 * math.pi * value
            columns += [torch.cos(angle), torch.sin(angle)]
        elif name in BINARY_FACTORS:
            columns.append((value >= 0.5).float())
        else:
            lo, hi = FACTOR_RANGES[name]
            columns.append(2 * (value - lo) / (hi - lo) - 1)
    return torch.stack(columns, dim=1)


def decode_outputs(outputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Network outputs [N, NUM_OUTPUTS] -> {factor: [N]} in the factor's own range (glasses: probability)."""
    result = {}
    for name, cols in OUTPUT_LAYOUT:
        out = outputs[:, cols]
        if name in CIRCULAR_FACTORS:
            result[name] = torch.remainder(torch.atan2(out[:, 1], out[:, 0]) / (2 * math.pi), 1.0)
        elif name in BINARY_FACTORS:
            result[name] = torch.sigmoid(out[:, 0])
        else:
            lo, hi = FACTOR_RANGES[name]
            result[name] = ((out[:, 0].clamp(-1, 1) + 1) / 2) * (hi - lo) + lo
    return result


def factor_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    losses = []
    for name, cols in OUTPUT_LAYOUT:
        if name in BINARY_FACTORS:
            losses.append(F.binary_cross_entropy_with_logits(outputs[:, cols], targets[:, cols]))
        else:
            losses.append(F.mse_loss(outputs[:, cols], targets[:, cols]) * (cols.stop - cols.start))
    return torch.stack(losses).sum()


class FactorRegressor(nn.Module):
    """images [N, C, H, W] in [-1, 1] (any size) -> {factor: Tensor[N]} (`predict`)."""

    factor_names = FACTOR_NAMES
    factor_kinds = FACTOR_KINDS
    binary_factors = BINARY_FACTORS

    def __init__(self, net: FacesNet, report: dict | None = None):
        super().__init__()
        self.net = net
        self.report = report or {}

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
        device = next(self.net.parameters()).device
        parts = []
        for start in range(0, len(images), batch_size):
            x = prepare_images(images[start:start + batch_size].to(device))
            parts.append(self.net(x))
        return decode_outputs(torch.cat(parts) if parts else torch.zeros(0, NUM_OUTPUTS, device=device))


def shipped_network_path() -> Path:
    from gan_explorer.resources import resource

    return resource(NETWORK_RESOURCE)


def load_factor_regressor(device="cpu", path=None) -> FactorRegressor:
    """The shipped regressor (resources/networks), or the network file at `path`."""
    path = Path(path) if path is not None else shipped_network_path()
    if not path.is_file():
        raise GanExplorerError(f"{path}: the factor network is missing; train one with "
                               f"`gan-explorer features train --out {path}`")
    net, report = load_faces_net(path, device)
    return FactorRegressor(net, report).eval()


# Training ------------------------------------------------------------------------------------

def render_faces(count: int, seed: int, resolution: int = INPUT_RESOLUTION, progress=None,
                 should_stop=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 [N, 3, R, R], true factors float32 [N, F]) of faces 0..count-1 of `seed`."""
    dataset = FacesDataset(resolution, count=count, seed=seed)
    images = np.empty((count, resolution, resolution, 3), np.uint8)
    factors = np.empty((count, len(FACTOR_NAMES)), np.float32)
    steps = Steps(count, progress, should_stop)
    for i in range(count):
        images[i] = dataset.image(i)
        factors[i] = dataset.factors(i).to_array()
        if i % 64 == 63 or i == count - 1:
            steps.step(min(64, i + 1 - steps.done))
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(factors)


def _to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.float() / 127.5 - 1


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """What a generator's images differ by without changing a factor: blur, noise, slight resampling."""
    n = x.shape[0]
    blur = torch.rand(n, generator=generator) < 0.4
    if blur.any():
        k = torch.tensor([1.0, 2.0, 1.0])
        kernel = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3).to(x)
        x = torch.where(blur[:, None, None, None].to(x.device),
                        F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=3), x)
    sigma = torch.rand(n, 1, 1, 1, generator=generator) * 0.08
    x = x + sigma.to(x) * torch.randn(x.shape, generator=generator).to(x)
    return x.clamp(-1, 1)


@torch.no_grad()
def score_factors(predicted: dict[str, torch.Tensor], true_factors: torch.Tensor) -> dict[str, dict]:
    """Held-out scores per factor: {'r2': ...} for continuous (hue: residual around the circle),
    {'accuracy': ...} for binary."""
    scores = {}
    for i, name in enumerate(FACTOR_NAMES):
        truth = true_factors[:, i].double()
        pred = predicted[name].double().cpu()
        if name in BINARY_FACTORS:
            scores[name] = {"accuracy": float(((pred >= 0.5) == (truth >= 0.5)).double().mean())}
            continue
        residual = pred - truth
        if name in CIRCULAR_FACTORS:
            residual = torch.remainder(residual + 0.5, 1.0) - 0.5
        total = ((truth - truth.mean()) ** 2).sum()
        scores[name] = {"r2": float(1 - (residual ** 2).sum() / total.clamp_min(1e-12))}
    return scores


def score_value(entry: dict) -> float:
    return entry.get("r2", entry.get("accuracy"))


def train_factor_network(out, steps: int = 6000, batch: int = 64, train_count: int = 20000,
                         test_count: int = 2000, seed: int = 0, lr: float = 2e-3,
                         config: FacesNetConfig = FacesNetConfig(), progress: Callable | None = None,
                         should_stop: Callable | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Train the factor network on procedural faces and write it to `out`; returns its report.

    Training faces are seed `1000 + seed`, held-out faces seed `2000 + seed` (never seen).
    progress(done, total) counts rendered faces then training steps; should_stop() cancels."""
    if steps < 1 or batch < 2 or train_count < batch or test_count < 10:
        raise ConfigError(f"steps={steps}, batch={batch}, train_count={train_count}, test_count={test_count}: "
                          f"need steps >= 1, batch >= 2, train_count >= batch, test_count >= 10")
    if config.num_outputs != NUM_OUTPUTS:
        raise ConfigError(f"num_outputs={config.num_outputs}: the factors need {NUM_OUTPUTS}")
    total = train_count + test_count + steps
    done = [0]

    def stage_progress(offset):
        return None if progress is None else (lambda d, _t: progress(offset + d, total))

    say = log or (lambda _m: None)
    t0 = time.time()
    torch.manual_seed(seed)
    say(f"rendering {train_count} training and {test_count} held-out faces at {INPUT_RESOLUTION} px")
    train_images, train_factors = render_faces(train_count, 1000 + seed, progress=stage_progress(0),
                                               should_stop=should_stop)
    test_images, test_factors = render_faces(test_count, 2000 + seed, progress=stage_progress(train_count),
                                             should_stop=should_stop)
    render_sec = time.time() - t0
    done[0] = train_count + test_count
    train_targets = encode_targets(train_factors)
    net = FacesNet(config).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.05)
    generator = torch.Generator().manual_seed(seed)
    tracker = Steps(steps, stage_progress(done[0]), should_stop)
    t1 = time.time()
    running = None
    for step in range(steps):
        index = torch.randint(0, train_count, (batch,), generator=generator)
        x = _augment(_to_float(train_images[index]), generator)
        loss = factor_loss(net(x), train_targets[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        value = loss.item()
        running = value if running is None else 0.98 * running + 0.02 * value
        if step % 500 == 499 or step == steps - 1:
            say(f"step {step + 1}/{steps}: loss {running:.4f}")
        tracker.step()
    train_sec = time.time() - t1
    net.eval()
    regressor = FactorRegressor(net)
    scores = score_factors(regressor.predict(_to_float(test_images)), test_factors)
    params = sum(p.numel() for p in net.parameters())
    report = {
        "trained_on": f"procedural faces at {INPUT_RESOLUTION} px: {train_count} training faces (seed {1000 + seed}), "
                      f"scored on {test_count} held-out faces (seed {2000 + seed})",
        "steps": steps, "batch": batch, "lr": lr, "seed": seed, "parameters": params,
        "render_sec": round(render_sec, 1), "train_sec": round(train_sec, 1), "threads": torch.get_num_threads(),
        "held_out": scores,
    }
    path = save_faces_net(net, out, report)
    return {**report, "file_bytes": path.stat().st_size}
