"""The procedural faces dataset: seeded cartoon faces with their ground-truth factors.

Each face is drawn with Pillow at 2-4x the asked resolution and downsampled (antialiasing).
Its factors are drawn independently from documented ranges, so students can check whether
the directions a model discovers line up with the factors that really made the data.
The same shapes also give each face's part map (face_parts) and landmark points
(face_landmarks), so segmentations and point edits of generated faces can be measured.
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

# The part map's labels (face_parts): index = label. The order is also the tie-break when reducing a
# supersampled block (the later part wins), so small features come last.
PART_NAMES = ("background", "skin", "hair", "neck", "eyes", "brows", "nose", "mouth", "glasses")

# face_landmarks' points in this order. "left" and "right" are as seen in the image (smaller x = left).
LANDMARK_NAMES = (
    "eye_left_centre", "eye_left_outer", "eye_left_inner",
    "eye_right_centre", "eye_right_outer", "eye_right_inner",
    "brow_left_inner", "brow_left_outer", "brow_right_inner", "brow_right_outer",
    "nose_tip", "mouth_left", "mouth_right", "mouth_centre", "chin",
    "cheek_left", "cheek_right", "jaw_left", "jaw_right")


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


def _check_resolution(resolution: int) -> None:
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ConfigError(f"faces resolution {resolution}: must be from {MIN_RESOLUTION} to {MAX_RESOLUTION}")


@dataclass(frozen=True)
class _Shape:
    """One ImageDraw call: the picture paints it in `color`, the part map in its part's label."""

    method: str                # ImageDraw method: ellipse, line, chord, rectangle, rounded_rectangle
    xy: tuple                  # its coordinates in the supersampled drawing
    options: tuple             # its other keyword arguments as (name, value) pairs (width, radius, angles)
    paint: str                 # the keyword that takes the colour: "fill", or "outline" for a ring
    color: tuple               # RGB of the picture
    part: str                  # the name in PART_NAMES the part map paints


@dataclass(frozen=True)
class _FaceLayout:
    """Everything one face's drawing needs, computed once from its factors and the resolution."""

    resolution: int
    supersampling: int         # the face is drawn this many times larger, then reduced
    center: tuple              # (cx, cy): the head's centre, the pivot of the tilt
    shapes: tuple              # the _Shape list in painting order (later covers earlier)
    landmarks: np.ndarray      # [K, 2] in the supersampled drawing, before the tilt
    tilt_degrees: float        # counter-clockwise rotation of the head
    shift_x: float             # horizontal shift after the rotation, in supersampled pixels
    background: tuple          # RGB behind the head

    @property
    def size(self) -> int:
        return self.resolution * self.supersampling

    def rotate(self, layer: Image.Image, resample) -> Image.Image:
        return layer.rotate(self.tilt_degrees, resample=resample, center=self.center,
                            translate=(self.shift_x, 0))


def _layout(factors: FaceFactors, resolution: int) -> _FaceLayout:
    _check_resolution(resolution)
    f = factors
    ss = 4 if resolution <= 32 else 2  # supersampling for antialiased edges
    s = resolution * ss
    skin = _palette(SKIN_TONES, f.skin_tone)
    hair = _palette(HAIR_COLORS, f.hair_color)
    r, g, b = colorsys.hsv_to_rgb(f.background_hue % 1.0, 0.35, 0.85)
    background = (int(r * 255), int(g * 255), int(b * 255))
    shapes = []

    def add(method, xy, color, part, paint="fill", **options):
        shapes.append(_Shape(method, tuple(xy), tuple(options.items()), paint, color, part))

    cx, cy = s * 0.5, s * 0.53
    fw = s * (0.22 + 0.08 * f.face_width)           # half width of the face
    fh = fw * (1.12 + 0.28 * f.face_shape)           # half height
    line = max(1, round(s / 45))

    # Behind the face: long hair, neck, ears.
    if f.hair_length > 0.25:
        bottom = cy + fh * (0.2 + 1.0 * (f.hair_length - 0.25) / 0.75)
        add("rounded_rectangle", [cx - fw * 1.22, cy - fh * 1.02, cx + fw * 1.22, bottom], hair, "hair",
            radius=fw * 0.6)
    add("rectangle", [cx - fw * 0.38, cy + fh * 0.6, cx + fw * 0.38, s], _shade(skin, 0.85), "neck")
    for side in (-1, 1):
        ex = cx + side * fw * 0.98
        add("ellipse", [ex - fw * 0.14, cy - fh * 0.18, ex + fw * 0.14, cy + fh * 0.16], _shade(skin, 0.92), "skin")
    add("ellipse", [cx - fw, cy - fh, cx + fw, cy + fh], skin, "skin")

    # Hair on top: a cap over the forehead, a fringe line lower for longer hair.
    fringe = cy - fh * (0.62 - 0.18 * f.hair_length)
    add("chord", [cx - fw * 1.06, cy - fh * 1.1, cx + fw * 1.06, fringe + (fringe - (cy - fh * 1.1))], hair, "hair",
        start=180, end=360)

    # Eyes, pupils, eyebrows.
    eye_y = cy - fh * 0.08
    eye_dx = fw * (0.28 + 0.18 * f.eye_spacing)
    er = fw * (0.09 + 0.07 * f.eye_size)
    eye_points, brow_points = [], []
    for side in (-1, 1):
        ex = cx + side * eye_dx
        add("ellipse", [ex - er, eye_y - er * 0.72, ex + er, eye_y + er * 0.72], (250, 250, 250), "eyes")
        pr = er * 0.5
        add("ellipse", [ex - pr, eye_y - pr, ex + pr, eye_y + pr], (35, 30, 45), "eyes")
        by = eye_y - er * 1.7
        inner = ex - side * er * 1.1
        outer = ex + side * er * 1.1
        tilt = f.eyebrow_angle * er * 0.9
        add("line", [(inner, by - tilt), (outer, by + tilt * 0.2)], _shade(hair, 0.8), "brows",
            width=max(1, round(line * 1.3)))
        if f.glasses >= 0.5:
            gr = er * 1.55
            add("ellipse", [ex - gr, eye_y - gr, ex + gr, eye_y + gr], (30, 30, 30), "glasses", paint="outline",
                width=line)
        eye_points += [(ex, eye_y), (ex + side * er, eye_y), (ex - side * er, eye_y)]
        brow_points += [(inner, by - tilt), (outer, by + tilt * 0.2)]
    if f.glasses >= 0.5:
        gr = er * 1.55
        add("line", [(cx - eye_dx + gr, eye_y), (cx + eye_dx - gr, eye_y)], (30, 30, 30), "glasses", width=line)

    # Nose and mouth (a parabola whose centre drops when smiling).
    nose_y = cy + fh * 0.18
    add("line", [(cx, eye_y + er), (cx - fw * 0.07, nose_y), (cx + fw * 0.02, nose_y)], _shade(skin, 0.7), "nose",
        width=line)
    mouth_y = cy + fh * 0.48
    mw = fw * 0.42
    curve = fh * 0.16 * f.smile
    points = [(cx + mw * t, mouth_y + curve * (1 - t * t)) for t in np.linspace(-1, 1, 9)]
    add("line", points, (150, 40, 50), "mouth", width=max(1, round(line * 1.4)), joint="curve")

    jaw = np.sqrt(0.5)  # the outline points halfway down the jaw, at 45 degrees on the ellipse
    landmarks = eye_points + brow_points + [
        (cx - fw * 0.07, nose_y), (cx - mw, mouth_y), (cx + mw, mouth_y), (cx, mouth_y + curve), (cx, cy + fh),
        (cx - fw, cy), (cx + fw, cy), (cx - fw * jaw, cy + fh * jaw), (cx + fw * jaw, cy + fh * jaw)]
    return _FaceLayout(resolution, ss, (cx, cy), tuple(shapes), np.asarray(landmarks, np.float64),
                       20 * f.head_tilt, f.offset_x * 0.1 * s, background)


def _paint(layout: _FaceLayout, image: Image.Image, color_of) -> Image.Image:
    draw = ImageDraw.Draw(image)
    for shape in layout.shapes:
        getattr(draw, shape.method)(list(shape.xy), **dict(shape.options), **{shape.paint: color_of(shape)})
    return image


def render_face(factors: FaceFactors, resolution: int = 64) -> np.ndarray:
    """One face as an HWC uint8 RGB array."""
    layout = _layout(factors, resolution)
    layer = _paint(layout, Image.new("RGBA", (layout.size, layout.size), (0, 0, 0, 0)), lambda shape: shape.color)
    # Tilt and shift the whole head, downsample (Pillow's reduce weighs colours by alpha),
    # then light it from one side and composite over the background.
    layer = layout.rotate(layer, Image.BILINEAR)
    rgba = np.asarray(layer.reduce(layout.supersampling), dtype=np.float32)
    ramp = 1 + 0.28 * factors.light_direction * (np.linspace(-1, 1, resolution, dtype=np.float32))
    alpha = rgba[..., 3:4] / 255
    out = rgba[..., :3] * alpha * ramp[None, :, None] + np.asarray(layout.background, np.float32) * (1 - alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def face_parts(factors: FaceFactors, resolution: int = 64) -> np.ndarray:
    """The face's part map, [H, W] uint8 indices into PART_NAMES, from the shapes that draw its picture.

    Each shape is painted with its part's label in the picture's order (later covers earlier), tilted
    like the picture (nearest neighbour) and reduced: an output pixel takes the label covering most of
    its supersampled block, a tie going to the part painted later in PART_NAMES (thin features win).
    """
    layout = _layout(factors, resolution)
    labels = _paint(layout, Image.new("L", (layout.size, layout.size), 0), lambda shape: PART_NAMES.index(shape.part))
    fine = np.asarray(layout.rotate(labels, Image.NEAREST))
    ss = layout.supersampling
    blocks = fine.reshape(resolution, ss, resolution, ss).transpose(0, 2, 1, 3).reshape(resolution, resolution, -1)
    counts = np.stack([(blocks == k).sum(axis=2) for k in range(len(PART_NAMES))], axis=2)
    # argmax over the reversed label order breaks ties toward the later part
    return (len(PART_NAMES) - 1 - np.argmax(counts[..., ::-1], axis=2)).astype(np.uint8)


def face_landmarks(factors: FaceFactors, resolution: int = 64) -> np.ndarray:
    """The face's LANDMARK_NAMES points as [K, 2] float32 (x right, y down) in output pixels.

    Pixel (row i, column j) has its centre at (x=j, y=i), so `image[round(y), round(x)]` is the
    pixel under a point. The points go through the same tilt and shift as the drawing.
    """
    layout = _layout(factors, resolution)
    # ImageDraw puts coordinate p at the centre of pixel p, i.e. at p + 0.5 in the continuous frame
    # in which Image.rotate's centre and translation are given.
    continuous = layout.landmarks + 0.5
    angle = np.radians(layout.tilt_degrees)
    center = np.asarray(layout.center, np.float64)
    # rotate counter-clockwise on screen (y down): x' = c + R(-angle) (x - c) in math orientation
    cos, sin = np.cos(angle), np.sin(angle)
    d = continuous - center
    rotated = np.stack([cos * d[:, 0] + sin * d[:, 1], -sin * d[:, 0] + cos * d[:, 1]], axis=1) + center
    rotated[:, 0] += layout.shift_x
    return (rotated / layout.supersampling - 0.5).astype(np.float32)


class FacesDataset(torch.utils.data.Dataset):
    """An endless (or `count`-long) seeded set of faces: item i -> (image CHW in [-1, 1], factors)."""

    def __init__(self, resolution: int = 64, count: int | None = None, seed: int = 0, channels: int = 3):
        _check_resolution(resolution)
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

    def parts(self, index: int) -> np.ndarray:
        """Item `index`'s part map, [H, W] uint8 indices into PART_NAMES, aligned with its image."""
        return face_parts(self.factors(index), self.resolution)

    def landmarks(self, index: int) -> np.ndarray:
        """Item `index`'s LANDMARK_NAMES points, [K, 2] float32 (x, y) in pixels of its image."""
        return face_landmarks(self.factors(index), self.resolution)

    def __getitem__(self, index):
        if self.count is not None and not 0 <= index < self.count:
            raise IndexError(index)
        image = self.image(index)
        tensor = torch.from_numpy(image.copy()).permute(2, 0, 1).to(torch.float32) / 127.5 - 1
        return tensor, torch.from_numpy(self.factors(index).to_array())
