"""Headless image generation: seed grids and the style-mixing figure."""

from __future__ import annotations

import math

import numpy as np
import torch

from gan_explorer.core.errors import GanExplorerError, quote, shorten
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.latent.ops import mix_styles


MAX_SEEDS = 1024  # images one command renders unless --max-images allows more
# Images per synthesis call on the CPU (const noise). Measured at 256 px (NVIDIA widths; one process
# each, same hour, load ~24 on 2 cores, one run each): per image 0.88x / 0.54x / 0.34x the time of
# the seed-by-seed textbook reference at batch 1 / 2 / 4, peak memory 634 / 760 / 914 MB against
# its 622 MB; batch 8 peaked at 1.36 GB (the figure).
CPU_BATCH = 4
SEED_LIMIT = 2**32  # NVIDIA's seeds are numpy RandomState seeds: 0 .. 2**32-1


def parse_seeds(spec: str, max_count: int = MAX_SEEDS) -> list[int]:
    """'0-15', '1,5,7', '3' -> a list of seeds in the order given, at most `max_count` of them.

    Ranges are counted before they are expanded: '0-100000000' is one line naming the cap,
    not a 4 GB list.
    """
    shown = quote(spec, 80)
    ranges: list[tuple[int, int]] = []
    total = 0
    for part in str(spec).replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
            else:
                lo = hi = int(part)
        except ValueError:
            raise GanExplorerError(f"seeds {shown}: expected e.g. '0-15' or '1,5,7'") from None
        for seed in (lo, hi):
            if not 0 <= seed < SEED_LIMIT:
                raise GanExplorerError(f"seeds {shown}: seed {shorten(seed, 40)} is out of range; "
                                       f"seeds go from 0 to 2**32-1")
        ranges.append((lo, hi))
        total += hi - lo + 1
        if total > max_count:
            raise GanExplorerError(f"seeds {shown}: more than {max_count:,} images; "
                                   f"pass --max-images N to allow more")
    if not ranges:
        raise GanExplorerError(f"seeds {shown}: no seed given")
    return [seed for lo, hi in ranges for seed in range(lo, hi + 1)]


def check_finite(name: str, value: float) -> float:
    """A number from the user: NaN and inf are refused (they render black images)."""
    if not math.isfinite(value):
        raise GanExplorerError(f"{name} {value}: must be a finite number")
    return value


def require_latent_model(model):
    if model.capabilities.is_translation:
        raise GanExplorerError(f"{model.family} translates images (A->B, B->A); it has no seeds or latents")


def require_style_mixing(model):
    require_latent_model(model)
    if not model.capabilities.style_mixing:
        raise GanExplorerError(f"style mixing needs a model with the style_mixing capability (per-layer ws); "
                               f"this {model.family} model has num_ws={model.num_ws}")


def condition_from_text(model, class_text: str | None = None, condition_text: str | None = None):
    """c [c_dim] for `--class N` (an index or a class name) or `--condition glasses=1,smile=0.8`
    (a class model also takes a class there); None when neither is given (the model's default).
    One ConfigError line for a model without a condition, a factor model given --class, an unknown
    class or factor, or both options at once."""
    from gan_explorer.core.errors import ConfigError

    if class_text is None and condition_text is None:
        return None
    flag = "--class" if class_text is not None else "--condition"
    if class_text is not None and condition_text is not None:
        raise ConfigError("--class and --condition: give one of them")
    conditioning = getattr(model, "conditioning", None)
    if conditioning is None:
        raise ConfigError(f"{flag}: this {model.family} model is not conditional (it takes no class or condition)")
    if class_text is not None:
        if conditioning.kind != "class":
            raise ConfigError(f"--class {quote(class_text, 40)}: this model is conditioned on factors "
                              f"({', '.join(conditioning.names)}); use --condition NAME=VALUE")
        return conditioning.one_hot(conditioning.class_index(class_text))
    return conditioning.parse(condition_text)


@torch.no_grad()
def ws_for_seeds(model, seeds, truncation_psi=1.0, truncation_cutoff=None, c=None) -> torch.Tensor:
    """ws of each seed; c [c_dim] (or [len(seeds), c_dim]) for a conditional model, None: its default."""
    require_latent_model(model)
    z = model.z_from_seeds(seeds)
    if c is None:
        return model.map(z, truncation_psi, truncation_cutoff)
    c = c.to(z.device)
    return model.map(z, truncation_psi, truncation_cutoff, c=c.expand(len(z), -1) if c.ndim == 1 else c)


@torch.no_grad()
def render_ws(model, ws: torch.Tensor, noise_mode="const", batch_size=8, noise_seed=0,
              precision: str = "fp32") -> np.ndarray:
    """ws [n, num_ws, w_dim] -> NHWC uint8 images, rendered in batches; ``precision`` 'bf16'
    autocasts the synthesis (resolve_precision first: it falls back where bf16 is not native)."""
    from gan_explorer.core.backends.precision import precision_context

    device = model._device()
    generator = torch.Generator(device=device).manual_seed(noise_seed) if noise_mode == "random" else None
    if device.type == "cpu" and generator is None:  # random noise is drawn per batch: keep its order
        batch_size = min(batch_size, CPU_BATCH)
    out = []
    for i in range(0, len(ws), batch_size):
        with precision_context(precision, device.type):
            out.append(to_uint8(model.synthesize(ws[i:i + batch_size].to(device), noise_mode=noise_mode,
                                                 noise_generator=generator)))
    return np.concatenate(out)


@torch.no_grad()
def style_mixing_figure(model, row_seeds, col_seeds, layers, truncation_psi=1.0,
                        truncation_cutoff=None, noise_mode="const", c=None, precision="fp32") -> np.ndarray:
    """The StyleGAN paper's figure: column seeds on top, row seeds on the left, and cell (r, c)
    = row seed's ws with `layers` taken from the column seed. Returns one HWC uint8 image.
    c [c_dim]: every seed mapped under this condition (a conditional model; None: its default)."""
    require_style_mixing(model)
    seeds = list(dict.fromkeys([*row_seeds, *col_seeds]))
    ws = dict(zip(seeds, ws_for_seeds(model, seeds, truncation_psi, truncation_cutoff, c)))
    cells = [ws[s] for s in col_seeds] + [ws[r] for r in row_seeds]
    for r in row_seeds:
        for c in col_seeds:
            cells.append(mix_styles(ws[r][None], ws[c][None], layers)[0])
    images = render_ws(model, torch.stack(cells), noise_mode=noise_mode, precision=precision)
    h, w, ch = images.shape[1:]
    nr, nc = len(row_seeds), len(col_seeds)
    canvas = np.zeros(((nr + 1) * h, (nc + 1) * w, ch), dtype=np.uint8)
    it = iter(images)
    for k in range(nc):
        canvas[0:h, (k + 1) * w:(k + 2) * w] = next(it)
    for i in range(nr):
        canvas[(i + 1) * h:(i + 2) * h, 0:w] = next(it)
    for i in range(nr):
        for k in range(nc):
            canvas[(i + 1) * h:(i + 2) * h, (k + 1) * w:(k + 2) * w] = next(it)
    return canvas
