"""The project's own small CNN: 64 px faces -> multi-scale maps -> an embedding -> factor outputs.

One network serves two purposes: its embedding (the penultimate layer) is the default feature
space of the quality metrics ("gan_explorer features"), and its output layer is the factor
regressor of the latent analyses. It is stored as one .safetensors file (tensors + a JSON
header with its configuration and training report); loading it never runs code.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_explorer.core.errors import CheckpointError

FORMAT_NAME = "gan_explorer.faces_net"
INPUT_RESOLUTION = 64


@dataclass(frozen=True)
class FacesNetConfig:
    widths: tuple = (16, 24, 48, 96, 128)   # channels of the stem and of each stride-2 stage (64 -> 4 px)
    embed_dim: int = 256                     # the embedding (feature) size: the layer before the heads
    pooled_stages: int = 3                   # the embedding reads the mean-pooled maps of the last this many stages
    num_outputs: int = 15                    # factor outputs (see factors.OUTPUT_LAYOUT)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "FacesNetConfig":
        data = json.loads(text)
        return cls(widths=tuple(int(w) for w in data["widths"]), embed_dim=int(data["embed_dim"]),
                   pooled_stages=int(data["pooled_stages"]), num_outputs=int(data["num_outputs"]))


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def prepare_images(images: torch.Tensor, resolution: int = INPUT_RESOLUTION) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] (C = 1 or 3, any size) -> [N, 3, res, res] float32 (antialiased resize)."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images [N, 1 or 3, H, W], got {tuple(images.shape)}")
    x = images.float()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                          antialias=x.shape[-1] > resolution or x.shape[-2] > resolution)
    return x.clamp(-1, 1)


class FacesNet(nn.Module):
    """stem (64 px) -> 4 stride-2 stages (32, 16, 8, 4 px) -> mean-pooled maps of the last stages
    (coarse shapes and finer textures alike) -> linear embedding -> ReLU -> linear outputs."""

    def __init__(self, config: FacesNetConfig = FacesNetConfig()):
        super().__init__()
        self.config = config
        w = config.widths
        self.stem = _conv(3, w[0])
        self.stages = nn.ModuleList(nn.Sequential(_conv(a, b, 2), _conv(b, b)) for a, b in zip(w[:-1], w[1:]))
        self.embed = nn.Linear(sum(w[-config.pooled_stages:]), config.embed_dim)
        self.head = nn.Linear(config.embed_dim, config.num_outputs)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Prepared images -> the stem's and every stage's activations (finest first)."""
        maps = [self.stem(x)]
        for stage in self.stages:
            maps.append(stage(maps[-1]))
        return maps

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.feature_maps(x)[-self.config.pooled_stages:]
        return self.embed(torch.cat([m.mean(dim=(2, 3)) for m in maps], dim=1))

    def outputs_from_embedding(self, e: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outputs_from_embedding(self.embedding(x))


def random_faces_net(seed: int = 0) -> FacesNet:
    """The same architecture, randomly initialised from `seed` (Kaiming-normal convs, identity batch norm)."""
    generator = torch.Generator().manual_seed(seed)
    net = FacesNet()
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            with torch.no_grad():
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.zero_()
    return net.eval()


def save_faces_net(net: FacesNet, path: str | os.PathLike, report: dict | None = None) -> Path:
    from safetensors.torch import save_file

    from gan_explorer.core.io.atomic import atomic_path

    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    metadata = {"format": FORMAT_NAME, "config": net.config.to_json(),
                "report": json.dumps(report or {}, sort_keys=True, default=str)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def load_faces_net(path: str | os.PathLike, device="cpu") -> tuple[FacesNet, dict]:
    """(network in eval mode, its training report); a bad file is one CheckpointError line."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such feature network file")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises several types for malformed files
        raise CheckpointError(path, f"not a readable safetensors file ({type(exc).__name__})") from None
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(path, f"not a gan_explorer feature network (format {metadata.get('format')!r})")
    try:
        config = FacesNetConfig.from_json(metadata["config"])
        report = json.loads(metadata.get("report") or "{}")
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(path, f"unreadable network configuration ({exc})") from None
    net = FacesNet(config)
    expected = net.state_dict()
    missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(path, f"tensors do not match the network (missing {missing[:3]}, extra {extra[:3]})")
    for key, ref in expected.items():
        if tensors[key].shape != ref.shape:
            raise CheckpointError(path, f"tensor {key}: shape {tuple(tensors[key].shape)}, expected {tuple(ref.shape)}")
        if tensors[key].is_floating_point() and not torch.isfinite(tensors[key]).all():
            raise CheckpointError(path, f"tensor {key} holds NaN or inf")
    net.load_state_dict({k: v.to(ref.dtype) for (k, v), ref in zip(((k, tensors[k]) for k in expected),
                                                                   expected.values())})
    return net.to(device).eval().requires_grad_(False), report
