"""The pictures of the Help > Guide page, rendered by the app from the built-in demo model.

`python -m gan_explorer.core.guide [OUT_DIR]` writes them to resources/guide/ (the page itself,
guide.html, is written by hand and refers to these files).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.io.images import save_image, to_uint8
from gan_explorer.core.io.video import resize_frame
from gan_explorer.core.render import ws_for_state

SCALE = 2  # the demo renders 64 px; the guide shows 128 px tiles


def _row(images) -> np.ndarray:
    return np.concatenate([resize_frame(i, i.shape[0] * SCALE) for i in images], axis=1)


@torch.no_grad()
def _render(model, state: LatentState, ws=None) -> np.ndarray:
    ws = ws_for_state(model, state) if ws is None else ws
    generator = torch.Generator().manual_seed(int(state.noise_seed)) if state.noise_mode == "random" else None
    return to_uint8(model.synthesize(ws, noise_mode=state.noise_mode, noise_generator=generator))[0]


@torch.no_grad()
def make_guide_figures(model, out: Path) -> list[Path]:
    from gan_explorer.core.latent.directions import pca_directions, sefa_directions
    from gan_explorer.core.latent.ops import layer_groups, lerp, mix_styles

    out.mkdir(parents=True, exist_ok=True)
    written = []

    def save(name, image):
        path = out / name
        save_image(path, image)
        written.append(path)

    save("psi.png", _row([_render(model, LatentState(seed=3, truncation_psi=p)) for p in (1.0, 0.7, 0.4, 0.0)]))
    save("noise.png", _row([_render(model, LatentState(seed=3, noise_mode=m, noise_seed=n))
                            for m, n in (("const", 0), ("random", 1), ("random", 2), ("none", 0))]))
    groups = layer_groups(model.num_ws)
    a = ws_for_state(model, LatentState(seed=1))
    b = ws_for_state(model, LatentState(seed=2))
    save("mixing.png", _row([_render(model, LatentState(), a)]
                            + [_render(model, LatentState(), mix_styles(a, b, list(groups[g])))
                               for g in ("coarse", "middle", "fine")] + [_render(model, LatentState(), b)]))
    za, zb = model.sample_z(1, 5), model.sample_z(1, 6)
    wa, wb = model.map(za), model.map(zb)
    steps = np.linspace(0, 1, 6)
    save("z_vs_w.png", np.concatenate([
        _row([_render(model, LatentState(), model.map(lerp(za, zb, float(t)))) for t in steps]),
        _row([_render(model, LatentState(), lerp(wa, wb, float(t))) for t in steps])], axis=0))
    for name, method in (("pca", pca_directions), ("sefa", sefa_directions)):
        directions, sigma = method(model, k=1)
        d = torch.from_numpy(np.asarray(directions[0])).float()
        base = ws_for_state(model, LatentState(seed=4))
        save(f"{name}.png", _row([_render(model, LatentState(), base + s * float(sigma[0]) * d) for s in (-2, 0, 2)]))
    return written


def main(argv=None) -> int:
    from gan_explorer.core.io.models import open_model
    from gan_explorer.resources import demo_model

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "resources" / "guide"
    for path in make_guide_figures(open_model(demo_model()).eval(), out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
