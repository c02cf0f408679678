"""Project a picture into a model's latent space by optimisation.

The method follows the StyleGAN2 projector described by Karras et al. (2020, appendix D) and
Image2StyleGAN (Abdal et al. 2019), implemented from the papers:

- ``w``: one w shared by every layer, starting from w_avg (or a learned encoder's guess);
  ``w+``: one w per layer, starting from the W result (a W phase first, then W+);
  ``z``: z through the mapping network, or the input of a family without one (DCGAN, GAN),
  starting from the best of a few candidates (the prior's mean among them where z is the input).
  VAE and autoencoder start from their own encoder in every space.
- Adam with a learning rate that ramps up over the first 5 % of a phase and down (cosine) over
  its last 25 %; Gaussian noise on w early on (5 % of w's spread, decaying to 0 at 75 %), which
  keeps the optimiser from settling in the first basin it meets.
- StyleGAN per-layer noise: ``noise="const"`` keeps the model's own noise images, the ones every
  re-render uses (the window, ``generate --latent``), so the saved latent reproduces the
  reconstruction exactly; ``noise="optimize"`` optimises them too (Karras et al.), starting
  from the model's noise, renormalised after each step and penalised for spatial
  autocorrelation at every scale so that they cannot smuggle the picture in. The result then
  holds the noise, and a re-render without it differs (measured: see the README).
- The loss is a named option (core/latent/losses.py: pixel, structural, perceptual).

Many pictures project together in one batch (a folder, or a table of figures): every term of the
loss is per picture, Adam is per element and the w noise is one draw shared by the batch, so each
picture ends where it would alone (to float rounding; a test holds this) at a fraction of the
cost per picture.

`project` reports progress as ``progress(step, total, loss, preview)`` with a uint8 preview of the
current reconstruction every ``preview_every`` steps (None otherwise), and checks
``should_stop()`` before every step, raising ``Cancelled`` (one step of a 64 px model takes
~0.1 s on a CPU core, so a cancel lands well within a second).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import ConfigError, GanExplorerError, escape_text
from gan_explorer.core.errors import Cancelled
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.latent.losses import downsample2, make_loss, psnr, psnr_uint8

SPACES = ("w", "w+", "z")
NOISE_OPTIONS = ("const", "optimize")
MAX_PICTURE_BYTES = 256 * 1024**2  # a photo is far below this; /dev/zero or a disk image is not

__all__ = ["Cancelled", "ProjectionConfig", "ProjectionResult", "SPACES", "load_target", "project"]


@dataclass(frozen=True)
class ProjectionConfig:
    space: str = "w+"                    # w, w+ or z (see the module docstring)
    steps: int = 500                     # Adam steps in all (w+: a W phase, then W+)
    loss: str = "auto"                   # l2, l1, structural, perceptual or auto (losses.py)
    noise: str = "const"                 # StyleGAN noise: the model's own (reproducible) or optimised
    learning_rate: float = 0.1           # Adam's peak rate; Karras et al. use 0.1 for w
    lr_rampup: float = 0.05              # fraction of a phase over which the rate rises from 0
    lr_rampdown: float = 0.25            # fraction at a phase's end over which it falls to 0 (cosine)
    w_noise: float = 0.05                # noise on w at the start, as a fraction of w's spread
    w_noise_ramp: float = 0.75           # fraction of a phase after which w is noise-free
    noise_regularize: float = 1e5        # weight of the noise maps' autocorrelation penalty
    w_phase: float = 0.5                 # w+: fraction of the steps spent in W before W+
    z_candidates: int = 16               # z space: start from the best of this many samples
    preview_every: int = 10              # a preview image every this many steps (0: only the last)
    seed: int = 0                        # the w noise and the z candidates

    def validate(self) -> "ProjectionConfig":
        if self.space not in SPACES:
            raise ConfigError(f"space {self.space!r}: must be one of {', '.join(SPACES)}")
        if self.noise not in NOISE_OPTIONS:
            raise ConfigError(f"noise {self.noise!r}: must be one of {', '.join(NOISE_OPTIONS)}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= 1_000_000:
            raise ConfigError(f"steps {self.steps!r}: must be an integer from 1 to 1000000")
        for name in ("learning_rate", "lr_rampup", "lr_rampdown", "w_noise", "w_noise_ramp", "noise_regularize",
                     "w_phase"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} {value!r}: must be a finite number >= 0")
        if self.w_phase >= 1:
            raise ConfigError(f"w_phase {self.w_phase}: must be below 1 (the fraction of steps spent in W)")
        if not isinstance(self.z_candidates, int) or not 1 <= self.z_candidates <= 4096:
            raise ConfigError(f"z_candidates {self.z_candidates!r}: must be an integer from 1 to 4096")
        return self


@dataclass
class ProjectionResult:
    """What a projection found, as plain arrays (n pictures projected together)."""

    ws: np.ndarray                      # [n, num_ws, w_dim] float32: what `generate --latent` renders
    images: np.ndarray                  # [n, H, W, C] uint8: the reconstruction (ws with `noise`)
    target: np.ndarray                  # [n, H, W, C] uint8: the picture as the model sees it
    psnr: np.ndarray                    # [n] dB of `images` against `target`
    start_psnr: np.ndarray              # [n] dB of the starting point
    loss_history: np.ndarray            # [steps, n] the loss before each step
    psnr_history: np.ndarray            # [steps, n] dB of the image each step rendered (with its w noise)
    space: str = "w+"
    loss: str = ""                      # the loss that ran (auto resolved)
    start: str = ""                     # "w_avg", "encoder", "model encoder", "z candidates"
    z: np.ndarray | None = None         # [n, z_dim] for space z
    noise: list[np.ndarray] | None = None  # optimised noise per noise layer [n, 1, H, W]; None: the model's
    psnr_const_noise: np.ndarray | None = None  # [n] dB re-rendered with the model's noise (noise="optimize")
    seconds: float = 0.0
    steps: int = 0

    def steps_to_reach(self, db: float) -> np.ndarray:
        """[n] the first step whose image reached `db` (steps + 1 where it never did)."""
        reached = self.psnr_history >= db
        first = np.where(reached.any(axis=0), reached.argmax(axis=0), len(self.psnr_history))
        return first + 1


# --- the picture ---------------------------------------------------------------------------------
MAX_FOLDER_PICTURES = 10_000  # one folder projected at once (at 500 steps, days of work already)
MAX_BATCH_PIXELS = 2**22  # pictures x pixels optimised together: 4 at 1024 px, 64 at 256 px, 1024 at 64 px


def largest_batch(resolution: int) -> int:
    """How many pictures of `resolution` px one batch may project together (at most 4096)."""
    return max(1, min(4096, MAX_BATCH_PIXELS // (int(resolution) ** 2)))


def check_batch(count: int, resolution: int) -> None:
    """ConfigError, one line, where `count` pictures at `resolution` would not fit one batch (its
    activations and gradients grow with both: 4096 pictures at 256 px end in an allocation error)."""
    if count > largest_batch(resolution):
        raise ConfigError(f"{count:,} pictures of {resolution} px in one batch: at most {largest_batch(resolution):,} "
                          f"at this resolution (--batch)")


def folder_pictures(folder, suffixes, limit: int = MAX_FOLDER_PICTURES) -> list[Path]:
    """The pictures of `folder` (regular files with one of `suffixes`, not hidden), sorted; counted
    while the folder is listed, so a folder of a million files is one ConfigError line at once."""
    from gan_explorer.core.io.reading import is_regular_file

    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                path = Path(entry.path)
                if path.suffix.lower() in suffixes and not entry.name.startswith(".") and is_regular_file(path):
                    found.append(path)
                    if len(found) > limit:
                        raise ConfigError(f"{escape_text(os.fspath(folder), 300)}: more than {limit:,} pictures; "
                                          f"project at most {limit:,} at once (split the folder)")
    except OSError as exc:
        raise GanExplorerError(f"{escape_text(os.fspath(folder), 300)}: cannot list "
                               f"({escape_text(exc.strerror or str(exc), 200)})") from None
    return sorted(found)


def check_pictures(paths) -> None:
    """Each picture readable and of a known format, without decoding its pixels or keeping it:
    an unreadable one is one line before any slow work (they are decoded a batch at a time later)."""
    from gan_explorer.core.io.pictures import probe_picture, read_picture_file

    for path in paths:
        try:
            probe_picture(read_picture_file(path, MAX_PICTURE_BYTES))
        except ValueError as exc:
            raise GanExplorerError(f"{escape_text(os.fspath(path), 400)}: not a readable picture "
                                   f"({escape_text(str(exc), 200)})") from None


def load_target(picture, resolution: int, channels: int = 3, crop=None) -> torch.Tensor:
    """A picture -> [n, C, R, R] float32 in [-1, 1] at the model's resolution.

    `picture`: a path (decoded by the dataset decoder: explicit formats, any mode, broken files
    are one line), an HWC (or NHWC) uint8 array, or a tensor [C, H, W] / [n, C, H, W] in [-1, 1]
    at the model's resolution. `crop`: (left, top, right, bottom) in pixels of the picture; without
    it the picture is centre-cropped to a square. Then it is resized to the model's resolution.
    """
    from PIL import Image

    from gan_explorer.core.data.folder import decode_image, fit_square
    from gan_explorer.core.io.pictures import read_picture_file

    if isinstance(picture, torch.Tensor):
        x = picture.detach().to(torch.float32)
        x = x[None] if x.ndim == 3 else x
        if x.ndim != 4 or x.shape[1:] != (channels, resolution, resolution):
            raise ConfigError(f"target tensor has shape {list(x.shape)}, the model needs "
                              f"[n, {channels}, {resolution}, {resolution}] in [-1, 1]")
        if crop is not None:
            raise ConfigError("a crop box applies to pictures, not to tensors already at the model's resolution")
        return x
    if isinstance(picture, (str, os.PathLike)):
        path = Path(picture)
        name = escape_text(os.fspath(path), 400)
        try:
            image = decode_image(read_picture_file(path, MAX_PICTURE_BYTES), str(path), channels)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise GanExplorerError(f"{name}: not a readable picture ({escape_text(reason, 200)})") from None
        images = [image]
    else:
        array = np.asarray(picture)
        if array.dtype != np.uint8 or array.ndim not in (2, 3, 4):
            raise ConfigError(f"target array: expected HWC or NHWC uint8, got {array.dtype} {list(array.shape)}")
        array = array[None] if array.ndim < 4 else array
        images = []
        for a in array:
            a = a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a
            images.append(Image.fromarray(a).convert("RGB" if channels == 3 else "L"))
    out = []
    for image in images:
        if crop is not None:
            image = image.crop(_crop_box(crop, image.size))
        fitted = np.asarray(fit_square(image, resolution))
        out.append(fitted[:, :, None] if fitted.ndim == 2 else fitted)
    x = torch.from_numpy(np.stack(out).copy()).permute(0, 3, 1, 2).to(torch.float32)
    return x / 127.5 - 1


def _crop_box(crop, size) -> tuple[int, int, int, int]:
    try:
        left, top, right, bottom = (int(round(float(v))) for v in crop)
    except (TypeError, ValueError):
        raise ConfigError(f"crop {crop!r}: expected left, top, right, bottom in pixels") from None
    w, h = size
    if not (0 <= left < right <= w and 0 <= top < bottom <= h):
        raise ConfigError(f"crop {left},{top},{right},{bottom}: must lie inside the {w}x{h} picture "
                          f"with left < right and top < bottom")
    return left, top, right, bottom


# --- the model's side ----------------------------------------------------------------------------
def _noise_layers(model):
    """[(plan step, layer)] of a StyleGAN2 synthesis whose noise images can be given from outside."""
    synthesis = getattr(model, "synthesis", None)
    if synthesis is None or not hasattr(synthesis, "noise_layers") or not model.capabilities.has_noise:
        return []
    return synthesis.noise_layers()


def _synthesize(model, ws, noises):
    if noises:
        return model.synthesis.run(ws, noises=noises)
    return model.synthesize(ws, noise_mode="const")


def _noise_regularization(noises) -> torch.Tensor:
    """Karras et al.: squared autocorrelation of each noise image with itself shifted by one pixel,
    in x and y, at every scale of its pyramid down to 8 px."""
    total = 0.0
    for noise in noises:
        x = noise
        while True:
            total = total + (x * torch.roll(x, 1, dims=3)).mean(dim=(1, 2, 3)).square()
            total = total + (x * torch.roll(x, 1, dims=2)).mean(dim=(1, 2, 3)).square()
            if x.shape[2] <= 8:
                break
            x = downsample2(x)
    return total


def _lr_schedule(t: float, config: ProjectionConfig) -> float:
    ramp = min(1.0, (1.0 - t) / config.lr_rampdown) if config.lr_rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    if config.lr_rampup > 0:
        ramp *= min(1.0, t / config.lr_rampup)
    return config.learning_rate * ramp


@torch.no_grad()
def w_spread(model, samples: int = 2000, seed: int = 123) -> float:
    """sqrt(E|w - w_avg|^2) over sampled w: the scale of the w noise (Karras et al.'s w_std)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, model.z_dim, generator=g).to(model._device())
    w = model.map(z)[:, 0]
    return float((w - model.w_avg.to(w)).square().sum(dim=1).mean().sqrt())


# --- the optimisation ----------------------------------------------------------------------------
def project(model, target, space: str | None = None, steps: int | None = None, loss: str | None = None, *,
            config: ProjectionConfig | None = None, encoder=None, crop=None, progress=None, should_stop=None,
            start_ws: torch.Tensor | None = None, **options) -> ProjectionResult:
    """Project `target` (see load_target) into `model`'s latent space; see the module docstring.

    encoder: a LatentEncoder (core/latent/encoder.py) whose guess is the start (W and W+);
    start_ws: an explicit start [n, num_ws, w_dim] instead. `space`, `steps`, `loss` and any
    other ProjectionConfig field given as a keyword override `config`.
    """
    overrides = {k: v for k, v in dict(space=space, steps=steps, loss=loss, **options).items() if v is not None}
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(ProjectionConfig)})
    if unknown:
        raise ConfigError(f"unknown projection option(s): {', '.join(unknown)}")
    config = dataclasses.replace(config or ProjectionConfig(), **overrides).validate()
    if model.capabilities.is_translation:
        raise GanExplorerError(f"{model.family} translates pictures; it has no latent space to project into")
    space = config.space
    if space == "z" and model.family in ("vae", "autoencoder"):
        space = "w"  # their codes are the latent the decoder takes
    device = model._device()
    target = load_target(target, model.img_resolution, model.img_channels, crop)
    check_batch(len(target), model.img_resolution)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            return _project(model, target.to(device), config, space, encoder, start_ws, progress,
                            should_stop or (lambda: False))
    finally:
        model.train(was_training)


def _check_stop(should_stop):
    if should_stop():
        raise Cancelled("projection cancelled")


def _project(model, target, config, space, encoder, start_ws, progress, should_stop) -> ProjectionResult:
    t0 = time.perf_counter()
    n = target.shape[0]
    device = target.device
    num_ws = model.num_ws
    loss_fn = make_loss(config.loss, device).to(device)
    loss_name = getattr(loss_fn, "name", config.loss)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    layers = _noise_layers(model) if config.noise == "optimize" else []
    noises = {k: layer.noise_const.detach().to(device).expand(n, 1, *layer.noise_const.shape).clone()
              .requires_grad_(True) for k, layer in layers}
    spread = w_spread(model) if config.w_noise > 0 and space != "z" else 0.0

    def render(ws):
        return _synthesize(model, ws, noises)

    # The start.
    z_var = None
    with torch.no_grad():
        if start_ws is not None:
            start = start_ws.detach().to(device, torch.float32).expand(n, num_ws, model.w_dim).clone()
            start_name = "given"
        elif model.capabilities.has_encoder and model.family in ("vae", "autoencoder"):
            start, start_name = model.encode(target).detach().float(), "model encoder"
        elif encoder is not None and space != "z":
            start, start_name = encoder.predict(target).detach().to(device, torch.float32), "encoder"
        elif space == "z":
            z_var, start_name = _best_z(model, target, loss_fn, config, generator), "z candidates"
            start = model.map(z_var)
        else:
            start, start_name = model.w_avg.detach().float().to(device).expand(n, num_ws, -1).clone(), "w_avg"
        start_psnr = psnr(render(start), target)

    total = config.steps
    phases = []  # (variable kind, steps)
    if space == "w+" and num_ws > 1:
        w_steps = int(round(total * config.w_phase))
        if start_name in ("encoder", "given"):
            w_steps = 0  # the guess is already per layer: go straight to W+
        phases = [("w", w_steps), ("w+", total - w_steps)]
    else:
        phases = [(space if space == "z" else "w", total)]
    loss_history = np.zeros((total, n), np.float32)
    psnr_history = np.zeros((total, n), np.float32)
    ws = start
    step = 0
    # W+ after a W phase, or any phase from an encoder's guess, starts near its answer: no w noise
    # to shake it loose from there.
    refining = start_name in ("encoder", "model encoder", "given")
    for kind, phase_steps in phases:
        if phase_steps <= 0:
            continue
        if kind == "z":
            variable = z_var.detach().clone().requires_grad_(True)
            build = lambda v: model.map(v)  # noqa: E731
        elif kind == "w":
            variable = ws.detach().mean(dim=1, keepdim=True).clone().requires_grad_(True)
            build = lambda v: v.expand(-1, num_ws, -1)  # noqa: E731
        else:
            variable = ws.detach().clone().requires_grad_(True)
            build = lambda v: v  # noqa: E731
        params = [variable, *noises.values()]
        optimizer = torch.optim.Adam(params, betas=(0.9, 0.999), lr=config.learning_rate)
        for k in range(phase_steps):
            _check_stop(should_stop)
            t = k / phase_steps
            for group in optimizer.param_groups:
                group["lr"] = _lr_schedule(t, config)
            current = build(variable)
            noise_scale = spread * config.w_noise * max(0.0, 1.0 - t / config.w_noise_ramp) ** 2 \
                if config.w_noise_ramp > 0 and kind != "z" and not refining else 0.0
            if noise_scale > 0:  # one draw shared by the batch: each target's path is the one it takes alone
                current = current + torch.randn(current.shape[1:], generator=generator).to(device) * noise_scale
            images = render(current)
            per_image = loss_fn(images, target)
            objective = per_image.sum()
            if noises:
                objective = objective + config.noise_regularize * _noise_regularization(noises.values()).sum()
            grads = torch.autograd.grad(objective, params)
            for p, g in zip(params, grads):
                p.grad = g
            optimizer.step()
            with torch.no_grad():
                for noise in noises.values():  # Karras et al.: keep each noise image N(0, 1)
                    noise.sub_(noise.mean(dim=(2, 3), keepdim=True))
                    noise.mul_(noise.square().mean(dim=(2, 3), keepdim=True).rsqrt())
                loss_history[step] = per_image.detach().cpu().numpy()
                psnr_history[step] = psnr(images.detach(), target).cpu().numpy()
            step += 1
            if progress is not None:
                last = step == total
                show = last or (config.preview_every > 0 and step % config.preview_every == 0)
                progress(step, total, float(per_image.detach().mean()), to_uint8(images[:1])[0] if show else None)
        refining = True
        with torch.no_grad():
            ws = build(variable).detach()
            if kind == "z":
                z_var = variable.detach()
    _check_stop(should_stop)
    with torch.no_grad():
        final = render(ws)
        images = to_uint8(final)
        target_uint8 = to_uint8(target)
        psnr_values = np.array([psnr_uint8(a, b) for a, b in zip(images, target_uint8)], np.float32)
        psnr_const = None
        if noises:
            plain = to_uint8(model.synthesize(ws, noise_mode="const"))
            psnr_const = np.array([psnr_uint8(a, b) for a, b in zip(plain, target_uint8)], np.float32)
    return ProjectionResult(
        ws=ws.cpu().numpy().astype(np.float32), images=images, target=target_uint8, psnr=psnr_values,
        start_psnr=start_psnr.cpu().numpy(), loss_history=loss_history, psnr_history=psnr_history,
        space=config.space, loss=loss_name, start=start_name,
        z=z_var.cpu().numpy() if z_var is not None else None,
        noise=[v.detach().cpu().numpy() for v in noises.values()] if noises else None,
        psnr_const_noise=psnr_const, seconds=time.perf_counter() - t0, steps=total)


@torch.no_grad()
def _best_z(model, target, loss_fn, config, generator) -> torch.Tensor:
    """z space: for each target, the best of `z_candidates` samples (z = 0, the prior's mean,
    among them where z is the generator's own input)."""
    device = target.device
    candidates = torch.randn(config.z_candidates, model.z_dim, generator=generator).to(device)
    if not model.capabilities.has_mapping:
        candidates[0] = 0
    images = torch.cat([model.synthesize(model.map(candidates[i:i + 16]), noise_mode="const")
                        for i in range(0, len(candidates), 16)])
    best = []
    for t in target:
        losses = loss_fn(images, t[None].expand_as(images))
        best.append(candidates[int(losses.argmin())])
    return torch.stack(best)
