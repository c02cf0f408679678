"""VAE (ELBO with beta) and autoencoder (L1/L2) objectives.

The knob each objective trains with (--beta, --ae-loss) is written into the model's config
(VAEConfig.beta, AutoencoderConfig.loss) and read back from there, so a snapshot's config says
how it was really trained: a --beta 4 run's snapshots say beta 4.
"""

from __future__ import annotations

import torch

from gan_explorer.core.training.trainers.base import Trainer

# Gaussian decoder likelihood with this standard deviation (images in [-1, 1]). 0.2 weighted
# reconstruction so heavily (KL 86 nats at z = 32) that prior samples were mush; 0.4 gives
# blurry but recognisable faces at the same reconstruction error after 60 kimg on faces:32.
VAE_SIGMA = 0.4
CODE_RESERVOIR = 4096  # training codes kept to fit the autoencoder's sampling Gaussian


class SingleNetworkTrainer(Trainer):
    """One network (encoder + decoder) and one Adam optimiser."""

    def __init__(self, options, device, dist):
        super().__init__(options, device, dist)
        self.opt = self._adam(self.model.parameters(), options.lr, (0.9, 0.999))

    def networks(self):
        return {"model": self.model}

    def optimizers(self):
        return {"model": self.opt}


class VAETrainer(SingleNetworkTrainer):
    def __init__(self, options, device, dist):
        super().__init__(options, device, dist)
        self.model.config = self.model.config.replace(beta=float(options.beta))

    def train_step(self, real, real_b=None, c=None):
        self.model.train()
        with self.autocast():  # a CVAE encodes and decodes with the image's own condition
            recon, mu, logvar = self.model(real) if c is None else self.model(real, c=c)
        recon, mu, logvar = recon.float(), mu.float(), logvar.float()
        rec = 0.5 * ((recon - real) / VAE_SIGMA).square().sum([1, 2, 3]).mean()
        kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1).mean()
        loss = rec + self.model.config.beta * kl
        value = self.update(loss, self.opt, "elbo")
        self.step_count += 1
        return {"Loss/VAE/loss": value, "Loss/VAE/recon": float(rec.detach()), "Loss/VAE/kl": float(kl.detach()),
                "Loss/VAE/mse": float((recon - real).detach().square().mean())}


class AutoencoderTrainer(SingleNetworkTrainer):
    def __init__(self, options, device, dist):
        super().__init__(options, device, dist)
        self.model.config = self.model.config.replace(loss=options.ae_loss)
        self.codes = torch.zeros(0, self.model.z_dim)

    def train_step(self, real, real_b=None):
        self.model.train()
        with self.autocast():
            codes = self.model.encoder(real)
            recon = self.model.decoder(codes).float()
        diff = recon - real
        loss = diff.abs().mean() if self.model.config.loss == "l1" else diff.square().mean()
        value = self.update(loss, self.opt, "recon")
        self.codes = torch.cat([codes.detach().float().cpu(), self.codes])[:CODE_RESERVOIR]
        self.step_count += 1
        return {"Loss/AE/loss": value}

    def export_model(self):
        if len(self.codes) >= 2:
            self.model.fit_code_distribution(self.codes.to(self.device))
        return self.model

    def extra_state(self):
        return {"codes": self.codes}

    def load_extra_state(self, state):
        self.codes = state["codes"]
