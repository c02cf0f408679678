"""The four objectives of the lab, on D's raw outputs (logits for the GANs, critic values for WGANs).

saturating:     D maximises log D(x) + log(1 - D(G(z)));  G minimises log(1 - D(G(z)))
                (Goodfellow et al. 2014's minimax game: G's gradient vanishes where D is sure)
nonsaturating:  the same D;  G minimises -log D(G(z))  (the paper's practical fix)
wgan:           critic maximises f(x) - f(G(z)) with weights clipped; G minimises -f(G(z))
                (Arjovsky et al. 2017)
wgan-gp:        the WGAN critic plus lambda * (||grad f(x_hat)|| - 1)^2 on random interpolates
                of real and fake points instead of clipping (Gulrajani et al. 2017)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(loss: str, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    if loss in ("saturating", "nonsaturating"):
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # -log D(x) - log(1 - D(G(z)))
    return d_fake.mean() - d_real.mean()


def g_loss_per_point(loss: str, d_fake: torch.Tensor) -> torch.Tensor:
    if loss == "saturating":
        return -F.softplus(d_fake)   # log(1 - sigmoid(l)) = -softplus(l)
    if loss == "nonsaturating":
        return F.softplus(-d_fake)   # -log sigmoid(l)
    return -d_fake


def g_loss(loss: str, d_fake: torch.Tensor) -> torch.Tensor:
    return g_loss_per_point(loss, d_fake).mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mean of (||grad_x f(x_hat)|| - 1)^2 on x_hat uniformly between paired real and fake points."""
    eps = torch.rand(len(real), 1, generator=generator)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()
