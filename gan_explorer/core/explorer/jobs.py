"""Every kind of long work the explorer does: one typed job and one typed result each.

A job is a frozen dataclass (numpy / plain data, so it can cross threads) with
`run(context) -> result`, run on the session's worker thread. `context.check()` between units of
work (one frame, one image) raises Cancelled after a cancel and serves a waiting slider render
first; `context.progress(done, total, message, preview)` reaches the job's handle.

    handle = session.submit(FindDirections(method="sefa"), token)
    handle.on_done(lambda h: print(h.result.sigma))

Results are plain data or core result objects whose arrays are numpy (never torch), so the
window never touches torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_explorer.core.errors import Cancelled, GanExplorerError
from gan_explorer.core.explorer.requests import RenderRequest
from gan_explorer.core.explorer.state import LatentState


class Job:
    """Base of every job: long work with progress and cancel, run between slider renders."""

    def run(self, context):  # pragma: no cover - every job defines it
        raise NotImplementedError


# --- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RenderedImages:
    images: tuple        # HWC uint8 arrays, one per state
    ws: tuple            # [num_ws, w_dim] each image was rendered from


@dataclass(frozen=True)
class Exported:
    path: str            # the file written
    frames: int = 1


@dataclass(frozen=True)
class Translation:
    source: np.ndarray   # the picture as the model sees it (HWC uint8)
    translated: np.ndarray


@dataclass(frozen=True)
class EncodedLatent:
    ws: np.ndarray       # [num_ws, w_dim]


@dataclass(frozen=True)
class FoundDirections:
    method: str          # pca or sefa
    directions: np.ndarray  # [k, w_dim] unit vectors
    sigma: np.ndarray    # [k] spread of sampled w along each


@dataclass(frozen=True)
class AttributeSamples:
    seeds: tuple         # the seeds shown
    ws: np.ndarray       # [n, num_ws, w_dim]: what a mark refers to
    images: np.ndarray   # NHWC uint8


@dataclass(frozen=True)
class MapMarks:
    bookmarks: tuple     # ws of each bookmark
    path: tuple          # ws of each keyframe


# --- rendering -------------------------------------------------------------------------------
def render_states(context, states, total: int | None = None, offset: int = 0):
    """Render each state through the session's renderer; progress counts from `offset` out of `total`.
    -> (images, ws)."""
    total = total or len(states)
    images, ws = [], []
    for i, state in enumerate(states):
        context.check()
        rendered = context.renderer.render(RenderRequest(-1, state, context.renderer.model_token, exact=True))
        if rendered.error:
            raise GanExplorerError(rendered.error)
        images.append(rendered.image)
        ws.append(rendered.ws)
        context.progress(offset + i + 1, total, preview=rendered.image)
    return images, ws


@dataclass(frozen=True)
class RenderBatch(Job):
    """Render several states (a grid, preview strips, a bookmark's image) -> RenderedImages."""

    states: tuple[LatentState, ...] = ()

    def run(self, context) -> RenderedImages:
        images, ws = render_states(context, self.states)
        return RenderedImages(tuple(images), tuple(ws))


@dataclass(frozen=True)
class Interpolate(Job):
    """Frames between keyframes: played (-> RenderedImages) or, with `export_path`, encoded there
    frame by frame (-> Exported; a cancel leaves no partial file)."""

    keyframes: tuple[LatentState, ...] = ()
    frames_per_segment: int = 30
    method: str = "slerp"           # lerp or slerp
    space: str = "w"                # z, w or w+
    loop: bool = False
    export_path: str | None = None  # .gif, .mp4, or a folder of PNG frames
    fps: float = 30.0
    export_size: int | None = None  # frames resized to this many pixels a side before encoding
    metadata: dict | None = None    # provenance written into the exported file

    def states(self, model) -> list[LatentState]:
        from gan_explorer.core.latent.interpolation import interpolation_ws

        ws = interpolation_ws(model, list(self.keyframes), self.frames_per_segment, self.method, self.space,
                              self.loop)
        base = self.keyframes[0]
        return [replace(base, ws=tuple(map(tuple, w.cpu().numpy().tolist())), w_offsets=(), mix_seed=-1,
                        mix_layers=(), z_edits=()) for w in ws]

    def run(self, context):
        states = self.states(context.model)
        if not self.export_path:
            images, ws = render_states(context, states)
            return RenderedImages(tuple(images), tuple(ws))
        from gan_explorer.core.io.video import export_frames

        n = len(states)

        def frames():
            for i, state in enumerate(states):
                (image,), _ = render_states(context, [state], total=n, offset=i)
                yield image

        def should_stop():
            context.check()
            return False

        try:
            export_frames(frames(), self.export_path, fps=self.fps, size=self.export_size, count=n,
                          should_stop=should_stop, metadata=self.metadata)
        except KeyboardInterrupt:  # the encoder's own stop signal
            raise Cancelled() from None
        return Exported(str(self.export_path), n)


@dataclass(frozen=True)
class SaveImage(Job):
    """`state` rendered in full (never a preview), upscaled `scale` times (Lanczos), written
    atomically as a PNG carrying its provenance -> Exported."""

    path: str = ""
    state: LatentState = field(default_factory=LatentState)
    scale: int = 1
    model_name: str = ""
    content_hash: str = ""

    def run(self, context) -> Exported:
        from gan_explorer.core.explorer.provenance import export_metadata
        from gan_explorer.core.io.images import png_info, save_image
        from gan_explorer.core.io.video import resize_frame

        (image,), (ws,) = render_states(context, [self.state])
        extra = {"upscale": {"factor": int(self.scale), "method": "lanczos"}} if self.scale > 1 else {}
        metadata = export_metadata(self.model_name, self.content_hash, self.state, ws, **extra)
        if self.scale > 1:
            image = resize_frame(image, image.shape[0] * self.scale)
        context.check()
        save_image(self.path, image, pnginfo=png_info(metadata))
        return Exported(str(self.path))


@dataclass(frozen=True)
class BookmarkSheet(Job):
    """Every bookmark rendered and laid out as one PNG with its caption under it -> Exported."""

    path: str = ""
    states: tuple[LatentState, ...] = ()
    captions: tuple[str, ...] = ()
    metadata: dict | None = None

    def run(self, context) -> Exported:
        from gan_explorer.core.io.images import contact_sheet, png_info, save_image

        images, _ = render_states(context, list(self.states))
        save_image(self.path, contact_sheet(images, list(self.captions)), pnginfo=png_info(self.metadata))
        return Exported(str(self.path), len(images))


# --- pictures ----------------------------------------------------------------------------------
def model_device(model) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def picture_tensor(picture, resolution: int, channels: int, device) -> torch.Tensor:
    """An HWC uint8 array or a picture's path (decoded here, off the UI thread) -> [1, C, R, R] in [-1, 1]."""
    from PIL import Image

    from gan_explorer.core.data.folder import decode_image, fit_square

    if isinstance(picture, (str, Path)):
        try:
            image = decode_image(Path(picture).read_bytes(), str(picture), channels)
        except (OSError, ValueError) as exc:
            raise GanExplorerError(f"{picture}: not a readable image ({exc})") from None
    else:
        image = Image.fromarray(np.asarray(picture, dtype=np.uint8)).convert("RGB" if channels == 3 else "L")
    array = np.asarray(fit_square(image, resolution))
    if array.ndim == 2:
        array = array[:, :, None]
    x = torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 127.5 - 1
    return x[None].to(device)


@dataclass(frozen=True)
class EncodePicture(Job):
    """A VAE / autoencoder's latent of a picture -> EncodedLatent."""

    picture: Any = None  # HWC uint8 array or a file path (decoded on the worker)

    def run(self, context) -> EncodedLatent:
        model = context.model
        if not model.capabilities.has_encoder:
            raise GanExplorerError(f"the {model.family} family has no encoder")
        ws = model.encode(picture_tensor(self.picture, model.img_resolution, model.img_channels, model_device(model)))
        return EncodedLatent(ws[0].cpu().numpy())


def _translate(model, picture, direction) -> Translation:
    from gan_explorer.core.io.images import to_uint8

    if not model.capabilities.is_translation:
        raise GanExplorerError(f"the {model.family} family does not translate pictures")
    x = picture_tensor(picture, model.img_resolution, model.img_channels, model_device(model))
    return Translation(to_uint8(x)[0], to_uint8(model.translate(x, direction))[0])


@dataclass(frozen=True)
class TranslatePicture(Job):
    """CycleGAN: a picture translated A -> B or B -> A -> Translation."""

    picture: Any = None
    direction: str = "AB"

    def run(self, context) -> Translation:
        return _translate(context.model, self.picture, self.direction)


@dataclass(frozen=True)
class TranslateSample(Job):
    """CycleGAN: a picture of its training data, translated -> Translation."""

    data: str = ""        # the dataset spec the model was trained on
    direction: str = "AB"
    index: int = 0

    def run(self, context) -> Translation:
        from gan_explorer.core.data import open_dataset

        model = context.model
        try:
            dataset = open_dataset(self.data, model.img_resolution, model.img_channels)
            image = dataset.image(self.index) if hasattr(dataset, "image") else dataset.load(self.index % len(dataset))
        except Exception as exc:
            raise GanExplorerError(f"dataset {self.data}: {exc}") from None
        if image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
        return _translate(model, image, self.direction)


@dataclass(frozen=True)
class ProjectPicture(Job):
    """Find the latent whose image looks like a picture (optimisation) -> ProjectionResult; each
    progress step carries the reconstruction so far as its preview."""

    picture: Any = None          # path or HWC uint8 array
    space: str = "w+"
    steps: int = 300
    loss: str = "auto"
    crop: tuple | None = None    # (left, top, right, bottom) in the picture's pixels; None: centre

    def run(self, context):
        from gan_explorer.core.latent.projection import project

        def progress(step, total, loss_value, preview):
            context.progress(step, total, f"loss {loss_value:.4g}", preview)

        with torch.enable_grad():
            return project(context.model, self.picture, space=self.space, steps=self.steps, loss=self.loss,
                           crop=self.crop, progress=progress, should_stop=context.check)


@dataclass(frozen=True)
class ReadPicture(Job):
    """The provenance a picture carries (None for an ordinary picture): read on the worker, never on
    the UI thread (a hostile file may be slow to read) -> core.latent.provenance.Provenance | None."""

    path: str = ""

    def run(self, context):
        from gan_explorer.core.latent.provenance import read_picture_provenance

        return read_picture_provenance(self.path)


@dataclass(frozen=True)
class LoadLatent(Job):
    """A saved latent file's ws for the open model's shape (the first, and how many it holds)
    -> (EncodedLatent, count)."""

    path: str = ""

    def run(self, context):
        from gan_explorer.core.latent.files import load_latent

        model = context.model
        ws = load_latent(self.path, model.num_ws, model.w_dim)
        return EncodedLatent(ws[0].cpu().numpy()), len(ws)


# --- directions and analyses -------------------------------------------------------------------
@dataclass(frozen=True)
class FindDirections(Job):
    """PCA (GANSpace) or SeFa directions of the open model -> FoundDirections."""

    method: str = "pca"
    count: int = 20

    def run(self, context) -> FoundDirections:
        from gan_explorer.core.latent.directions import METHODS

        if self.method not in METHODS:
            raise GanExplorerError(f"direction method {self.method!r}: use one of {', '.join(METHODS)}")
        context.progress(0, 1, f"finding {self.method} directions")
        directions, sigma = METHODS[self.method](context.model, k=self.count)
        context.progress(1, 1)
        return FoundDirections(self.method, np.asarray(directions), np.asarray(sigma))


def _hooks(context) -> dict:
    return {"progress": context.progress, "should_stop": context.check}


@dataclass(frozen=True)
class ComputeMap(Job):
    """A 2-D map of sampled latents -> core.analysis.latent_map.LatentMap."""

    num: int = 1000
    space: str = "w"
    method: str = "pca"
    truncation_psi: float = 1.0

    def run(self, context):
        from gan_explorer.core.analysis.latent_map import compute_map

        return compute_map(context.model, num=self.num, space=self.space, method=self.method,
                           truncation_psi=self.truncation_psi, **_hooks(context))


@dataclass(frozen=True)
class PlaceOnMap(Job):
    """The ws of bookmarks and keyframes (no synthesis), to place them on a map -> MapMarks."""

    bookmarks: tuple[LatentState, ...] = ()
    keyframes: tuple[LatentState, ...] = ()

    def run(self, context) -> MapMarks:
        from gan_explorer.core.render import ws_for_state

        def ws(states):
            out = []
            for state in states:
                context.check()
                out.append(ws_for_state(context.model, state)[0].cpu().numpy())
            return tuple(out)

        return MapMarks(ws(self.bookmarks), ws(self.keyframes))


@dataclass(frozen=True)
class MapPointLatent(Job):
    """The ws of one point of a map -> EncodedLatent."""

    latent_map: Any = None
    index: int = 0

    def run(self, context) -> EncodedLatent:
        return EncodedLatent(self.latent_map.ws(context.model, self.index)[0].detach().cpu().numpy())


@dataclass(frozen=True)
class ListLayers(Job):
    """Every layer of the generator -> [LayerInfo, ...]."""

    def run(self, context):
        from gan_explorer.core.analysis.layers import list_layers

        return list_layers(context.model, None)


def _ws_tensor(ws: np.ndarray, model) -> torch.Tensor:
    return torch.from_numpy(np.asarray(ws, np.float32)[None]).to(model_device(model))


@dataclass(frozen=True)
class ViewLayer(Job):
    """One layer's channels for the current ws -> LayerView."""

    ws: np.ndarray = None
    layer: str = ""
    channel: int | None = None
    db: bool = False
    per_channel: bool = False
    noise_mode: str = "const"

    def run(self, context):
        from gan_explorer.core.analysis.layers import layer_view

        return layer_view(context.model, _ws_tensor(self.ws, context.model), self.layer, channel=self.channel,
                          db=self.db, per_channel=self.per_channel, noise_mode=self.noise_mode)


@dataclass(frozen=True)
class AblateChannels(Job):
    """The image with some channels of a layer scaled (0: removed) -> HWC uint8."""

    ws: np.ndarray = None
    layer: str = ""
    channels: tuple = ()
    scale: float = 0.0
    noise_mode: str = "const"

    def run(self, context) -> np.ndarray:
        from gan_explorer.core.analysis.layers import render_ablated
        from gan_explorer.core.io.images import to_uint8

        return to_uint8(render_ablated(context.model, _ws_tensor(self.ws, context.model), self.layer,
                                       list(self.channels), self.scale, noise_mode=self.noise_mode))[0]


@dataclass(frozen=True)
class ProbeFactors(Job):
    """The factor probe (procedural faces) -> core.analysis.probe.ProbeReport."""

    num: int = 2000
    conditional: str | None = "all"
    truncation_psi: float = 1.0
    options: tuple = ()  # ((name, value), ...): probe_model's other keyword arguments (factors, effect_seeds, ...)

    def run(self, context):
        from gan_explorer.core.analysis.probe import probe_model

        return probe_model(context.model, num=self.num, conditional=self.conditional,
                           truncation_psi=self.truncation_psi, **dict(self.options), **_hooks(context))


@dataclass(frozen=True)
class SampleForAttribute(Job):
    """Samples for the user to mark 'has it' / 'has not' -> AttributeSamples."""

    count: int = 48
    seed: int = 0
    truncation_psi: float = 1.0

    def run(self, context) -> AttributeSamples:
        from gan_explorer.core.analysis.attribute import attribute_candidates
        from gan_explorer.core.io.images import to_uint8

        if self.count < 1:
            raise GanExplorerError(f"attribute samples: the count must be at least 1, not {self.count}")
        grid = attribute_candidates(context.model, self.count, self.seed, self.truncation_psi)
        images = []
        for i in range(0, self.count, 16):
            context.check()
            images.append(to_uint8(context.model.synthesize(grid.ws[i:i + 16])))
            context.progress(min(i + 16, self.count), self.count)
        return AttributeSamples(tuple(grid.seeds), grid.ws.cpu().numpy(), np.concatenate(images))


@dataclass(frozen=True)
class FitAttribute(Job):
    """A linear boundary in W between marked samples -> core.analysis.attribute.AttributeFit."""

    positive: np.ndarray = None
    negative: np.ndarray = None

    def run(self, context):
        from gan_explorer.core.analysis.attribute import fit_attribute

        return fit_attribute(self.positive, self.negative)


@dataclass(frozen=True)
class MeasureQuality(Job):
    """Quality metrics against a dataset on offline features -> the evaluation's result."""

    data: str = "faces:64"
    metrics: tuple = ("fd", "kid", "pr")
    num: int = 1000
    grid_path: str | None = None  # where the memorisation grid goes (metric nn)

    def run(self, context):
        from gan_explorer.core.metrics.evaluate import evaluate_model

        return evaluate_model(context.model, self.data, list(self.metrics), self.num, grid_path=self.grid_path,
                              progress=context.progress, should_stop=context.check)
