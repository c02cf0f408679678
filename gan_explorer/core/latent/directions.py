"""Discovered directions in the space `synthesize` reads (W; Z itself for families without a mapping).

Härkönen et al. 2020 (GANSpace): principal components of w over many samples. For a generator
without a mapping network (DCGAN, GAN, VAE) w is z, an isotropic Gaussian whose principal
components mean nothing; GANSpace then takes PCA of the activations after the generator's first
non-linearity and transfers each component back to z by linear regression (z ~ coordinates).
Shen & Zhou 2021 (SeFa): eigenvectors of A^T A, where A stacks the weights that act on the latent
first: the style affine weights of every synthesis layer (StyleGAN), or the first layer fed with
the latent (DCGAN's 1x1 -> 4x4 transposed conv, the MLP's first linear layer, the VAE / autoencoder
decoder's projection). Moving the latent along them changes that first layer's output the most.
Every method returns unit directions [k, w_dim] and the standard deviation of sampled w along each,
so sliders move in units of sigma.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gan_explorer.core.errors import GanExplorerError

class _StopForward(Exception):
    """Raised by a hook once the activations it wants are captured."""


ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh)


def _sample_ws(model, samples: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, model.z_dim, generator=g).to(model._device())
    return model.map(z)


def _sigma_along(w: np.ndarray, directions: np.ndarray) -> np.ndarray:
    return ((w - w.mean(0)) @ directions.T).std(axis=0).astype(np.float32)


def _check_latent_model(model):
    if getattr(model.capabilities, "is_translation", False):
        raise GanExplorerError(f"the {model.family} family translates images; it has no latent directions")


@torch.no_grad()
def pca_directions(model, k: int = 20, samples: int = 5000, seed: int = 0):
    """GANSpace: PCA of sampled w; for families without a mapping, of early activations, moved to z."""
    _check_latent_model(model)
    if not model.capabilities.has_mapping:
        return activation_pca_directions(model, k=k, samples=min(samples, 3000), seed=seed)
    w = _sample_ws(model, samples, seed)[:, 0].cpu().double().numpy()
    w = w - w.mean(axis=0)
    _, s, vt = np.linalg.svd(w, full_matrices=False)
    k = min(k, vt.shape[0])
    sigma = s[:k] / np.sqrt(max(samples - 1, 1))
    return vt[:k].astype(np.float32), sigma.astype(np.float32)


def first_activation(model) -> str | None:
    """Name of the first non-linearity `synthesize` runs (GANSpace's early feature layer), or None."""
    fired: list[str] = []
    names = {m: n for n, m in model.named_modules()}
    hooks = [m.register_forward_hook(lambda mod, _i, _o: fired.append(names[mod]))
             for m in model.modules() if isinstance(m, ACTIVATIONS)]
    try:
        with torch.no_grad():
            model.synthesize(model.map(torch.zeros(2, model.z_dim, device=model._device())))
    finally:
        for h in hooks:
            h.remove()
    return fired[0] if fired else None


@torch.no_grad()
def activation_pca_directions(model, k: int = 20, samples: int = 3000, seed: int = 0, layer: str | None = None):
    """GANSpace for a generator fed with z directly (Härkönen et al. 2020, section 2 for BigGAN).

    PCA of the activations y(z) at `layer` (default: after the first non-linearity), then for
    each component the z direction that best predicts its coordinate: regress z on the
    coordinates (least squares) and normalise. Returns unit directions in z and sigma (the
    spread of sampled z along each, about 1 for a standard normal z)."""
    _check_latent_model(model)
    layer = layer or first_activation(model)
    if layer is None:
        raise GanExplorerError(f"PCA directions: the {model.family} generator has no non-linearity to take PCA of")
    module = dict(model.named_modules())[layer]
    captured = []

    def capture_and_stop(_module, _inputs, out):
        captured.append(out.detach().flatten(1).float().cpu())
        raise _StopForward  # the layers after it are not needed

    hook = module.register_forward_hook(capture_and_stop)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, model.z_dim, generator=g)
    try:
        for i in range(0, samples, 256):
            try:
                model.synthesize(model.map(z[i:i + 256].to(model._device())))
            except _StopForward:
                pass
    finally:
        hook.remove()
    y = torch.cat(captured)
    y = y - y.mean(0)
    k = min(k, model.z_dim, y.shape[1])
    _, _, v = torch.svd_lowrank(y, q=min(k + 10, min(y.shape)), niter=4)
    coords = (y @ v[:, :k]).double().numpy()                    # [samples, k]
    u, *_ = np.linalg.lstsq(coords, z.double().numpy(), rcond=None)  # coords @ u ~ z; u: [k, z_dim]
    directions = u / np.linalg.norm(u, axis=1, keepdims=True).clip(1e-12)
    w = model.map(z.to(model._device()))[:, 0].cpu().double().numpy()
    if w.shape[1] > directions.shape[1]:
        # A conditional model's w is concat(z, c): the directions move z and leave the condition alone.
        directions = np.pad(directions, ((0, 0), (0, w.shape[1] - directions.shape[1])))
    return directions.astype(np.float32), _sigma_along(w, directions)


def style_weight_matrix(model) -> np.ndarray | None:
    """The stacked affine weights (styles = A w + b) of every synthesis layer, or None."""
    blocks = [m.weight for name, m in model.named_modules() if name.endswith("affine") and hasattr(m, "weight")
              and name.startswith("synthesis")]
    if not blocks:
        return None
    return torch.cat([b.detach().cpu().double() for b in blocks]).numpy()


def first_layer_matrix(model) -> np.ndarray | None:
    """A [outputs, w_dim] of the first linear layer `synthesize` feeds the latent to, or None.

    Found by running synthesize once: the first Linear with w_dim inputs, or ConvTranspose2d with
    w_dim input channels (DCGAN's projection of z, seen as a 1x1 map, to 4x4)."""
    fired: list[nn.Module] = []
    w_dim = model.w_dim
    candidates = [m for m in model.modules()
                  if (isinstance(m, nn.Linear) and m.in_features == w_dim)
                  or (isinstance(m, nn.ConvTranspose2d) and m.in_channels == w_dim)]
    hooks = [m.register_forward_hook(lambda mod, _i, _o: fired.append(mod)) for m in candidates]
    try:
        with torch.no_grad():
            model.synthesize(model.map(torch.zeros(2, model.z_dim, device=model._device())))
    finally:
        for h in hooks:
            h.remove()
    if not fired:
        return None
    weight = fired[0].weight.detach().cpu().double()
    if isinstance(fired[0], nn.ConvTranspose2d):  # [in, out, kh, kw]: output (c, i, j) = sum_in W[in, c, i, j] z_in
        return weight.reshape(weight.shape[0], -1).T.numpy()
    return weight.numpy()


@torch.no_grad()
def sefa_directions(model, k: int = 20, samples: int = 2000, seed: int = 0):
    """SeFa: the top eigenvectors of A^T A (rows of A normalised), A = style weights or the first layer."""
    _check_latent_model(model)
    a = style_weight_matrix(model)
    if a is None:
        a = first_layer_matrix(model)
    if a is None:
        raise GanExplorerError(f"SeFa needs style layers or a first linear layer; the {model.family} family has neither")
    conditioned = not model.capabilities.has_mapping and a.shape[1] > model.z_dim
    if conditioned:  # w is concat(z, c): factorise the z columns, leave the condition alone
        a = a[:, :model.z_dim]
    a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-8)
    eigenvalues, vectors = np.linalg.eigh(a.T @ a)
    order = np.argsort(eigenvalues)[::-1][:k]
    directions = vectors[:, order].T.astype(np.float32)
    if conditioned:
        directions = np.pad(directions, ((0, 0), (0, model.w_dim - model.z_dim)))
    # Spread of sampled w along each direction, so sliders move in units of sigma.
    w = _sample_ws(model, samples, seed)[:, 0].cpu().numpy()
    return directions, _sigma_along(w, directions)


METHODS = {"pca": pca_directions, "sefa": sefa_directions}
