"""Headless image generation: seed grids and the style-mixing figure."""

from __future__ import annotations

import math

import numpy as np
import torch

from gan_explorer.core.errors import GanExplorerError, quote, shorten
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.latent.ops import mix_styles


MAX_SEEDS = 1024  # images one command renders unless --max-images allows more
CPU_BATCH = 1  # images per synthesis call on the CPU (see render_ws)
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


def cached_engine(model, precision: str = "fp32"):
    """The inference engine the window measured fastest for this model, where its graphs are
    already in the cache (a one-shot command never exports them: that costs more than 16 frames
    save); None otherwise: render eagerly. Its frames equal eager's within 1e-4."""
    from gan_explorer.core.backends import graph

    if precision != "fp32" or getattr(model, "family", None) != "stylegan" or model._device().type != "cpu":
        return None
    try:
        folder = graph.cache_dir() / "graphs" / graph.graph_key(model)
        choice = graph.read_small_json(folder / f"choice-{torch.get_num_threads()}threads.json")
        if not isinstance(choice, dict) or choice.get("engine") not in graph.ENGINES \
                or graph.graph_info(folder) is None:
            return None
        from gan_explorer.core.backends import open_renderer

        renderer = open_renderer(model, "auto")
    except (OSError, ValueError, RecursionError):  # no cached choice: render eagerly
        return None
    return renderer if renderer.name != "eager" else None


@torch.no_grad()
def render_ws(model, ws: torch.Tensor, noise_mode="const", batch_size=8, noise_seed=0,
              precision: str = "fp32", engine=None) -> np.ndarray:
    """ws [n, num_ws, w_dim] -> NHWC uint8 images, rendered in batches; ``precision`` 'bf16'
    autocasts the synthesis (resolve_precision first: it falls back where bf16 is not native);
    ``engine`` (cached_engine's) renders instead of the model's eager forward."""
    from gan_explorer.core.backends.precision import precision_context

    device = model._device()
    generator = torch.Generator(device=device).manual_seed(noise_seed) if noise_mode == "random" else None
    synthesize = engine.synthesize if engine is not None else model.synthesize
    if device.type == "cpu" and generator is None:  # random noise is drawn per batch: keep its order
        # One image at a time on the CPU: a batch adds no throughput once the convolutions fill the
        # cores, batch 1 takes the folded-kernel path, and the activations of 8 images at 256 px
        # made the command peak at 1.4-2.2 GB against the seed-by-seed reference's 0.9 GB.
        batch_size = CPU_BATCH
    out = []
    for i in range(0, len(ws), batch_size):
        with precision_context(precision, device.type):
            out.append(to_uint8(synthesize(ws[i:i + batch_size].to(device), noise_mode=noise_mode,
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
