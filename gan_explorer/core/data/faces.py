"""The procedural faces dataset: seeded cartoon faces with their ground-truth factors.

Each face is drawn with Pillow at 2-4x the asked resolution and downsampled (antialiasing).
Its factors are drawn independently from documented ranges, so students can check whether
the directions a model discovers line up with the factors that really made the data.
"""

from __future__ import annotations

import colorsys
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from PIL import Image, ImageDraw

from gan_explorer.core.errors import ConfigError

MIN_RESOLUTION, MAX_RESOLUTION = 16, 512


@dataclass(frozen=True)
class FaceFactors:
    """The factors of one face. Ranges: [0, 1] unless noted; glasses is 0 or 1."""

    face_width: float = 0.5        # narrow (0) to wide (1)
    face_shape: float = 0.5        # round (0) to long (1): height / width of the face
    skin_tone: float = 0.5         # light (0) to dark (1)
    hair_color: float = 0.5        # black, brown, auburn, blonde, grey (0 -> 1)
    hair_length: float = 0.5       # short crop (0) to shoulder length (1)
    eye_size: float = 0.5          # small (0) to large (1)
    eye_spacing: float = 0.5       # close (0) to far apart (1)
    eyebrow_angle: float = 0.0     # [-1, 1]: frowning (inner ends down) to worried (inner ends up)
    smile: float = 0.0             # [-1, 1]: frown to smile (mouth curvature)
    glasses: float = 0.0           # 0 or 1
    head_tilt: float = 0.0         # [-1, 1]: -20 to +20 degrees (counter-clockwise positive)
    offset_x: float = 0.0          # [-1, 1]: face centre -10% to +10% of the width
    background_hue: float = 0.5    # [0, 1): hue of the background
    light_direction: float = 0.0   # [-1, 1]: light from the left to light from the right

    def to_array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float32)

    def replace(self, **changes) -> "FaceFactors":
        return FaceFactors(**{**asdict(self), **changes})


FACTOR_NAMES = [f.name for f in fields(FaceFactors)]
FACTOR_RANGES = {name: (-1.0, 1.0) if name in (
    "eyebrow_angle", "smile", "head_tilt", "offset_x", "light_direction") else (0.0, 1.0)
    for name in FACTOR_NAMES}

SKIN_TONES = np.array([(255, 224, 196), (241, 194, 155), (198, 134, 90), (141, 85, 54), (80, 50, 35)], float)
HAIR_COLORS = np.array([(25, 20, 20), (95, 60, 35), (150, 60, 30), (225, 190, 110), (180, 180, 180)], float)


def sample_factors(rng: np.random.Generator) -> FaceFactors:
    """Every factor drawn independently, uniformly over its range (glasses: 1 in 4)."""
    values = {}
    for name in FACTOR_NAMES:
        lo, hi = FACTOR_RANGES[name]
        values[name] = float(rng.uniform(lo, hi))
    values["glasses"] = float(rng.uniform() < 0.25)
    return FaceFactors(**values)


def factors_for(index: int, seed: int = 0) -> FaceFactors:
    return sample_factors(np.random.default_rng([int(seed), int(index)]))


def _palette(colors: np.ndarray, t: float) -> tuple[int, int, int]:
    """Piecewise-linear colour along a palette, t in [0, 1]."""
    x = float(np.clip(t, 0, 1)) * (len(colors) - 1)
    i = min(int(x), len(colors) - 2)
    c = colors[i] + (colors[i + 1] - colors[i]) * (x - i)
    return tuple(int(round(v)) for v in c)


def _shade(color, k):
    return tuple(int(np.clip(v * k, 0, 255)) for v in color)


def render_face(factors: FaceFactors, resolution: int = 64) -> np.ndarray:
    """One face as an HWC uint8 RGB array."""
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ConfigError(f"faces resolution {resolution}: must be from {MIN_RESOLUTION} to {MAX_RESOLUTION}")
    f = factors
    ss = 4 if resolution <= 32 else 2  # supersampling for antialiased edges
    s = resolution * ss
    skin = _palette(SKIN_TONES, f.skin_tone)
    hair = _palette(HAIR_COLORS, f.hair_color)
    r, g, b = colorsys.hsv_to_rgb(f.background_hue % 1.0, 0.35, 0.85)
    background = (int(r * 255), int(g * 255), int(b * 255))

    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    cx, cy = s * 0.5, s * 0.53
    fw = s * (0.22 + 0.08 * f.face_width)           # half width of the face
    fh = fw * (1.12 + 0.28 * f.face_shape)           # half height
    line = max(1, round(s / 45))

    # Behind the face: long hair, neck, ears.
    if f.hair_length > 0.25:
        bottom = cy + fh * (0.2 + 1.0 * (f.hair_length - 0.25) / 0.75)
        d.rounded_rectangle([cx - fw * 1.22, cy - fh * 1.02, cx + fw * 1.22, bottom], radius=fw * 0.6, fill=hair)
    d.rectangle([cx - fw * 0.38, cy + fh * 0.6, cx + fw * 0.38, s], fill=_shade(skin, 0.85))
    for side in (-1, 1):
        ex = cx + side * fw * 0.98
        d.ellipse([ex - fw * 0.14, cy - fh * 0.18, ex + fw * 0.14, cy + fh * 0.16], fill=_shade(skin, 0.92))
    d.ellipse([cx - fw, cy - fh, cx + fw, cy + fh], fill=skin)

    # Hair on top: a cap over the forehead, a fringe line lower for longer hair.
    fringe = cy - fh * (0.62 - 0.18 * f.hair_length)
    d.chord([cx - fw * 1.06, cy - fh * 1.1, cx + fw * 1.06, fringe + (fringe - (cy - fh * 1.1))],
            180, 360, fill=hair)

    # Eyes, pupils, eyebrows.
    eye_y = cy - fh * 0.08
    eye_dx = fw * (0.28 + 0.18 * f.eye_spacing)
    er = fw * (0.09 + 0.07 * f.eye_size)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        d.ellipse([ex - er, eye_y - er * 0.72, ex + er, eye_y + er * 0.72], fill=(250, 250, 250))
        pr = er * 0.5
        d.ellipse([ex - pr, eye_y - pr, ex + pr, eye_y + pr], fill=(35, 30, 45))
        by = eye_y - er * 1.7
        inner = ex - side * er * 1.1
        outer = ex + side * er * 1.1
        tilt = f.eyebrow_angle * er * 0.9
        d.line([(inner, by - tilt), (outer, by + tilt * 0.2)], fill=_shade(hair, 0.8), width=max(1, round(line * 1.3)))
        if f.glasses >= 0.5:
            gr = er * 1.55
            d.ellipse([ex - gr, eye_y - gr, ex + gr, eye_y + gr], outline=(30, 30, 30), width=line)
    if f.glasses >= 0.5:
        gr = er * 1.55
        d.line([(cx - eye_dx + gr, eye_y), (cx + eye_dx - gr, eye_y)], fill=(30, 30, 30), width=line)

    # Nose and mouth (a parabola whose centre drops when smiling).
    nose_y = cy + fh * 0.18
    d.line([(cx, eye_y + er), (cx - fw * 0.07, nose_y), (cx + fw * 0.02, nose_y)],
           fill=_shade(skin, 0.7), width=line)
    mouth_y = cy + fh * 0.48
    mw = fw * 0.42
    curve = fh * 0.16 * f.smile
    points = [(cx + mw * t, mouth_y + curve * (1 - t * t)) for t in np.linspace(-1, 1, 9)]
    d.line(points, fill=(150, 40, 50), width=max(1, round(line * 1.4)), joint="curve")

    # Tilt and shift the whole head, downsample (Pillow's reduce weighs colours by alpha),
    # then light it from one side and composite over the background.
    layer = layer.rotate(20 * f.head_tilt, resample=Image.BILINEAR, center=(cx, cy),
                         translate=(f.offset_x * 0.1 * s, 0))
    rgba = np.asarray(layer.reduce(ss), dtype=np.float32)
    ramp = 1 + 0.28 * f.light_direction * (np.linspace(-1, 1, resolution, dtype=np.float32))
    alpha = rgba[..., 3:4] / 255
    out = rgba[..., :3] * alpha * ramp[None, :, None] + np.asarray(background, np.float32) * (1 - alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class FacesDataset(torch.utils.data.Dataset):
    """An endless (or `count`-long) seeded set of faces: item i -> (image CHW in [-1, 1], factors)."""

    def __init__(self, resolution: int = 64, count: int | None = None, seed: int = 0, channels: int = 3):
        if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
            raise ConfigError(f"faces resolution {resolution}: must be from {MIN_RESOLUTION} to {MAX_RESOLUTION}")
        if channels not in (1, 3):
            raise ConfigError(f"channels={channels}: must be 1 or 3")
        self.resolution = resolution
        self.count = count
        self.seed = seed
        self.channels = channels
        self.name = f"faces:{resolution}"

    def __len__(self):
        return self.count if self.count is not None else 2**31 - 1

    def factors(self, index: int) -> FaceFactors:
        return factors_for(index, self.seed)

    def image(self, index: int) -> np.ndarray:
        image = render_face(self.factors(index), self.resolution)
        if self.channels == 1:
            image = np.asarray(Image.fromarray(image).convert("L"))[:, :, None]
        return image

    def __getitem__(self, index):
        if self.count is not None and not 0 <= index < self.count:
            raise IndexError(index)
        image = self.image(index)
        tensor = torch.from_numpy(image.copy()).permute(2, 0, 1).to(torch.float32) / 127.5 - 1
        return tensor, torch.from_numpy(self.factors(index).to_array())
