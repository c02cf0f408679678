"""What each job does, on the session's worker thread.

A runner is `run(context, job, result)`: it fills `result` (a JobResult) and calls
`context.check()` between units of work (one frame, one image), which raises Cancelled after a
cancel and serves a waiting slider render first.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.requests import (
    Call, Cancelled, EncodePicture, FindDirections, Interpolate, RenderBatch, RenderRequest, TranslatePicture,
    TranslateSample,
)


def render_states(context, states, total: int | None = None, offset: int = 0, ws_out: list | None = None):
    """Render each state through the session's renderer; progress counts from `offset` out of `total`.
    The rendered ws of each are appended to `ws_out` when it is given."""
    total = total or len(states)
    images = []
    for i, state in enumerate(states):
        context.check()
        rendered = context.renderer.render(RenderRequest(-1, state, context.renderer.model_token))
        if rendered.error:
            raise GanExplorerError(rendered.error)
        images.append(rendered.image)
        if ws_out is not None:
            ws_out.append(rendered.ws)
        context.progress(offset + i + 1, total, preview=rendered.image)
    return images


def run_batch(context, job: RenderBatch, result):
    result.value = []  # the ws each image was rendered from
    result.images = render_states(context, job.states, ws_out=result.value)


def interpolation_states(model, job: Interpolate):
    from gan_explorer.core.latent.interpolation import interpolation_ws

    ws = interpolation_ws(model, list(job.keyframes), job.frames_per_segment, job.method, job.space, job.loop)
    base = job.keyframes[0]
    return [replace(base, ws=tuple(map(tuple, w.cpu().numpy().tolist())), w_offsets=(), mix_seed=-1,
                    mix_layers=(), z_edits=()) for w in ws]


def run_interpolate(context, job: Interpolate, result):
    states = interpolation_states(context.model, job)
    if not job.export_path:
        result.images = render_states(context, states)
        return
    # Exporting: each frame is rendered and handed to the encoder at once, so progress and Cancel
    # cover the encoding too, and cancel leaves no partial file.
    from gan_explorer.core.io.video import export_frames

    n = len(states)

    def frames():
        for i, state in enumerate(states):
            (image,) = render_states(context, [state], total=n, offset=i)
            yield image

    def should_stop():
        context.check()
        return False

    try:
        export_frames(frames(), job.export_path, fps=job.fps, size=job.export_size, count=n,
                      should_stop=should_stop, metadata=job.metadata)
    except KeyboardInterrupt:  # the encoder's own stop signal
        raise Cancelled() from None
    result.exported = str(job.export_path)
    result.value = n


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


def run_encode(context, job: EncodePicture, result):
    model = context.model
    if not model.capabilities.has_encoder:
        raise GanExplorerError(f"the {model.family} family has no encoder")
    ws = model.encode(picture_tensor(job.picture, model.img_resolution, model.img_channels, model_device(model)))
    result.ws = ws[0].cpu().numpy()


def _translate(model, picture, direction) -> list[np.ndarray]:
    from gan_explorer.core.io.images import to_uint8

    if not model.capabilities.is_translation:
        raise GanExplorerError(f"the {model.family} family does not translate pictures")
    x = picture_tensor(picture, model.img_resolution, model.img_channels, model_device(model))
    return [to_uint8(x)[0], to_uint8(model.translate(x, direction))[0]]


def run_translate(context, job: TranslatePicture, result):
    result.images = _translate(context.model, job.picture, job.direction)


def run_translate_sample(context, job: TranslateSample, result):
    from gan_explorer.core.data import open_dataset

    model = context.model
    try:
        dataset = open_dataset(job.data, model.img_resolution, model.img_channels)
        image = dataset.image(job.index) if hasattr(dataset, "image") else dataset.load(job.index % len(dataset))
    except Exception as exc:
        raise GanExplorerError(f"dataset {job.data}: {exc}") from None
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    result.images = _translate(model, image, job.direction)


def run_find_directions(context, job: FindDirections, result):
    from gan_explorer.core.latent.directions import METHODS

    if job.method not in METHODS:
        raise GanExplorerError(f"direction method {job.method!r}: use one of {', '.join(METHODS)}")
    context.progress(0, 1, f"finding {job.method} directions")
    directions, sigma = METHODS[job.method](context.model, k=job.count)
    result.directions, result.sigma = np.asarray(directions), np.asarray(sigma)
    result.value = job.method
    context.progress(1, 1)


def run_call(context, job: Call, result):
    result.value = job.function(context.model, context, **dict(job.kwargs))


RUNNERS = {
    RenderBatch: run_batch,
    Interpolate: run_interpolate,
    EncodePicture: run_encode,
    TranslatePicture: run_translate,
    TranslateSample: run_translate_sample,
    FindDirections: run_find_directions,
    Call: run_call,
}
