"""A map of a latent space: N latents projected to 2-D, with thumbnails and colours.

    m = compute_map(model, num=2000, space="w", method="pca", thumbnail_size=32)
    m.points                 # [N, 2] where each latent lands
    m.project(latents)       # place any latent of the same space (the current one, bookmarks, a path)
    m.project_ws(ws)         # ... or a ws tensor the renderer produced
    i = m.nearest((x, y))    # a click -> the point under it; m.seeds[i] / m.latents[i] render it
    image = render_map_image(m, color_by="smile")   # the headless figure (Pillow)

Spaces: 'z' (sampled with NVIDIA's seeds, any latent family), 'w' (families with a mapping:
StyleGAN, StyleGAN3, the autoencoder's code Gaussian), 'code' (encoder means of dataset images:
VAE and autoencoder; the procedural faces bring their true factors for colouring). Methods: 'pca'
(numpy; project() is exact), 'tsne' (scikit-learn; project() places a new latent by its nearest
sampled neighbours, as t-SNE has no mapping for new points), 'umap' (umap-learn, when installed;
project() is UMAP's own transform).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from gan_explorer.core.progress import Steps
from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.io.images import to_uint8

WHAT_AM_I_LOOKING_AT = (
    "Each dot is one latent vector: a point in a space with hundreds of dimensions, squeezed onto "
    "the page. PCA keeps the two directions along which the sampled latents vary most (distances "
    "along them are real); t-SNE and UMAP keep neighbours together instead, so clusters mean "
    "something but distances between clusters do not. Zoom in to see the image each dot stands "
    "for. The marker is the latent you are looking at now, and it moves as you drag the sliders; "
    "bookmarks and the interpolation path are drawn too. Colour the dots by a factor (the true "
    "one for procedural faces, or one predicted from the image) to see whether that factor has a "
    "direction in the space: a smooth colour gradient across the map says it does."
)

METHODS = ("pca", "tsne", "umap")
SPACES = ("z", "w", "code")


def draws_faces(model) -> bool:
    """Whether the model was trained on the procedural faces (its provenance says so), so the factor
    regressor's predictions mean something for its images."""
    provenance = getattr(model, "provenance", None) or {}
    return str(provenance.get("data", "")).startswith("faces")


def available_spaces(model) -> list[str]:
    caps = model.capabilities
    if caps.is_translation:
        return []
    spaces = ["z"]
    if caps.has_mapping:
        spaces.append("w")
    if caps.has_encoder:
        spaces.append("code")
    return spaces


def default_space(model) -> str:
    spaces = available_spaces(model)
    return "code" if "code" in spaces else "w" if "w" in spaces else "z"


# --- 2-D projections ------------------------------------------------------------------------
class _PCA:
    name = "pca"

    def fit(self, x: np.ndarray, seed: int) -> np.ndarray:
        self.mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        self.components = vt[:2]
        self.explained = (s[:2] ** 2 / max((s**2).sum(), 1e-30)).tolist()
        return self.transform(x)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.components.T


class _Neighbours:
    """t-SNE has no map for new points: place one at the inverse-distance mean of its k nearest."""

    def __init__(self, latents: np.ndarray, points: np.ndarray, k: int = 5):
        self.latents, self.points, self.k = latents, points, min(k, len(latents))

    def transform(self, x: np.ndarray) -> np.ndarray:
        d = np.sqrt(((x[:, None, :] - self.latents[None]) ** 2).sum(-1))
        nearest = np.argsort(d, axis=1)[:, :self.k]
        w = 1 / np.maximum(np.take_along_axis(d, nearest, 1), 1e-9)
        return (self.points[nearest] * w[..., None]).sum(1) / w.sum(1, keepdims=True)


class _TSNE:
    name = "tsne"

    def __init__(self):
        import importlib.util

        if importlib.util.find_spec("sklearn") is None:
            raise ConfigError("--method tsne needs scikit-learn: pip install scikit-learn (or use --method pca)")

    def fit(self, x: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
        self.neighbours = _Neighbours(x, points)
        return points

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.neighbours.transform(x)


class _UMAP:
    name = "umap"

    def __init__(self):
        import importlib.util

        if importlib.util.find_spec("umap") is None:
            raise ConfigError("--method umap needs umap-learn: pip install umap-learn (or use --method pca)")

    def fit(self, x: np.ndarray, seed: int) -> np.ndarray:
        import umap

        self.reducer = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, len(x) - 1))
        return self.reducer.fit_transform(x)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.reducer.transform(x)


_PROJECTORS = {"pca": _PCA, "tsne": _TSNE, "umap": _UMAP}


@dataclass
class LatentMap:
    method: str                       # pca, tsne or umap
    space: str                        # z, w or code
    latents: np.ndarray               # [N, D] float32: each point's latent in `space`
    points: np.ndarray                # [N, 2] float32: where each lands on the map
    seeds: np.ndarray | None = None   # [N] int: the seed of each point (sampled spaces)
    thumbnails: np.ndarray | None = None           # [N, t, t, C] uint8: what the model draws there
    colors: dict = field(default_factory=dict)     # factor -> [N] values for colouring
    color_source: str = ""            # 'true factors of the data' or 'predicted by the factor regressor'
    truncation_psi: float = 1.0
    info: dict = field(default_factory=dict)       # model family, data, explained variance, ...
    _projector: object = None

    def project(self, latents) -> np.ndarray:
        """[n, D] (or [D]) latents of this map's space -> [n, 2] map coordinates."""
        x = np.asarray(latents.detach().cpu() if isinstance(latents, torch.Tensor) else latents, dtype=np.float64)
        x = np.atleast_2d(x)
        if x.ndim != 2 or x.shape[1] != self.latents.shape[1]:
            raise ConfigError(f"a latent of shape {list(np.shape(latents))}: this {self.space} map needs "
                              f"{self.latents.shape[1]} values per latent")
        return self._projector.transform(x).astype(np.float32)

    def project_ws(self, ws) -> np.ndarray:
        """ws [n, num_ws, w_dim] or [num_ws, w_dim] -> [n, 2]; the mean over layers is placed
        (one w when no layer was edited alone). For a z map, pass z to project() instead."""
        if self.space == "z":
            raise ConfigError("this map is of z; place z with project(z), not ws")
        ws = np.asarray(ws.detach().cpu() if isinstance(ws, torch.Tensor) else ws, dtype=np.float64)
        if ws.ndim == 2:
            ws = ws[None]
        return self.project(ws.mean(axis=1))

    def nearest(self, xy) -> int:
        """Index of the point nearest to map coordinates (x, y): what a click selects."""
        d = ((self.points - np.asarray(xy, dtype=np.float32)[None]) ** 2).sum(1)
        return int(np.argmin(d))

    def ws(self, model, index: int) -> torch.Tensor:
        """The ws [1, num_ws, w_dim] that renders point `index` (click -> this image)."""
        latent = torch.from_numpy(self.latents[index:index + 1].astype(np.float32)).to(model._device())
        if self.space == "z":
            return model.map(latent, self.truncation_psi)
        return latent.unsqueeze(1).repeat(1, model.num_ws, 1)


def _thumbnails(images: torch.Tensor, size: int) -> np.ndarray:
    if size and images.shape[-1] != size:
        images = torch.nn.functional.interpolate(images.float(), size=(size, size), mode="bilinear",
                                                 antialias=True, align_corners=False)
    return to_uint8(images)


MAX_POINTS = 50_000          # latents on one map
MAX_THUMBNAIL = 256          # thumbnail pixels kept per point
MAX_THUMBNAIL_BYTES = 1 << 29  # every thumbnail together (num x size^2 x 3)
MAX_FIGURE = 8192            # the figure's width in pixels


def check_map(num, thumbnail_size=32, seed=0, truncation_psi=1.0) -> None:
    """The counts of a map, before any work: one ConfigError line (negative, 10**12, NaN)."""
    from gan_explorer.core.limits import check_count, check_finite, check_seeds

    if isinstance(num, int) and not isinstance(num, bool) and num < 3:
        raise ConfigError(f"--num {num}: a map needs at least 3 points")
    num = check_count("--num", num, 3, MAX_POINTS)
    size = check_count("--thumbnail-size", thumbnail_size, 0, MAX_THUMBNAIL)
    if num * size * size * 3 > MAX_THUMBNAIL_BYTES:
        raise ConfigError(f"--num {num:,} x --thumbnail-size {size}: {num * size * size * 3 / 2**30:.1f} GiB of "
                          f"thumbnails, more than {MAX_THUMBNAIL_BYTES / 2**30:.1f} GiB; use fewer or smaller")
    check_seeds("--seed", seed, num)
    check_finite("--truncation-psi", truncation_psi, -100, 100)


def check_figure(size, cell=40) -> None:
    """The map figure's width and thumbnail cell, before any work: one ConfigError line."""
    from gan_explorer.core.limits import check_count

    size = check_count("--size", size, 64, MAX_FIGURE)
    if cell:
        check_count("--cell", cell, 8, size // 2)


@torch.no_grad()
def compute_map(model, num: int = 2000, space: str | None = None, method: str = "pca", seed: int = 0,
                truncation_psi: float = 1.0, thumbnail_size: int = 32, data: str | None = None,
                color_by: str | None = "auto", regressor=None, batch_size: int = 50,
                progress=None, should_stop=None) -> LatentMap:
    """Sample (or encode) `num` latents, render their thumbnails, colour them, and project to 2-D.

    Sampled spaces use seeds seed .. seed+num-1 (NVIDIA's z for each). 'code' encodes `data`
    (default: the procedural faces at the model's resolution, seed 1) and colours by their true
    factors. color_by: 'auto' (true factors where known, else the regressor if it loads and the
    model was trained on faces, by its provenance; else a folder's class sub-folders), 'predicted'
    (always the regressor), None (no colours)."""
    from gan_explorer.core.analysis.regressor import load_regressor, predict

    spaces = available_spaces(model)
    if not spaces:
        raise GanExplorerError(f"the {model.family} family translates images; it has no latent space to map")
    space = space or default_space(model)
    if space not in spaces:
        raise ConfigError(f"--space {space}: the {model.family} family offers {', '.join(spaces)}")
    if method not in METHODS:
        raise ConfigError(f"--method {method}: use one of {', '.join(METHODS)}")
    check_map(num, thumbnail_size, seed if space != "code" else 0, truncation_psi)
    projector = _PROJECTORS[method]()  # a missing optional library fails here, before any work
    device = model._device()
    batches = math.ceil(num / batch_size)
    steps = Steps(batches + 1, progress, should_stop)

    dataset, seeds, colors, color_source = None, None, {}, ""
    if space == "code":
        from gan_explorer.core.data import open_dataset

        dataset = open_dataset(data or f"faces:{model.img_resolution}", model.img_resolution,
                               channels=model.img_channels, seed=1)
        if len(dataset) < num:
            raise ConfigError(f"{data}: {len(dataset)} images, fewer than --num {num}")
        if color_by == "auto" and hasattr(dataset, "factors"):  # the procedural faces know theirs
            color_source = "true factors of the data"
    else:
        seeds = np.arange(seed, seed + num, dtype=np.int64)

    reg = None
    if color_by == "predicted" or (color_by == "auto" and not color_source and draws_faces(model)):
        try:
            reg = regressor or load_regressor(device)
        except GanExplorerError:
            if color_by == "predicted":
                raise
        if reg is not None:
            color_source = "predicted by the factor regressor"

    latents, thumbs, factor_rows, predicted, class_labels = [], [], [], [], []
    for b in range(batches):
        lo, hi = b * batch_size, min((b + 1) * batch_size, num)
        if space == "code":
            items = [dataset[i] for i in range(lo, hi)]
            images_in = torch.stack([it[0] for it in items]).to(device)
            codes = model.encode(images_in)
            latent = codes[:, 0]
            ws = codes.repeat(1, model.num_ws, 1)
            if color_source == "true factors of the data":
                factor_rows.append(torch.stack([it[1] for it in items]).numpy())
            else:
                class_labels.extend(int(it[1]) for it in items)
        else:
            z = model.z_from_seeds(seeds[lo:hi].tolist())
            ws = model.map(z, truncation_psi)
            latent = z if space == "z" else ws[:, 0]
        latents.append(latent.float().cpu().numpy())
        if thumbnail_size or reg is not None:
            images = model.synthesize(ws)
            if thumbnail_size:
                thumbs.append(_thumbnails(images, thumbnail_size))
            if reg is not None:
                predicted.append(predict(reg, images.clamp(-1, 1)))
        steps.step()

    latents = np.concatenate(latents)
    if factor_rows:
        from gan_explorer.core.data.faces import FACTOR_NAMES

        values = np.concatenate(factor_rows)
        colors = {name: values[:, k] for k, name in enumerate(FACTOR_NAMES)}
    elif predicted:
        colors = {k: np.concatenate([p[k] for p in predicted]) for k in predicted[0]}
    elif color_by is not None and len(set(class_labels)) > 1:  # a folder dataset's sub-folders
        colors, color_source = {"class": np.asarray(class_labels, dtype=np.float64)}, "class folders of the data"
    points = projector.fit(latents.astype(np.float64), seed).astype(np.float32)
    steps.step()
    info = {"family": model.family, "num": num, "space": space, "method": method,
            "data": getattr(dataset, "name", data) if dataset is not None else None}
    if method == "pca":
        info["explained_variance"] = projector.explained
    return LatentMap(method, space, latents.astype(np.float32), points, seeds,
                     np.concatenate(thumbs) if thumbs else None, colors, color_source, truncation_psi,
                     info, projector)


# --- the headless figure ----------------------------------------------------------------------
_VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], np.float64)


def colormap(values: np.ndarray) -> np.ndarray:
    """Values -> [N, 3] uint8 along viridis (min..max of the values)."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = np.nanmin(v), np.nanmax(v)
    t = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    x = np.clip(t, 0, 1) * (len(_VIRIDIS) - 1)
    i = np.minimum(x.astype(int), len(_VIRIDIS) - 2)
    c = _VIRIDIS[i] + (_VIRIDIS[i + 1] - _VIRIDIS[i]) * (x - i)[:, None]
    return np.round(c).astype(np.uint8)


def label_font(size: int = 14):
    """Pillow's built-in font at `size` px where FreeType is available, else its bitmap font."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):
        return ImageFont.load_default()


def render_map_image(latent_map: LatentMap, size: int = 1200, color_by: str | None = None,
                     thumbnail_px: int = 40, markers=(), title: str = "") -> np.ndarray:
    """The map as an HWC uint8 picture: points (coloured by `color_by`), one thumbnail per
    thumbnail_px cell (the point nearest the cell's centre), `markers` [(xy, label)], a legend."""
    from PIL import Image, ImageDraw

    check_figure(size, thumbnail_px)
    if color_by is not None and color_by not in latent_map.colors:
        known = ", ".join(sorted(latent_map.colors)) or "none (no factors for this model and space)"
        raise ConfigError(f"--color-by {color_by}: known factors are {known}")
    header, margin = 44, 24
    canvas = Image.new("RGB", (size, size + header), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = label_font(14)
    pts = latent_map.points.astype(np.float64)
    lo, hi = pts.min(0), pts.max(0)
    scale = (size - 2 * margin - thumbnail_px) / max(float((hi - lo).max()), 1e-12)
    offset = (size - scale * (hi - lo)) / 2 - scale * lo

    def to_px(p):  # map coordinates -> pixels, y up
        q = np.asarray(p, dtype=np.float64) * scale + offset
        return q[..., 0], header + size - q[..., 1]

    xs, ys = to_px(pts)
    colors = colormap(latent_map.colors[color_by]) if color_by else np.full((len(pts), 3), 90, np.uint8)
    r = 2 if len(pts) > 500 else 3
    for x, y, c in zip(xs, ys, colors):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(v) for v in c))
    if latent_map.thumbnails is not None and thumbnail_px:
        cells: dict[tuple, tuple] = {}
        for i, (x, y) in enumerate(zip(xs, ys)):
            key = (int(x // thumbnail_px), int(y // thumbnail_px))
            centre = ((key[0] + 0.5) * thumbnail_px, (key[1] + 0.5) * thumbnail_px)
            d = (x - centre[0]) ** 2 + (y - centre[1]) ** 2
            if key not in cells or d < cells[key][0]:
                cells[key] = (d, i)
        for (cx, cy), (_, i) in cells.items():
            thumb = latent_map.thumbnails[i]
            tile = Image.fromarray(thumb[..., 0] if thumb.shape[-1] == 1 else thumb)
            tile = tile.convert("RGB").resize((thumbnail_px - 4, thumbnail_px - 4), Image.LANCZOS)
            x0, y0 = cx * thumbnail_px + 2, cy * thumbnail_px + 2
            draw.rectangle([x0 - 2, y0 - 2, x0 + thumbnail_px - 3, y0 + thumbnail_px - 3],
                           fill=tuple(int(v) for v in colors[i]))
            canvas.paste(tile, (x0, y0))
    for xy, label in markers:
        mx, my = (float(v) for v in to_px(np.asarray(xy, dtype=np.float64).reshape(2)))
        draw.ellipse([mx - 7, my - 7, mx + 7, my + 7], outline=(220, 20, 60), width=3)
        box = draw.textbbox((mx + 9, my - 8), str(label), font=font)
        draw.rectangle([box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1], fill=(255, 255, 255))
        draw.text((mx + 9, my - 8), str(label), fill=(220, 20, 60), font=font)
    info = latent_map.info
    text = title or (f"{info.get('family', '')}: {len(pts)} latents in {latent_map.space.upper()} "
                     f"by {latent_map.method.upper()}")
    if latent_map.method == "pca" and "explained_variance" in info:
        ev = info["explained_variance"]
        text += f" (axes explain {100 * ev[0]:.1f}% and {100 * ev[1]:.1f}% of the variance)"
    draw.text((margin, 8), text, fill=(0, 0, 0), font=font)
    if color_by:
        values = latent_map.colors[color_by]
        bar_x, bar_w = size - margin - 200, 200
        ramp = colormap(np.linspace(0, 1, bar_w))
        for k in range(bar_w):
            draw.line([(bar_x + k, 26), (bar_x + k, 36)], fill=tuple(int(v) for v in ramp[k]))
        draw.text((bar_x, 8), f"{color_by} ({latent_map.color_source})", fill=(0, 0, 0), font=font)
        draw.text((bar_x - 40, 24), f"{np.nanmin(values):.2f}", fill=(0, 0, 0), font=font)
        draw.text((bar_x + bar_w + 4, 24), f"{np.nanmax(values):.2f}", fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
