"""The README's drag figure: before (handles red, targets blue, arrows), after (tracked handles), and a
strip of intermediate steps, on the built-in 64 px demo; enlarged 4x with crisp pixels.

    python3 benchmarks/drag_figure.py --out resources/screenshots/drag.png
"""

import argparse

import numpy as np
import torch
from PIL import Image, ImageDraw

from gan_explorer.core.drag import DragConfig, run_drag
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.io.models import open_model
from gan_explorer.resources import demo_model

SCALE = 4


def enlarge(image):
    return Image.fromarray(image).resize((image.shape[1] * SCALE, image.shape[0] * SCALE), Image.NEAREST)


def draw_points(picture, handles, targets):
    draw = ImageDraw.Draw(picture)
    for (hx, hy), (tx, ty) in zip(handles, targets):
        h = ((hx + 0.5) * SCALE, (hy + 0.5) * SCALE)
        t = ((tx + 0.5) * SCALE, (ty + 0.5) * SCALE)
        draw.line([h, t], fill=(255, 255, 255), width=2)
        for (x, y), colour in ((t, (40, 110, 255)), (h, (235, 40, 40))):
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour, outline=(0, 0, 0))
    return picture


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    model = open_model(demo_model())
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([args.seed]))
    # the mouth corners pulled apart and the chin down: a wider smile, a longer face
    handles = [(26.0, 43.0), (38.0, 43.0), (32.0, 52.0)]
    targets = [(23.0, 41.0), (41.0, 41.0), (32.0, 56.0)]
    steps = []
    last = run_drag(model, ws, handles, targets, config=DragConfig(steps=args.steps), on_step=steps.append)
    before = draw_points(enlarge(to_uint8(steps[0].image)[0]), handles, targets)
    after = draw_points(enlarge(to_uint8(last.image)[0]), last.handles, targets)
    picks = np.linspace(0, len(steps) - 1, 6).round().astype(int)
    strip = [Image.fromarray(to_uint8(steps[i].image)[0]).resize((128, 128), Image.NEAREST) for i in picks]
    side = 64 * SCALE
    canvas = Image.new("RGB", (2 * side + 8, side + 8 + 128 + 16), (255, 255, 255))
    canvas.paste(before, (0, 0))
    canvas.paste(after, (side + 8, 0))
    draw = ImageDraw.Draw(canvas)
    for k, (i, tile) in enumerate(zip(picks, strip)):
        x = k * (2 * side + 8) // 6
        canvas.paste(tile.resize(((2 * side + 8) // 6 - 2, (2 * side + 8) // 6 - 2)), (x, side + 8))
        draw.text((x + 2, side + 8 + (2 * side + 8) // 6 - 2), f"step {steps[i].index}", fill=(0, 0, 0))
    canvas.save(args.out)
    print(f"wrote {args.out}: {last.index} steps, handles {np.round(last.handles, 1).tolist()}, "
          f"distances {np.round(last.distances, 1).tolist()}")


if __name__ == "__main__":
    main()
