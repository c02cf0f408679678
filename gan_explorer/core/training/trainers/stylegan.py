"""StyleGAN2 objective (Karras et al. 2020): non-saturating logistic loss, lazy R1 and
path-length regularisation, style-mixing regularisation, G EMA with ramp-up, ADA."""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

from gan_explorer.core.models.stylegan import StyleGANDiscriminator
from gan_explorer.core.training.augment import AdaptiveAugment
from gan_explorer.core.training.trainers.base import Trainer

G_REG_INTERVAL = 4   # path-length regularisation every 4 G steps (lazy regularisation)
D_REG_INTERVAL = 16  # R1 every 16 D steps


class StyleGANTrainer(Trainer):
    def __init__(self, options, device, dist):
        super().__init__(options, device, dist)
        self.G = self.model
        self.D = StyleGANDiscriminator(self.G.config).to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # Lazy regularisation: scale lr and betas so the effective schedule matches every-step reg.
        g_ratio = G_REG_INTERVAL / (G_REG_INTERVAL + 1)
        d_ratio = D_REG_INTERVAL / (D_REG_INTERVAL + 1)
        self.opt_G = self._adam(self.G.parameters(), options.lr * g_ratio, (0.0, 0.99 ** g_ratio))
        self.opt_D = self._adam(self.D.parameters(), options.lr * d_ratio, (0.0, 0.99 ** d_ratio))
        res = options.resolution
        self.r1_gamma = options.r1_gamma or 0.0002 * res * res / options.batch
        self.ema_kimg = options.ema_kimg or options.batch * 10 / 32
        self.pl_mean = torch.zeros([], device=device)
        self.ada = AdaptiveAugment(target=options.ada_target) if options.augment == "ada" else None
        self.cur_nimg = 0
        self._augment_sec = 0.0

    def networks(self):
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def _clock(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # kernels run asynchronously: time what they did
        return time.perf_counter()

    def augment(self, images):
        t0 = self._clock()
        out = self.ada(images) if self.ada is not None else super().augment(images)
        self._augment_sec += self._clock() - t0
        return out

    def _ws(self, n, update_emas=True, c=None):
        """Mapped ws for n random z under condition c (the real batch's; both mixed ws share it)."""
        z = self.random_z(n)
        ws = self.G.map(z, update_emas=update_emas, c=c)
        if self.options.style_mixing_prob > 0 and torch.rand([]) < self.options.style_mixing_prob:
            cutoff = int(torch.randint(1, ws.shape[1], []))
            ws2 = self.G.map(self.random_z(n), c=c)
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        return ws

    def _generate(self, n, update_emas=True, c=None):
        ws = self._ws(n, update_emas, c)
        return self.G.synthesize(ws, noise_mode="random"), ws

    def _d(self, images, c):
        return self.D(images) if c is None else self.D(images, c=c)

    def train_step(self, real, real_b=None, c=None):
        self.G.train()
        self.D.train()
        n = real.shape[0]
        stats = {}
        self._augment_sec = 0.0
        # Seconds per step of each phase, averaged over the tick's steps (a lazy regularisation
        # step counts in the steps without one as 0): where a step's time goes.
        timing = dict.fromkeys(("G_main", "G_pl", "D_main", "D_r1", "ema"), 0.0)
        t0 = self._clock()
        do_g_reg = self.step_count % G_REG_INTERVAL == 0 and self.options.pl_weight > 0
        do_d_reg = self.step_count % D_REG_INTERVAL == 0 and self.r1_gamma > 0

        # Gmain: make D call the fakes real.
        self.D.requires_grad_(False)
        try:
            with self.autocast():
                fake, _ = self._generate(n, c=c)
                loss_g = F.softplus(-self._d(self.augment(fake), c).float()).mean()
            stats["Loss/G/loss"] = self.update(loss_g, self.opt_G, "Gmain")
        finally:
            self.D.requires_grad_(True)
        timing["G_main"], t0 = self._clock() - t0, self._clock()

        # Greg: path-length regularisation on a half batch (fp32).
        if do_g_reg:
            pl_n = max(n // 2, 1)
            fake, ws = self._generate(pl_n, update_emas=False, c=None if c is None else c[:pl_n])
            pl_noise = torch.randn_like(fake) / np.sqrt(fake.shape[2] * fake.shape[3])
            (pl_grads,) = torch.autograd.grad((fake * pl_noise).sum(), ws, create_graph=True)
            pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
            pl_mean = self.pl_mean.lerp(pl_lengths.mean().detach(), 0.01)
            pl_penalty = (pl_lengths - pl_mean).square().mean()
            # Scaled by the interval: applied every G_REG_INTERVAL steps, it weighs as much as every step.
            loss = pl_penalty * self.options.pl_weight * G_REG_INTERVAL + fake[:, 0, 0, 0].mean() * 0
            self.update(loss, self.opt_G, "Greg")
            stats["Loss/G/pl_penalty"] = float(pl_penalty.detach())
            self.pl_mean.copy_(pl_mean.detach())
            timing["G_pl"], t0 = self._clock() - t0, self._clock()

        # Dmain: fakes down, reals up.
        with self.autocast():
            with torch.no_grad():
                fake, _ = self._generate(n, update_emas=False, c=c)
            d_fake = self._d(self.augment(fake), c).float()
            d_real = self._d(self.augment(real), c).float()
            loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        if self.ada is not None:
            self.ada.accumulate(d_real)
        stats["Loss/D/loss"] = self.update(loss_d, self.opt_D, "Dmain")
        stats["Loss/scores/real"] = float(d_real.detach().mean())
        stats["Loss/scores/fake"] = float(d_fake.detach().mean())
        stats["Loss/signs/real"] = float(d_real.detach().sign().mean())
        timing["D_main"], t0 = self._clock() - t0, self._clock()

        # Dreg: R1 on reals (fp32), every D_REG_INTERVAL steps.
        if do_d_reg:
            real_req = real.detach().requires_grad_(True)
            logits = self._d(self.augment(real_req), c)
            (r1_grads,) = torch.autograd.grad(logits.sum(), real_req, create_graph=True)
            r1 = r1_grads.square().sum([1, 2, 3]).mean()
            loss = r1 * (self.r1_gamma / 2) * D_REG_INTERVAL
            self.update(loss, self.opt_D, "Dreg")
            stats["Loss/D/r1"] = float(r1.detach())
            timing["D_r1"], t0 = self._clock() - t0, self._clock()

        self.update_ema(self.G_ema, self.G, self.ema_kimg, self.cur_nimg)
        timing["ema"] = self._clock() - t0
        for phase, sec in timing.items():
            stats[f"Timing/{phase}_sec"] = sec
        stats["Timing/augment_sec"] = self._augment_sec  # spent inside the phases above
        if self.ada is not None:
            sign_sum, count = self.dist.sum_scalars([self.ada._sign_sum, float(self.ada._count)], self.device)
            self.ada.update(self.options.batch, sign_sum, count)
            stats["Augment/p"] = self.ada.p
            stats["Augment/rt"] = self.ada.rt
        self.step_count += 1
        self.cur_nimg += self.options.batch
        return stats

    def export_model(self):
        return self.G_ema

    def extra_state(self):
        return {"pl_mean": self.pl_mean.detach().cpu(), "cur_nimg": self.cur_nimg,
                "ada": self.ada.state_dict() if self.ada is not None else {}}

    def load_extra_state(self, state):
        self.pl_mean.copy_(state["pl_mean"])
        self.cur_nimg = state["cur_nimg"]
        if self.ada is not None and state["ada"]:
            self.ada.load_state_dict(state["ada"])
