"""Inception-v3 as FID uses it (Heusel et al. 2017), from a local weights file: `--features inception:PATH`.

The network is Inception-v3 (Szegedy et al. 2016) in the variant of the TensorFlow graph that FID was
defined with (2015-12-05): 1008 classes, average pools that do not count padding, a max pool in the
last block's pooling branch. The tensors are read from a state-dict file in the layout torch-fidelity
and pytorch-fid publish (`weights-inception-2015-12-05-*.pth` / `pt_inception-2015-12-05-*.pth`)
with `torch.load(weights_only=True)` (plain tensors only, never unpickled code), or from a
.safetensors file with the same tensor names. Nothing is downloaded.

Images go through what the reference implementations do: quantised to uint8 as the project saves
pictures, resized to 299 px with TensorFlow 1's bilinear rule (no half-pixel centres), scaled by
(x - 128) / 128; the feature is the 2048-d average pool.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import CheckpointError
from gan_explorer.core.metrics.features import FeatureExtractor, file_digest

INPUT_SIZE = 299


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _avg3(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg3(x)),
        ], 1)


class InceptionB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], 1)


class InceptionC(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        dbl = x
        for i in range(1, 6):
            dbl = getattr(self, f"branch7x7dbl_{i}")(dbl)
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            dbl,
            self.branch_pool(_avg3(x)),
        ], 1)


class InceptionD(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """The last two blocks; the FID graph pools the second one's pooling branch with a max pool."""

    def __init__(self, cin, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(b3), self.branch3x3_2b(b3),
            self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl),
            self.branch_pool(pooled),
        ], 1)


class InceptionV3FID(nn.Module):
    """The FID Inception-v3: images prepared as 299 px in [-1, 1] -> 2048-d pool features."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)  # the classifier; loaded so the file is checked whole, unused by FID

    def stages(self, x) -> list[torch.Tensor]:
        """The maps after each resolution stage (147, 71 -> 35, 35, 17, 8 px)."""
        out = []
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        out.append(x)
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        out.append(x)
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        out.append(x)
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(self.Mixed_6a(x)))))
        out.append(x)
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        out.append(x)
        return out

    def forward(self, x):
        return self.stages(x)[-1].mean(dim=(2, 3))


def resize_bilinear_tf1(x: torch.Tensor, size: int) -> torch.Tensor:
    """TensorFlow 1's resize_bilinear (align_corners=False, no half-pixel centres): the source of output
    pixel i is i * in / out; rows are interpolated first, then columns."""
    def axis(n_in):
        scale = torch.tensor(n_in / size, dtype=torch.float32)
        src = torch.arange(size, dtype=torch.float32) * scale
        lo = src.floor()
        frac = (src - lo).to(x.dtype).to(x.device)
        lo = lo.long().clamp(max=n_in - 1).to(x.device)
        hi = (lo + 1).clamp(max=n_in - 1)
        return lo, hi, frac

    y0, y1, fy = axis(x.shape[-2])
    x0, x1, fx = axis(x.shape[-1])
    left, right = x[..., x0], x[..., x1]
    rows = left + (right - left) * fx
    top, bottom = rows[..., y0, :], rows[..., y1, :]
    return top + (bottom - top) * fy[:, None]


class InceptionFeatures(FeatureExtractor):
    def __init__(self, net: InceptionV3FID, identity: str):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.name, self.dim, self.identity = "inception", 2048, identity
        self.label = "FID/KID (Inception-v3)"

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images [N, 1 or 3, H, W], got {tuple(images.shape)}")
        x = images.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x * 127.5 + 128).clamp(0, 255).to(torch.uint8).float()  # as the pictures are saved
        return (resize_bilinear_tf1(x, INPUT_SIZE) - 128) / 128

    def forward(self, images):
        return self.net(self.prepare(images)).float()

    def feature_maps(self, images):
        return self.net.stages(self.prepare(images))


def load_inception(path: str | os.PathLike, device="cpu") -> InceptionFeatures:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such Inception weights file")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file

            state = load_file(str(path))
        except Exception as exc:  # safetensors raises several types for malformed files
            raise CheckpointError(path, f"not a readable safetensors file ({type(exc).__name__})") from None
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # weights_only refuses anything but plain tensors and containers
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(path, f"not a plain weights file that loads safely ({first})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "expected a dictionary of tensors (an Inception-v3 state dict)")
    net = InceptionV3FID()
    expected = net.state_dict()
    state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}  # torchvision-style extras
    missing = sorted(k for k in expected if k not in state and not k.endswith("num_batches_tracked"))
    extra = sorted(k for k in state if k not in expected)
    if missing or extra:
        raise CheckpointError(path, f"not the FID Inception-v3 layout ({len(missing)} tensors missing, e.g. "
                                    f"{missing[:2]}; {len(extra)} unexpected, e.g. {extra[:2]})")
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(path, f"tensor {key}: shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
    net.load_state_dict({**expected, **state})
    return InceptionFeatures(net, f"inception-{file_digest(path)[:16]}").to(device)
