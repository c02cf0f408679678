"""The worker thread that owns the model: loading, device moves, rendering, batch jobs.

Render requests go into a latest-wins slot; other commands into a FIFO. Results leave
through queued signals; the UI thread never waits on torch. With sync=True every call runs
at once on the caller's thread (deterministic tests).
"""

from __future__ import annotations

import queue
import traceback

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal

from gan_explorer.core.devices import resolve_device
from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.render import LatestSlot, Renderer, RenderRequest


class RenderWorker(QObject):
    sigRendered = Signal(object)       # RenderResult
    sigModelLoaded = Signal(object)    # dict: token, path, info
    sigModelFailed = Signal(object)    # dict: token, path, error
    sigDirections = Signal(object)     # dict: method, directions, sigma
    sigJobProgress = Signal(object)    # dict: job, done, total
    sigJobDone = Signal(object)        # dict: job, images or error / cancelled

    def __init__(self, sync: bool = False):
        super().__init__()
        self.sync = sync
        self.renderer = Renderer()
        self.device = torch.device("cpu")
        self._slot = LatestSlot()
        self._commands: queue.Queue = queue.Queue()
        self._cancelled: set[int] = set()
        self._thread = None
        self._running = False
        self.rendered_count = 0

    # --- called from the GUI thread -------------------------------------------------
    def start(self):
        if self.sync:
            return
        self._running = True
        self._thread = _WorkerThread(self)
        self._thread.start()

    def stop(self):
        self._running = False
        self._slot.close()
        if self._thread is not None:
            self._thread.wait(5000)
            self._thread = None

    def request_render(self, request: RenderRequest):
        if self.sync:
            self._render(request)
        else:
            self._slot.put(request)

    def load_model(self, path: str, token: int):
        self._command(("load", path, token))

    def set_device(self, name: str):
        self._command(("device", name))

    def compute_directions(self, method: str, k: int = 20):
        self._command(("directions", method, k))

    def render_batch(self, job: int, states: list):
        self._command(("batch", job, states))

    def render_interpolation(self, job: int, keyframes: list, frames_per_segment: int, method: str, space: str,
                             loop: bool, export_path: str | None = None, fps: float = 30.0):
        """Render the frames; with `export_path`, also encode them there (GIF/MP4/PNGs) on this thread."""
        self._command(("interpolate", job, keyframes, frames_per_segment, method, space, loop, export_path, fps))

    def encode_image(self, job: int, image):
        """VAE / autoencoder: an HWC uint8 picture or its path -> its latent (sigJobDone with 'ws')."""
        self._command(("encode", job, image))

    def translate_image(self, job: int, image, direction: str):
        """CycleGAN: an HWC uint8 picture or its path -> (input, translated) images (sigJobDone with 'images')."""
        self._command(("translate", job, image, direction))

    def translate_sample(self, job: int, spec: str, direction: str, index: int):
        """CycleGAN: translate image `index` of a dataset (e.g. the one it was trained on)."""
        self._command(("sample", job, spec, direction, index))

    def cancel_job(self, job: int):
        self._cancelled.add(job)

    def dropped_requests(self) -> int:
        return self._slot.replaced

    def _command(self, command):
        if self.sync:
            self._run_command(command)
        else:
            self._commands.put(command)

    # --- worker side --------------------------------------------------------------------
    def _loop(self):
        torch.set_grad_enabled(False)
        while self._running:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                command = None
            if command is not None:
                self._run_command(command)
                continue
            request = self._slot.take(timeout=0.05)
            if request is not None:
                self._render(request)

    def _render(self, request):
        result = self.renderer.render(request)
        if result.error and result.extra.get("out_of_memory") and self.device.type != "cpu":
            # Out of GPU memory: move to the CPU and try once more, so the user still sees the image.
            self._set_device("cpu")
            result = self.renderer.render(request)
            result.extra["fell_back_to_cpu"] = True
        self.rendered_count += 1
        self.sigRendered.emit(result)

    @torch.no_grad()
    def _run_command(self, command):
        kind = command[0]
        try:
            if kind == "load":
                self._load(*command[1:])
            elif kind == "device":
                self._set_device(command[1])
            elif kind == "directions":
                self._directions(*command[1:])
            elif kind == "batch":
                self._batch(*command[1:])
            elif kind == "interpolate":
                self._interpolate(*command[1:])
            elif kind == "encode":
                self._encode(*command[1:])
            elif kind == "translate":
                self._translate(*command[1:])
            elif kind == "sample":
                self._sample(*command[1:])
        except Exception as exc:  # never let the worker die; the job (if any) ends with the error
            job = command[1] if kind in ("batch", "interpolate", "encode", "translate", "sample") else -1
            message = str(exc) if isinstance(exc, GanExplorerError) else f"{type(exc).__name__}: {exc}"
            self.sigJobDone.emit({"job": job, "error": message,
                                  "traceback": traceback.format_exc()})

    def _load(self, path, token):
        from gan_explorer.core.io.models import open_model

        try:
            model = open_model(path, device=self.device)
        except Exception as exc:
            self.sigModelFailed.emit({"token": token, "path": path, "error": str(exc)})
            return
        self.renderer.set_model(model, token)
        self.sigModelLoaded.emit({"token": token, "path": path, "info": describe_model(model)})

    def _set_device(self, name):
        try:
            device = resolve_device(name)
        except Exception as exc:
            self.sigModelFailed.emit({"token": self.renderer.model_token, "path": "", "error": str(exc)})
            return
        self.device = device
        if self.renderer.model is not None:
            self.renderer.model.to(device)

    def _directions(self, method, k):
        from gan_explorer.core.latent.directions import METHODS

        model = self.renderer.model
        try:
            directions, sigma = METHODS[method](model, k=k)
        except Exception as exc:
            self.sigDirections.emit({"method": method, "error": str(exc)})
            return
        self.sigDirections.emit({"method": method, "directions": directions, "sigma": sigma})

    def _batch(self, job, states):
        images = self._render_states(job, states, total=len(states))
        if images is not None:
            self.sigJobDone.emit({"job": job, "images": images})

    def _take_cancel(self, job) -> bool:
        if job in self._cancelled:
            self._cancelled.discard(job)
            return True
        return False

    def _render_states(self, job, states, total):
        """Render `states` with progress out of `total`; None when it ended (error or cancel, already reported)."""
        images = []
        for i, state in enumerate(states):
            if self._take_cancel(job):
                self.sigJobDone.emit({"job": job, "cancelled": True, "images": images})
                return None
            result = self.renderer.render(RenderRequest(-1, state, self.renderer.model_token))
            if result.error:
                self.sigJobDone.emit({"job": job, "error": result.error})
                return None
            images.append(result.image)
            self.sigJobProgress.emit({"job": job, "done": i + 1, "total": total})
        return images

    def _interpolate(self, job, keyframes, frames_per_segment, method, space, loop, export_path=None, fps=30.0):
        from dataclasses import replace

        from gan_explorer.core.latent.interpolation import interpolation_ws

        try:
            ws = interpolation_ws(self.renderer.model, keyframes, frames_per_segment, method, space, loop)
        except Exception as exc:
            self.sigJobDone.emit({"job": job, "error": str(exc)})
            return
        base = keyframes[0]
        states = [replace(base, ws=tuple(map(tuple, w.cpu().numpy().tolist())), w_offsets=(), mix_seed=-1)
                  for w in ws]
        # Exporting counts twice: once rendering each frame, once encoding it.
        total = len(states) * (2 if export_path else 1)
        images = self._render_states(job, states, total)
        if images is None:
            return
        if export_path:
            self._export(job, images, export_path, fps)
        else:
            self.sigJobDone.emit({"job": job, "images": images})

    def _export(self, job, images, path, fps):
        """Encode on the worker thread: a long MP4 must not freeze the window."""
        from gan_explorer.core.io.video import export_frames

        n = len(images)
        try:
            export_frames(images, path, fps=fps,
                          progress=lambda done, _total: self.sigJobProgress.emit(
                              {"job": job, "done": n + done, "total": 2 * n}),
                          should_stop=lambda: self._take_cancel(job))
        except KeyboardInterrupt:
            self.sigJobDone.emit({"job": job, "cancelled": True, "images": []})
            return
        except Exception as exc:
            self.sigJobDone.emit({"job": job, "error": f"Export to {path} failed: {exc}"})
            return
        self.sigJobDone.emit({"job": job, "exported": str(path), "frames": n})

    def _image_tensor(self, image, resolution, channels):
        """An HWC uint8 array, or a picture's path (decoded here, off the UI thread) -> a model input."""
        from pathlib import Path

        from PIL import Image

        from gan_explorer.core.data.folder import decode_image, fit_square

        if isinstance(image, (str, Path)):
            try:
                picture = decode_image(Path(image).read_bytes(), str(image), channels)
            except (OSError, ValueError) as exc:
                raise GanExplorerError(f"{image}: not a readable image ({exc})") from None
        else:
            picture = Image.fromarray(image).convert("RGB" if channels == 3 else "L")
        array = np.asarray(fit_square(picture, resolution))
        if array.ndim == 2:
            array = array[:, :, None]
        x = torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 127.5 - 1
        return x[None].to(self.device)

    def _encode(self, job, image):
        model = self.renderer.model
        if model is None or not model.capabilities.has_encoder:
            self.sigJobDone.emit({"job": job, "error": "this model has no encoder"})
            return
        ws = model.encode(self._image_tensor(image, model.img_resolution, model.img_channels))
        self.sigJobDone.emit({"job": job, "ws": ws[0].cpu().numpy()})

    def _translate(self, job, image, direction):
        from gan_explorer.core.io.images import to_uint8

        model = self.renderer.model
        if model is None or not model.capabilities.is_translation:
            self.sigJobDone.emit({"job": job, "error": "this model does not translate images"})
            return
        x = self._image_tensor(image, model.img_resolution, model.img_channels)
        y = model.translate(x, direction)
        self.sigJobDone.emit({"job": job, "images": [to_uint8(x)[0], to_uint8(y)[0]]})


    def _sample(self, job, spec, direction, index):
        from gan_explorer.core.data import open_dataset

        model = self.renderer.model
        try:
            dataset = open_dataset(spec, model.img_resolution, model.img_channels)
            image = dataset.image(index) if hasattr(dataset, "image") else dataset.load(index % len(dataset))
        except Exception as exc:
            self.sigJobDone.emit({"job": job, "error": f"dataset sample: {exc}"})
            return
        if image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
        self._translate(job, image, direction)


class _WorkerThread(QThread):
    def __init__(self, worker):
        super().__init__()
        self.worker = worker

    def run(self):
        self.worker._loop()


def describe_model(model) -> dict:
    caps = model.capabilities
    info = {"family": model.family, "img_resolution": model.img_resolution, "img_channels": model.img_channels,
            "parameters": int(model.num_parameters()), "capabilities": {k: v for k, v in vars(caps).items()},
            "provenance": getattr(model, "provenance", {}), "config": model.config.to_dict()}
    if not caps.is_translation:
        info.update(z_dim=model.z_dim, w_dim=model.w_dim, num_ws=model.num_ws,
                    w_avg=np.asarray(model.w_avg.detach().cpu()))
    return info
