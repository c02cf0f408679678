"""CycleGAN objective (Zhu et al. 2017): LSGAN, cycle consistency (lambda 10), identity, image pool,
and an optional perceptual loss.

The perceptual loss compares two images in the feature space of a network instead of pixel by
pixel (Johnson et al. 2016): the cycle reconstruction F(G(x)) with x (`perceptual_target='cycle'`),
or the translation G(x) with x itself (`'translation'`: keep the content, let the style change). The
network is one that exists offline: the discriminator of the compared images' domain (its own
LeakyReLU blocks, `perceptual_network='discriminator'`) or the project's feature network
(`'features'`, gan_explorer.core.metrics.features). `perceptual_layers` picks its feature maps
(1 = the finest); the loss is the mean L1 distance over those maps, times `perceptual_weight`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.images import make_grid, to_uint8
from gan_explorer.core.training.trainers.base import Trainer

PERCEPTUAL_TARGETS = ("cycle", "translation")
PERCEPTUAL_NETWORKS = ("discriminator", "features")


def parse_layers(text) -> tuple[int, ...]:
    """'1,2,3' (or a list) -> (1, 2, 3); 1-based feature map numbers, finest first."""
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        layers = tuple(int(str(item).strip()) for item in items if str(item).strip())
    except ValueError:
        raise ConfigError(f"--perceptual-layers {text!r}: must be comma-separated layer numbers, e.g. 1,2,3") from None
    if not layers or min(layers) < 1:
        raise ConfigError(f"--perceptual-layers {text!r}: must list layer numbers from 1 (the finest) up")
    return layers


class PerceptualLoss:
    """Mean L1 distance between chosen feature maps of images and (fixed) target images."""

    def __init__(self, network: str, layers, discriminators: dict, device="cpu"):
        if network not in PERCEPTUAL_NETWORKS:
            raise ConfigError(f"--perceptual-network {network!r}: must be one of {', '.join(PERCEPTUAL_NETWORKS)}")
        self.layers = parse_layers(layers)
        if network == "discriminator":
            self.extractors = {domain: d.feature_maps for domain, d in discriminators.items()}
        else:
            from gan_explorer.core.metrics.features import load_features

            # The shipped faces network (frozen, eval mode): the same feature space for both domains.
            extract = load_features("gan_explorer", device=device).feature_maps
            self.extractors = {domain: extract for domain in discriminators}

    def __call__(self, images: torch.Tensor, targets: torch.Tensor, domain: str) -> torch.Tensor:
        extract = self.extractors[domain]
        maps = extract(images)
        with torch.no_grad():
            target_maps = extract(targets.detach())
        if max(self.layers) > len(maps):
            raise ConfigError(f"--perceptual-layers {','.join(map(str, self.layers))}: this network has "
                              f"{len(maps)} feature maps (1 to {len(maps)})")
        return sum(F.l1_loss(maps[k - 1].float(), target_maps[k - 1].float()) for k in self.layers) / len(self.layers)


class ImagePool:
    """Show D a history of generated images (Shrivastava et al. 2017): half old, half new."""

    def __init__(self, size: int):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand([]) < 0.5:
                k = int(torch.randint(0, self.size, []))
                out.append(self.images[k].clone())
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self):
        return torch.stack(self.images).cpu() if self.images else torch.zeros(0)

    def load(self, tensor, device):
        self.images = [t.to(device) for t in tensor] if tensor.numel() else []


class CycleGANTrainer(Trainer):
    needs_second_dataset = True

    def __init__(self, options, device, dist):
        super().__init__(options, device, dist)
        self.D_A, self.D_B = (d.to(device) for d in self.model.make_discriminators())
        self.opt_G = self._adam(self.model.parameters(), options.lr, (0.5, 0.999))
        self.opt_D = self._adam(list(self.D_A.parameters()) + list(self.D_B.parameters()), options.lr, (0.5, 0.999))
        self.pool_A, self.pool_B = ImagePool(options.pool_size), ImagePool(options.pool_size)
        self.fixed_a = self.fixed_b = None
        self.perceptual = None
        if options.perceptual_weight:
            if options.perceptual_target not in PERCEPTUAL_TARGETS:
                raise ConfigError(f"--perceptual-target {options.perceptual_target!r}: must be one of "
                                  f"{', '.join(PERCEPTUAL_TARGETS)}")
            self.perceptual = PerceptualLoss(options.perceptual_network, options.perceptual_layers,
                                             {"A": self.D_A, "B": self.D_B}, device)

    def networks(self):
        return {"G": self.model, "D_A": self.D_A, "D_B": self.D_B}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def train_step(self, real_a, real_b=None):
        if self.fixed_a is None:
            self.fixed_a, self.fixed_b = real_a[:4].detach().clone(), real_b[:4].detach().clone()
        self.model.train()
        lam, idt = self.options.cycle_lambda, self.options.identity_lambda
        G_AB, G_BA = self.model.G_AB, self.model.G_BA
        for d in (self.D_A, self.D_B):
            d.requires_grad_(False)
        try:
            with self.autocast():
                fake_b, fake_a = G_AB(real_a), G_BA(real_b)
                p_b, p_a = self.D_B(fake_b).float(), self.D_A(fake_a).float()
                loss_gan = F.mse_loss(p_b, torch.ones_like(p_b)) + F.mse_loss(p_a, torch.ones_like(p_a))
                rec_a, rec_b = G_BA(fake_b), G_AB(fake_a)
                loss_cycle = (F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b)) * lam
                loss_idt = (F.l1_loss(G_AB(real_b), real_b) + F.l1_loss(G_BA(real_a), real_a)) * lam * idt if idt else torch.zeros([])
                loss_g = loss_gan + loss_cycle + loss_idt
                loss_perc = torch.zeros([])
                if self.perceptual is not None:
                    loss_perc = self.perceptual_loss(real_a, real_b, fake_a, fake_b, rec_a, rec_b)
                    loss_g = loss_g + loss_perc
            stats = {"Loss/G/loss": self.update(loss_g, self.opt_G, "G"), "Loss/G/gan": float(loss_gan.detach()),
                     "Loss/G/cycle": float(loss_cycle.detach()), "Loss/G/identity": float(loss_idt.detach())}
            if self.perceptual is not None:
                stats["Loss/G/perceptual"] = float(loss_perc.detach())
        finally:
            for d in (self.D_A, self.D_B):
                d.requires_grad_(True)
        with self.autocast():
            old_b, old_a = self.pool_B.query(fake_b), self.pool_A.query(fake_a)
            r_b, f_b = self.D_B(real_b).float(), self.D_B(old_b).float()
            r_a, f_a = self.D_A(real_a).float(), self.D_A(old_a).float()
            loss_d_b = 0.5 * (F.mse_loss(r_b, torch.ones_like(r_b)) + F.mse_loss(f_b, torch.zeros_like(f_b)))
            loss_d_a = 0.5 * (F.mse_loss(r_a, torch.ones_like(r_a)) + F.mse_loss(f_a, torch.zeros_like(f_a)))
        stats["Loss/D/loss"] = self.update(loss_d_a + loss_d_b, self.opt_D, "D")
        stats["Loss/D/A"], stats["Loss/D/B"] = float(loss_d_a.detach()), float(loss_d_b.detach())
        self.step_count += 1
        return stats

    def perceptual_loss(self, real_a, real_b, fake_a, fake_b, rec_a, rec_b) -> torch.Tensor:
        """The weighted perceptual term: reconstructions vs inputs ('cycle'), or translations vs inputs,
        each seen by the network of the domain the compared image is in."""
        if self.options.perceptual_target == "cycle":
            loss = self.perceptual(rec_a, real_a, "A") + self.perceptual(rec_b, real_b, "B")
        else:
            loss = self.perceptual(fake_b, real_a, "B") + self.perceptual(fake_a, real_b, "A")
        return loss * self.options.perceptual_weight

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """Rows: A, A->B, B, B->A for four fixed training images of each domain."""
        if self.fixed_a is None:
            return np.zeros((8, 8, 3), np.uint8)
        self.model.eval()
        rows = [self.fixed_a, self.model.translate(self.fixed_a, "AB"),
                self.fixed_b, self.model.translate(self.fixed_b, "BA")]
        self.model.train()
        return make_grid(to_uint8(torch.cat(rows)), cols=len(self.fixed_a))

    def extra_state(self):
        return {"pool_A": self.pool_A.state(), "pool_B": self.pool_B.state(),
                "fixed_a": self.fixed_a.cpu() if self.fixed_a is not None else torch.zeros(0),
                "fixed_b": self.fixed_b.cpu() if self.fixed_b is not None else torch.zeros(0)}

    def load_extra_state(self, state):
        self.pool_A.load(state["pool_A"], self.device)
        self.pool_B.load(state["pool_B"], self.device)
        if state["fixed_a"].numel():
            self.fixed_a, self.fixed_b = state["fixed_a"].to(self.device), state["fixed_b"].to(self.device)
