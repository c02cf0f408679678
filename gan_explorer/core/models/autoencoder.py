"""Convolutional autoencoder; new images come from a Gaussian fitted to its training codes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan_explorer.core.models.base import Capabilities, GenerativeModel
from gan_explorer.core.models.registry import register_family
from gan_explorer.core.models.vae import CodecConfig, ConvDecoder, ConvEncoder


@dataclass(frozen=True)
class AutoencoderConfig(CodecConfig):
    loss: str = "l2"            # reconstruction loss the model was trained with: 'l1' or 'l2' (--ae-loss)

    def validate(self):
        super().validate()
        if self.loss not in ("l1", "l2"):
            from gan_explorer.core.errors import ConfigError
            raise ConfigError(f"loss={self.loss!r}: must be 'l1' or 'l2'")


@register_family
class Autoencoder(GenerativeModel):
    family = "autoencoder"
    config_class = AutoencoderConfig
    capabilities = Capabilities(has_encoder=True, has_mapping=True)

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()):
        super().__init__(config)
        self.encoder = ConvEncoder(config, config.z_dim)
        self.decoder = ConvDecoder(config)
        # z ~ N(0, I) maps to code = code_mean + code_scale_tril @ z: a Gaussian over codes.
        self.register_buffer("code_mean", torch.zeros(config.z_dim))
        self.register_buffer("code_scale_tril", torch.eye(config.z_dim))

    @property
    def w_avg(self):
        return self.code_mean

    @torch.no_grad()
    def fit_code_distribution(self, codes: torch.Tensor) -> None:
        """Fit the sampling Gaussian to codes [n, z_dim] of training images."""
        codes = codes.to(torch.float64)
        mean = codes.mean(dim=0)
        centred = codes - mean
        cov = centred.T @ centred / max(len(codes) - 1, 1)
        cov = cov + 1e-5 * torch.eye(len(mean), dtype=cov.dtype)  # a few codes: keep it positive definite
        self.code_mean.copy_(mean.to(self.code_mean))
        self.code_scale_tril.copy_(torch.linalg.cholesky(cov).to(self.code_scale_tril))

    def map(self, z, truncation_psi=1.0, truncation_cutoff=None):
        from gan_explorer.core.models.truncation import truncate

        codes = self.code_mean + z.to(torch.float32) @ self.code_scale_tril.T
        return truncate(codes.unsqueeze(1), self.w_avg, truncation_psi, truncation_cutoff)

    def encode(self, images):
        return self.encoder(images).unsqueeze(1)

    def synthesize(self, ws, noise_mode="const", noise_generator=None):
        return self.decoder(ws[:, 0])

    def forward(self, images):
        return self.decoder(self.encoder(images))
