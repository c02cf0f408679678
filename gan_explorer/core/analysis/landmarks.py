"""A small landmark regressor for faces: image -> LANDMARK_NAMES points (core/data/faces.py).

Trained offline on procedural faces, whose landmarks are drawn from the same parameters as the
face (`face_landmarks`), with mild blur, noise and brightness changes so a generator's softer
faces read as sharp ones do. It measures where a generated face's parts are (the drag
benchmark's mean distance to target). Shipped as resources/networks/faces-landmarks64.safetensors;
`train_landmark_net` made it (benchmarks/train_landmarks.py), its held-out error is in its metadata.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.data.faces import LANDMARK_NAMES, FacesDataset

INPUT_RESOLUTION = 64
CHANNELS = (16, 24, 48, 64, 96)  # stem at 64 px, then four stride-2 stages down to 4 px
SHIPPED_NAME = "faces-landmarks64.safetensors"


def _conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.SiLU())


class LandmarkNet(nn.Module):
    """64 px RGB in [-1, 1] -> [n, K, 2] points (x, y) in pixels of a 64 px image. The head reads the
    4 x 4 map flattened (not pooled): where a part is, is what it has to say."""

    def __init__(self, points: int = len(LANDMARK_NAMES)):
        super().__init__()
        self.points = points
        layers = [_conv(3, CHANNELS[0])]
        for cin, cout in zip(CHANNELS[:-1], CHANNELS[1:]):
            layers += [_conv(cin, cout, 2), _conv(cout, cout)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(CHANNELS[-1] * 16, points * 2)

    def forward(self, x):
        y = self.head(self.body(x).flatten(1))
        # outputs around the image centre, in units of the image size
        return (y.reshape(-1, self.points, 2) + 0.5) * INPUT_RESOLUTION


def prepare(images: torch.Tensor) -> torch.Tensor:
    """[n, C, H, W] in [-1, 1] at any size -> [n, 3, 64, 64]."""
    images = images.to(torch.float32)
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    if images.shape[-1] != INPUT_RESOLUTION:
        images = F.interpolate(images, size=(INPUT_RESOLUTION, INPUT_RESOLUTION), mode="bilinear",
                               antialias=True, align_corners=False)
    return images


@torch.no_grad()
def predict_landmarks(net: LandmarkNet, images: torch.Tensor, batch: int = 64) -> np.ndarray:
    """[n, K, 2] points (x, y) in pixels of `images`' own resolution (centres at integers)."""
    net.eval()
    scale = images.shape[-1] / INPUT_RESOLUTION
    out = []
    for i in range(0, len(images), batch):
        points = net(prepare(images[i:i + batch]).to(next(net.parameters()).device)).cpu()
        out.append(((points + 0.5) * scale - 0.5).numpy())
    return np.concatenate(out)


def _augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Blur (a generator's softness), noise and brightness: the gap between drawn and generated faces."""
    n = len(images)
    sigma = torch.rand(n, generator=generator) * 1.2
    taps = torch.arange(-2, 3, dtype=torch.float32)
    kernels = torch.exp(-taps[None] ** 2 / (2 * sigma[:, None].clamp_min(1e-3) ** 2))
    kernels = kernels / kernels.sum(dim=1, keepdim=True)  # [n, 5]
    h, w = images.shape[-2:]
    x = images.reshape(1, n * 3, h, w)  # one group per channel of each image: its own blur
    k = kernels.repeat_interleave(3, dim=0)  # [3n, 5]
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), k.reshape(-1, 1, 1, 5), groups=3 * n)
    x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), k.reshape(-1, 1, 5, 1), groups=3 * n)
    x = x.reshape(n, 3, h, w)
    x = x * (1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)) \
        + 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    x = x + torch.randn(x.shape, generator=generator) * torch.rand(n, 1, 1, 1, generator=generator) * 0.08
    return x.clamp(-1, 1)


def render_faces(count: int, seed: int, resolution: int = INPUT_RESOLUTION, progress=None):
    """(images [n, 3, res, res] in [-1, 1], landmarks [n, K, 2]) of `count` procedural faces."""
    data = FacesDataset(resolution, seed=seed)
    images = np.empty((count, resolution, resolution, 3), np.uint8)
    points = np.empty((count, len(LANDMARK_NAMES), 2), np.float32)
    for i in range(count):
        images[i] = data.image(i)
        points[i] = data.landmarks(i)
        if progress is not None and i % 500 == 0:
            progress(i, count)
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1, torch.from_numpy(points)


def mean_error(net: LandmarkNet, images: torch.Tensor, points: torch.Tensor) -> tuple[float, np.ndarray]:
    """(mean Euclidean error in px, per landmark [K])."""
    found = predict_landmarks(net, images)
    error = np.linalg.norm(found - points.numpy(), axis=-1)
    return float(error.mean()), error.mean(axis=0)


def train_landmark_net(steps: int = 3000, train_count: int = 12000, test_count: int = 1000, batch: int = 64,
                       seed: int = 0, log=print) -> tuple[LandmarkNet, dict]:
    """Train on faces of seed 3000 + seed, score on held-out faces of seed 4000 + seed."""
    torch.manual_seed(seed)
    started = time.time()
    train_images, train_points = render_faces(train_count, 3000 + seed)
    test_images, test_points = render_faces(test_count, 4000 + seed)
    log(f"rendered {train_count} + {test_count} faces in {time.time() - started:.0f} s")
    net = LandmarkNet()
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    generator = torch.Generator().manual_seed(seed)
    started = time.time()
    for step in range(steps):
        net.train()
        index = torch.randint(0, train_count, (batch,), generator=generator)
        x = _augment(train_images[index], generator)
        loss = F.smooth_l1_loss(net(x), train_points[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == steps - 1:
            log(f"step {step} loss {loss.item():.3f} ({time.time() - started:.0f} s)")
    error, per_point = mean_error(net, test_images, test_points)
    report = {"held_out_mean_error_px": round(error, 3), "held_out_faces": test_count, "train_faces": train_count,
              "steps": steps, "batch": batch, "resolution": INPUT_RESOLUTION,
              "per_landmark_px": {n: round(float(e), 3) for n, e in zip(LANDMARK_NAMES, per_point)},
              "train_seconds": round(time.time() - started)}
    return net, report


def save_landmark_net(net: LandmarkNet, path, report: dict) -> Path:
    from safetensors.torch import save_file

    from gan_explorer.core.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp),
                  metadata={"kind": "gan_explorer landmark net", "landmarks": json.dumps(LANDMARK_NAMES),
                            "report": json.dumps(report)})
    return path


def shipped_landmark_net_path() -> Path:
    from gan_explorer.resources import resource

    return resource("networks") / SHIPPED_NAME


def load_landmark_net(path: str | os.PathLike | None = None, device="cpu") -> tuple[LandmarkNet, dict]:
    """(net, report) from a file save_landmark_net wrote (default: the shipped one)."""
    from safetensors import safe_open

    path = Path(path) if path is not None else shipped_landmark_net_path()
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata() or {}
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    net = LandmarkNet()
    net.load_state_dict(tensors)
    return net.to(device).eval(), json.loads(metadata.get("report", "{}"))
