"""The original GAN / DCGAN objective (BCE, non-saturating G loss) and WGAN-GP."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_explorer.core.training.trainers.base import Trainer


class AdversarialTrainer(Trainer):
    """A generator (the model) and the discriminator its family makes, each with Adam(betas)."""

    betas = (0.5, 0.999)

    def __init__(self, options, device, dist):
        super().__init__(options, device, dist)
        self.G = self.model
        self.D = self.model.make_discriminator().to(device)
        self.opt_G = self._adam(self.G.parameters(), options.lr, self.betas)
        self.opt_D = self._adam(self.D.parameters(), options.lr, self.betas)

    def networks(self):
        return {"G": self.G, "D": self.D}

    # A conditional pair is given c (the real batch's own conditions), an unconditional one never.
    def _g(self, z, c):
        return self.G(z) if c is None else self.G(z, c=c)

    def _d(self, images, c):
        return self.D(images) if c is None else self.D(images, c=c)

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}


class GANTrainer(AdversarialTrainer):
    """Goodfellow et al. 2014 with the non-saturating generator loss; Adam(2e-4, 0.5) as DCGAN."""

    def train_step(self, real, real_b=None, c=None):
        self.G.train()
        self.D.train()
        z = self.random_z(real.shape[0])
        with self.autocast():
            fake = self._g(z, c)
            d_real = self._d(self.augment(real), c).float()
            d_fake = self._d(self.augment(fake.detach()), c).float()
            loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        stats = {"Loss/D/loss": self.update(loss_d, self.opt_D, "D"),
                 "Loss/scores/real": float(d_real.detach().mean()), "Loss/scores/fake": float(d_fake.detach().mean())}
        self.D.requires_grad_(False)
        try:
            with self.autocast():
                g_fake = self._d(self.augment(fake), c).float()
                loss_g = F.binary_cross_entropy_with_logits(g_fake, torch.ones_like(g_fake))
            stats["Loss/G/loss"] = self.update(loss_g, self.opt_G, "G")
        finally:
            self.D.requires_grad_(True)
        self.step_count += 1
        return stats


class WGANGPTrainer(AdversarialTrainer):
    """Gulrajani et al. 2017: critic with gradient penalty, n_critic critic steps per G step."""

    betas = (0.0, 0.9)  # the paper's Adam settings for the critic and the generator

    def train_step(self, real, real_b=None, c=None):
        self.G.train()
        self.D.train()
        n = real.shape[0]
        with torch.no_grad():
            fake = self._g(self.random_z(n), c)
        d_real = self._d(self.augment(real), c).mean()
        d_fake = self._d(self.augment(fake), c).mean()
        eps = torch.rand(n, 1, 1, 1, device=self.device)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grads,) = torch.autograd.grad(self._d(mixed, c).sum(), mixed, create_graph=True)
        gp = (grads.flatten(1).norm(dim=1) - 1).square().mean()
        loss_d = d_fake - d_real + self.options.gp_lambda * gp
        stats = {"Loss/D/loss": self.update(loss_d, self.opt_D, "D"), "Loss/D/gp": float(gp.detach()),
                 "Loss/D/wdist": float((d_real - d_fake).detach())}
        if self.step_count % self.options.n_critic == 0:
            self.D.requires_grad_(False)
            try:
                with self.autocast():
                    loss_g = -self._d(self.augment(self._g(self.random_z(n), c)), c).float().mean()
                stats["Loss/G/loss"] = self.update(loss_g, self.opt_G, "G")
            finally:
                self.D.requires_grad_(True)
        self.step_count += 1
        return stats
