"""DragGAN's optimisation, written from the paper (Pan et al. 2023, sec. 3.2 and 3.3).

Each step: render the current ws (features F with autograd, the image without); relocate every
handle by nearest-neighbour search of its template feature within a small square (point
tracking); stop when every handle is within `stop_distance` of its target or at the budget;
otherwise take one Adam step on the first `layers` W+ rows against the motion supervision loss

    sum_i sum_{q in disc(p_i, r1)} | F(q).detach() - F(q + d_i) |_1  +  mask_weight * |(F - F0) * (1 - M)|_1

where d_i is the unit vector from handle p_i toward target t_i: the features one small step ahead
are pulled toward the (detached) features here, so the content moves rather than blurs, and the
features outside the mask M stay those of the first render.

FreeDrag (Ling et al. 2023) replaced the fixed template (the feature under the handle in the
first render) by one that follows what the point has become; `template_momentum` > 0 blends the
tracked feature into the template each step (0: DragGAN's fixed template).
Points are image pixels, x to the right and y down, pixel centres at integer coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gan_explorer.core.drag.backbone import FeatureBackbone, backbone_for
from gan_explorer.core.errors import Cancelled, ConfigError, shorten

MAX_POINTS = 256        # handle/target pairs one drag takes
MAX_STEPS = 100_000     # step budget limit


@dataclass(frozen=True)
class DragConfig:
    layers: int = 3                         # first W+ rows optimised (DragGAN: 6; on the 64 px demo rows 4-6
                                            # already reach colour, and 3 moved 5 landmarks best); the rest stay fixed
    steps: int = 200                        # step budget (optimisation steps)
    learning_rate: float = 5e-3             # Adam learning rate on the W+ rows (DragGAN: 2e-3; on the 64 px
                                            # demo that needed over 60 steps for 4 px, this about 30)
    supervision_radius: float | None = None # r1, px: disc of points pulled one step on (None: from resolution)
    tracking_radius: int | None = None      # r2, px: half side of the square searched by tracking (None: from resolution)
    stop_distance: float | None = None      # px: done when every handle is this close (None: from resolution)
    mask_weight: float = 20.0               # lambda: how strongly features outside the mask keep their first values
    template_momentum: float = 0.0          # FreeDrag's adaptive template: share of the old template kept
                                            # each step is 1 - this (0: DragGAN's fixed template)
    feature_resolution: int | None = None   # StyleGAN2 block whose features drive loss and tracking (None: half the
                                            # image, a quarter at 64 px and below)
    latent_weight: float = 0.0              # pull of the optimised W+ rows toward their start (L2), keeping the rest of the face
    tracking: bool = True                   # False: handles stay where they started (the no-tracking baseline)

    def check(self, num_ws: int) -> "DragConfig":
        if not isinstance(self.layers, int) or not 1 <= self.layers <= num_ws:
            raise ConfigError(f"--layers {shorten(self.layers, 20)}: must be from 1 to {num_ws} (the model's W+ rows)")
        if not isinstance(self.steps, int) or not 0 <= self.steps <= MAX_STEPS:
            raise ConfigError(f"--steps {shorten(self.steps, 20)}: must be from 0 to {MAX_STEPS}")
        for name in ("learning_rate", "mask_weight", "latent_weight"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} {shorten(value, 20)}: must be a finite number >= 0")
        if not 0 <= self.template_momentum <= 1:
            raise ConfigError(f"template_momentum {shorten(self.template_momentum, 20)}: must be from 0 to 1")
        return self

    def radii(self, resolution: int) -> tuple[float, int, float]:
        """(r1, r2, stop distance) in image pixels. DragGAN's r1 = 3, r2 = 12 at 512 px, scaled with
        the image but never below what moved parts best at 64 px (r1 5: a disc of 81 points that
        covers a part, not a patch of skin; r2 6: a 13 x 13 search)."""
        r1 = self.supervision_radius if self.supervision_radius is not None else max(5.0, resolution * 3 / 512)
        r2 = self.tracking_radius if self.tracking_radius is not None else max(6, round(resolution * 12 / 512))
        stop = self.stop_distance if self.stop_distance is not None else max(1.0, resolution / 128)
        return float(r1), int(r2), float(stop)


@dataclass(frozen=True)
class DragStep:
    """What one step saw: the image of the ws it rendered and where tracking found the handles there."""

    index: int                  # steps taken before this render (0: the first render)
    image: torch.Tensor         # [1, C, H, W] in [-1, 1], the render of `ws`
    ws: torch.Tensor            # [1, num_ws, w_dim] detached, as rendered
    handles: np.ndarray         # [N, 2] float (x, y) tracked handle positions
    distances: np.ndarray       # [N] px from each handle to its target
    finished: bool              # every handle within stop distance, or the budget spent
    loss: float = float("nan")  # motion supervision loss of the step taken after this render


def check_points(handles, targets, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """[N, 2] float64 arrays of (x, y); ConfigError naming the bad point otherwise."""
    handles = np.asarray(handles, dtype=np.float64).reshape(-1, 2) if len(handles) else np.zeros((0, 2))
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2) if len(targets) else np.zeros((0, 2))
    if len(handles) != len(targets):
        raise ConfigError(f"{len(handles)} handle(s) and {len(targets)} target(s): each handle needs one target")
    if not len(handles):
        raise ConfigError("drag needs at least one handle and its target")
    if len(handles) > MAX_POINTS:
        raise ConfigError(f"{len(handles)} handles: at most {MAX_POINTS}")
    for kind, points in (("handle", handles), ("target", targets)):
        for i, (x, y) in enumerate(points):
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ConfigError(f"{kind} {i + 1} ({x:g}, {y:g}): not a finite point")
            if not (0 <= x <= resolution - 1 and 0 <= y <= resolution - 1):
                raise ConfigError(f"{kind} {i + 1} ({x:g}, {y:g}): outside the {resolution} x {resolution} image "
                                  f"(x and y from 0 to {resolution - 1})")
    return handles, targets


def sample(features: torch.Tensor, points: torch.Tensor, backbone_geometry) -> torch.Tensor:
    """Features [1, C, h, w] at image points [..., 2] (x, y), bilinearly: [..., C]."""
    h, w = features.shape[-2:]
    f = backbone_geometry(points)
    grid = torch.stack([(f[..., 0] + 0.5) / w * 2 - 1, (f[..., 1] + 0.5) / h * 2 - 1], dim=-1)
    shape = grid.shape[:-1]
    out = F.grid_sample(features, grid.reshape(1, 1, -1, 2).to(features.dtype), mode="bilinear",
                        padding_mode="border", align_corners=False)  # [1, C, 1, P]
    return out[0, :, 0].t().reshape(*shape, -1)


def track_points(features: torch.Tensor, templates: torch.Tensor, handles: np.ndarray, radius: int,
                 resolution: int, geometry=lambda p: p) -> np.ndarray:
    """Each handle moved to the pixel of the (2r+1)^2 square around it (kept inside the image)
    whose feature is nearest (L1) to its template. Returns [N, 2] float (x, y)."""
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    dy, dx = torch.meshgrid(offsets, offsets, indexing="ij")
    square = torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=-1)  # [S, 2]
    centres = torch.as_tensor(np.rint(handles), dtype=torch.float32)  # [N, 2]
    candidates = (centres[:, None, :] + square[None]).clamp(0, resolution - 1)  # [N, S, 2]
    with torch.no_grad():
        found = sample(features.detach(), candidates, geometry)  # [N, S, C]
        cost = (found - templates[:, None, :]).abs().sum(dim=-1)  # [N, S]
        best = cost.argmin(dim=1)
    return candidates[torch.arange(len(handles)), best].numpy().astype(np.float64)


def _disc(radius: float) -> torch.Tensor:
    r = int(math.floor(radius))
    offsets = torch.arange(-r, r + 1, dtype=torch.float32)
    dy, dx = torch.meshgrid(offsets, offsets, indexing="ij")
    keep = dx.square() + dy.square() <= radius * radius
    return torch.stack([dx[keep], dy[keep]], dim=-1)  # [P, 2]


class Dragger:
    """One drag, a step at a time (the window renders after each; `run_drag` loops it headless).

    ws: [1, num_ws, w_dim], the starting latent (never modified); mask: [H, W] in [0, 1] of the image
    (1: may change), or None for the whole image."""

    def __init__(self, model, ws: torch.Tensor, handles, targets, mask=None, config: DragConfig = DragConfig(),
                 noise_mode: str = "const", noise_seed: int = 0, backbone: FeatureBackbone | None = None):
        self.model = model
        self.backbone = backbone or backbone_for(model, config.feature_resolution)
        self.resolution = int(model.config.img_resolution)
        self.config = config.check(int(model.num_ws))
        self.handles, self.targets = check_points(handles, targets, self.resolution)
        self.start_handles = self.handles.copy()
        self.r1, self.r2, self.stop = self.config.radii(self.resolution)
        self.noise_mode, self.noise_seed = noise_mode, noise_seed
        ws = ws.detach().to(torch.float32)
        if ws.ndim != 3 or ws.shape[0] != 1:
            raise ValueError(f"ws has shape {list(ws.shape)}, expected [1, num_ws, w_dim]")
        self.ws_start = ws.clone()
        k = self.config.layers
        self.free = ws[:, :k].clone().requires_grad_(True)
        self.fixed = ws[:, k:].clone()
        self.optimizer = torch.optim.Adam([self.free], lr=self.config.learning_rate)
        self.mask = None if mask is None else torch.as_tensor(np.asarray(mask, dtype=np.float32))
        self.disc = _disc(self.r1)
        self.steps_taken = 0
        self.templates = None   # [N, C]: the handles' features in the first render
        self.initial = None     # first render's features, held outside the mask
        self.outside = None     # [1, 1, h, w] 1 where features must stay
        self.finished = False

    def current_ws(self) -> torch.Tensor:
        return torch.cat([self.free.detach(), self.fixed], dim=1)

    def _noise_generator(self):
        if self.noise_mode != "random":
            return None
        return torch.Generator(device=self.ws_start.device).manual_seed(self.noise_seed)

    def distances(self) -> np.ndarray:
        return np.linalg.norm(self.handles - self.targets, axis=1)

    def step(self) -> DragStep:
        """Render, track, and (unless finished) take one optimisation step."""
        with torch.enable_grad():  # also inside a job, which runs under no_grad
            return self._step()

    def _step(self) -> DragStep:
        if self.finished:
            raise RuntimeError("this drag is finished")
        ws = torch.cat([self.free, self.fixed], dim=1)
        features, image = self.backbone.features_and_image(ws, self.noise_mode, self._noise_generator())
        geometry = self.backbone.to_feature
        if self.templates is None:
            with torch.no_grad():
                self.templates = sample(features.detach(), torch.as_tensor(self.handles, dtype=torch.float32),
                                        geometry)
                if self.mask is not None:
                    self.initial = features.detach().clone()
                    h, w = features.shape[-2:]
                    self.outside = 1 - F.interpolate(self.mask[None, None].to(features.dtype), size=(h, w),
                                                     mode="area")
        elif self.config.tracking:
            self.handles = track_points(features, self.templates, self.handles, self.r2, self.resolution, geometry)
            if self.config.template_momentum > 0:
                with torch.no_grad():
                    now = sample(features.detach(), torch.as_tensor(self.handles, dtype=torch.float32), geometry)
                    self.templates = torch.lerp(self.templates, now, self.config.template_momentum)
        distances = self.distances()
        done = bool((distances <= self.stop).all()) or self.steps_taken >= self.config.steps
        loss_value = float("nan")
        if not done:
            loss = self._loss(features, geometry)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_value = float(loss.detach())
            self.steps_taken += 1
        self.finished = done
        return DragStep(self.steps_taken - (0 if done else 1), image.detach(), ws.detach().clone(),
                        self.handles.copy(), distances, done, loss_value)

    def _loss(self, features, geometry) -> torch.Tensor:
        handles = torch.as_tensor(self.handles, dtype=torch.float32)
        targets = torch.as_tensor(self.targets, dtype=torch.float32)
        direction = targets - handles
        length = direction.norm(dim=1, keepdim=True)
        moving = (length[:, 0] > self.stop)  # a handle already there is no longer pushed
        direction = direction / length.clamp_min(1e-8)
        here = handles[:, None, :] + self.disc[None]  # [N, P, 2]
        ahead = here + direction[:, None, :]
        loss = features.new_zeros(())
        if moving.any():
            reference = sample(features.detach(), here[moving], geometry)
            shifted = sample(features, ahead[moving], geometry)
            loss = loss + (shifted - reference).abs().mean()
        if self.initial is not None:
            loss = loss + self.config.mask_weight * ((features - self.initial).abs() * self.outside).mean()
        if self.config.latent_weight > 0:
            start = self.ws_start[:, :self.config.layers]
            loss = loss + self.config.latent_weight * (self.free - start).square().sum(dim=-1).mean()
        return loss


def run_drag(model, ws, handles, targets, mask=None, config: DragConfig = DragConfig(), noise_mode="const",
             noise_seed=0, on_step=None, should_stop=lambda: False) -> DragStep:
    """Drag to the end (targets reached or budget spent); `on_step(step)` sees every render;
    `should_stop()` true raises Cancelled before the next step. Returns the last step (its ws is
    the edited latent, its image that latent's render)."""
    dragger = Dragger(model, ws, handles, targets, mask, config, noise_mode, noise_seed)
    while True:
        if should_stop():
            raise Cancelled("drag stopped")
        step = dragger.step()
        if on_step is not None:
            on_step(step)
        if step.finished:
            return step
