"""resources/screenshots/cyclegan-perceptual.png: the first 8 held-out faces (not picked), at 3x:
input | weight 0 and perceptual at 8 kimg | the same at 12 kimg | the ideal x* (same face, glasses on)."""
import sys
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from gan_explorer.core.io.images import save_image

out_path = sys.argv[1]
rows = list(range(8))
o8, o12 = np.load("outputs-8.npz"), np.load("outputs-12.npz")
cols = [("input x", o12["input"]), ("w=0, 8 kimg", o8["w0"]), ("w=1, 8 kimg", o8["perc"]),
        ("w=0, 12 kimg", o12["w0"]), ("w=1, 12 kimg", o12["perc"]), ("ideal x*", o12["oracle"])]
scale, pad, head = 3, 4, 18
cell = 32 * scale
W = len(cols) * cell + (len(cols) + 1) * pad + 2 * pad  # extra gaps after the input and before x*
H = head + len(rows) * cell + (len(rows) + 1) * pad
canvas = Image.new("RGB", (W, H), (255, 255, 255))
draw = ImageDraw.Draw(canvas)
font = ImageFont.load_default()
x0 = pad
for c, (label, images) in enumerate(cols):
    if c in (1, len(cols) - 1):
        x0 += pad
    draw.text((x0 + cell // 2, head // 2 + 1), label, fill=(0, 0, 0), font=font, anchor="mm")
    for r, i in enumerate(rows):
        tile = Image.fromarray(images[i]).resize((cell, cell), Image.NEAREST)
        canvas.paste(tile, (x0, head + pad + r * (cell + pad)))
    x0 += cell + pad
save_image(out_path, np.asarray(canvas))
