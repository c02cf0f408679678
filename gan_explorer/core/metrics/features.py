"""Pluggable feature networks for the quality metrics.

- ``gan_explorer`` (default): the project's FacesNet trained on procedural faces (resources/networks);
  its embedding is the feature. Numbers on it are labelled "FD/KID (gan_explorer features)", never
  FID: they are not comparable with published FIDs (Kynkaanniemi et al. 2023; Stein et al. 2023).
- ``random``: the same architecture randomly initialised from a fixed seed (``random:SEED``, default
  0), batch norm left at identity. Naeem et al. (2020) recommend random embeddings for data far from
  ImageNet; the seed makes its numbers reproducible, but only comparable with the same seed.
- ``inception:PATH``: Inception-v3 as FID uses it, from a local weights file (see inception.py).

Every extractor takes images [N, C, H, W] in [-1, 1] at any resolution and returns [N, dim] float32.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from gan_explorer.core.errors import ConfigError, quote
from gan_explorer.core.metrics.network import FacesNet, load_faces_net, prepare_images, random_faces_net

DEFAULT_FEATURES = "gan_explorer"


class FeatureExtractor(nn.Module):
    """images [N, C, H, W] in [-1, 1] -> features [N, dim]; `feature_maps` for perceptual distances."""

    name: str = "features"
    dim: int = 0
    label: str = "FD/KID (features)"   # how results computed on these features are named in output
    identity: str = ""                 # content key of the network (cache key of dataset statistics)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def extract(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """forward() in batches, on the extractor's device, returned on the CPU as float32."""
        out = [self(images[i:i + batch_size].to(self.device)).float().cpu() for i in range(0, len(images), batch_size)]
        return torch.cat(out) if out else torch.zeros(0, self.dim)


class FacesNetFeatures(FeatureExtractor):
    """The embedding of a FacesNet (shipped or random)."""

    def __init__(self, net: FacesNet, name: str, label: str, identity: str):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.name, self.label, self.identity = name, label, identity
        self.dim = net.config.embed_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.embedding(prepare_images(images)).float()

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.net.feature_maps(prepare_images(images))


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_features(spec: str = DEFAULT_FEATURES, device="cpu") -> FeatureExtractor:
    """'gan_explorer' (shipped, default), 'random' / 'random:SEED', or 'inception:PATH'."""
    spec = str(spec or DEFAULT_FEATURES)
    kind, _, arg = spec.partition(":")
    if kind == "gan_explorer":
        from gan_explorer.core.metrics.factors import load_factor_regressor, shipped_network_path

        path = Path(arg) if arg else shipped_network_path()
        net = load_factor_regressor(device, path).net
        return FacesNetFeatures(net, "gan_explorer", "FD/KID (gan_explorer features)",
                                f"gan_explorer-{file_digest(path)[:16]}").to(device)
    if kind == "random":
        if not (arg.isascii() and arg.isdigit() and len(arg) <= 10 and int(arg) < 2**32) and arg:
            raise ConfigError(f"--features {quote(spec, 60)}: the random CNN's seed must be an integer "
                              f"from 0 to 2**32-1")
        seed = int(arg) if arg else 0
        return FacesNetFeatures(random_faces_net(seed), f"random:{seed}", f"FD/KID (random CNN features, seed {seed})",
                                f"random-facesnet-v1-seed{seed}").to(device)
    if kind == "inception":
        if not arg:
            raise ConfigError("--features inception:PATH: give the path of the Inception-v3 weights file")
        from gan_explorer.core.metrics.inception import load_inception

        return load_inception(arg, device)
    raise ConfigError(f"--features {quote(spec, 60)}: expected gan_explorer, random[:SEED] or inception:PATH")


__all__ = ["DEFAULT_FEATURES", "FeatureExtractor", "FacesNetFeatures", "load_features", "load_faces_net"]
