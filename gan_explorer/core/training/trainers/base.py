"""What every trainer shares: optimiser updates with the non-finite guard, state, samples."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from gan_explorer.core.io.images import make_grid, to_uint8
from gan_explorer.core.models import build_model
from gan_explorer.core.training.augment import diff_augment

SAMPLE_SEEDS = list(range(16))
GRID_COLUMNS = 8      # seeds per row of a conditional sample grid
GRID_MAX_CLASSES = 8  # rows (one per class) of a class-conditional grid
GRID_MAX_FACTORS = 4  # factors shown (two rows each: low and high end) in a factor-conditional grid


def condition_grid(model) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(z, c, columns) of a conditional model's sample grid: the same GRID_COLUMNS seeds on every
    row; one row per class (the first GRID_MAX_CLASSES), or for each factor (the first
    GRID_MAX_FACTORS) a row at the low and a row at the high end of its range, the others at
    their defaults. Reading down a column shows what the condition changes."""
    from gan_explorer.core.data.faces import FACTOR_RANGES

    conditioning = model.conditioning
    if conditioning.kind == "class":
        rows = [conditioning.one_hot(k) for k in range(min(conditioning.c_dim, GRID_MAX_CLASSES))]
    else:
        rows = []
        for name in conditioning.names[:GRID_MAX_FACTORS]:
            for end in FACTOR_RANGES.get(name, (0.0, 1.0)):
                rows.append(conditioning.vector({name: end}))
    z = model.z_from_seeds(range(GRID_COLUMNS)).repeat(len(rows), 1)
    c = torch.stack(rows).repeat_interleave(GRID_COLUMNS, dim=0)
    return z, c, GRID_COLUMNS


class NonFiniteStep(Exception):
    """A loss or gradient was NaN/inf: the update of this phase was skipped."""

    def __init__(self, phase: str):
        super().__init__(phase)
        self.phase = phase


class Trainer:
    needs_second_dataset = False

    def __init__(self, options, device: torch.device, dist):
        self.options, self.device, self.dist = options, device, dist
        self.batch = options.batch // dist.world_size  # per-process batch; options.batch is global
        self.step_count = 0
        self.lr_scale = 1.0
        model_options = {**options.model, "img_channels": options.channels}
        self.model = build_model(options.model_family, **model_options).to(device)
        use_bf16 = options.precision == "bf16" or (options.precision == "auto" and device.type == "cuda")
        self.autocast_dtype = torch.bfloat16 if use_bf16 and device.type == "cuda" else None

    # Subclasses fill these.
    def networks(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, real: torch.Tensor, real_b: torch.Tensor | None = None,
                   c: torch.Tensor | None = None) -> dict[str, float]:
        """One optimisation step on a real batch; c [n, c_dim]: the real images' own conditions
        (given only to a conditional model's trainer)."""
        raise NotImplementedError

    def export_model(self):
        """The model a snapshot holds (eval mode, on the CPU for saving)."""
        return self.model

    # Shared machinery.
    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        if self.options.augment == "diffaugment":
            return diff_augment(images)
        return images

    def update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, phase: str) -> float:
        """Backward, average gradients over processes, and step unless anything is non-finite."""
        params = [p for group in optimizer.param_groups for p in group["params"]]
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        self.dist.average_gradients(params)
        # One synchronising check for the loss and every gradient (a bool() per parameter cost
        # about 1% of a StyleGAN step in small kernels and waits).
        checks = [torch.isfinite(loss.detach()).all()]
        checks += [torch.isfinite(p.grad).all() for p in params if p.grad is not None]
        finite = bool(torch.stack(checks).all())
        if not self.dist.all_true(finite, self.device):
            optimizer.zero_grad(set_to_none=False)
            raise NonFiniteStep(phase)
        optimizer.step()
        return float(loss.detach())

    def set_lr_scale(self, scale: float):
        self.lr_scale = scale
        for opt in self.optimizers().values():
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * scale

    def _adam(self, params, lr, betas, eps=1e-8):
        opt = torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
        for group in opt.param_groups:
            group["initial_lr"] = lr
        return opt

    def broadcast_initial_weights(self):
        for module in self.networks().values():
            self.dist.broadcast_module(module)

    def state_dict(self) -> dict:
        return {
            "networks": {k: m.state_dict() for k, m in self.networks().items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()},
            "step_count": self.step_count,
            "lr_scale": self.lr_scale,
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict):
        for k, m in self.networks().items():
            m.load_state_dict(state["networks"][k])
        for k, o in self.optimizers().items():
            o.load_state_dict(state["optimizers"][k])
        self.step_count = state["step_count"]
        self.set_lr_scale(state["lr_scale"])
        self.load_extra_state(state["extra"])

    @torch.no_grad()
    def update_ema(self, ema_model, model, ema_kimg: float, cur_nimg: int):
        """ema_model <- the exponential moving average of model's weights, half-life `ema_kimg`
        thousand images, ramped up over the first images (options.ema_rampup); buffers copied.
        StyleGAN's generator smoothing, and PGGAN's (Karras et al. 2018 average G the same way)."""
        ema_nimg = ema_kimg * 1000
        if self.options.ema_rampup:
            ema_nimg = min(ema_nimg, cur_nimg * self.options.ema_rampup)
        beta = 0.5 ** (self.options.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(ema_model.parameters(), model.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(ema_model.buffers(), model.buffers()):
            b_ema.copy_(b.detach())

    def tick_stats(self) -> dict[str, float]:
        """Where the trainer stands at the end of a tick (e.g. PGGAN's resolution and fade-in alpha):
        written as is into stats.jsonl, not averaged over the tick's steps."""
        return {}

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict):
        pass

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        model = self.export_model()
        was_training = model.training
        model.eval()
        if getattr(model, "conditioning", None) is not None:
            z, c, cols = condition_grid(model)
            images = to_uint8(model.synthesize(model.map(z.to(self.device), c=c.to(self.device)), noise_mode="const"))
        else:
            z = model.z_from_seeds(SAMPLE_SEEDS).to(self.device)
            images, cols = to_uint8(model.synthesize(model.map(z), noise_mode="const")), None
        model.train(was_training)
        return make_grid(images, cols)

    def random_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model.z_dim, device=self.device)
