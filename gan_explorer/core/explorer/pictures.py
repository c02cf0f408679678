"""Pictures in and out of the explorer (no Qt): encode, project or translate a picture; save the
image or the latent; open an exported PNG or a saved latent back.

A picture that becomes the latent (encoded, projected, a loaded latent) replaces the state: its ws
are the image, with no earlier edit applied on top of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.jobs import (
    EncodePicture, LoadLatent, ProjectPicture, ReadPicture, SaveImage, TranslatePicture, TranslateSample,
)
from gan_explorer.core.explorer.latent import LatentModel

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
LATENT_SUFFIXES = (".npy", ".json")


class PicturesModel:
    """See the module docstring. `last_projection` is the latest projection's result."""

    def __init__(self, viewer, latent: LatentModel):
        self.viewer = viewer
        self.latent = latent
        self.events = EventGroup("projected", "translated", "message", "tuning", "tuned")
        self.last_projection = None
        self.projecting: JobHandle | None = None
        self.tuning: JobHandle | None = None   # a pivotal tuning running after its projection
        self.last_tuning = None                # its TunedPicture

    # --- pictures into the latent ------------------------------------------------------------------
    def encode(self, picture) -> JobHandle:
        """A VAE / autoencoder's latent of a picture (path or HWC array) becomes the image."""
        handle = self.viewer.submit(EncodePicture(picture=picture))
        handle.on_done(lambda h: self.latent.replace_latent(h.result.ws) if h.ok else None)
        return handle

    def project(self, picture, space: str = "w+", steps: int = 300, loss: str = "auto", crop=None,
                tune_steps: int = 0) -> JobHandle:
        """Optimise the latent whose image looks like `picture`; it becomes the image when done. The
        reconstruction so far is shown while it runs. `tune_steps` > 0 keeps the likeness: the
        projection is in W (the pivot) and a pivotal tuning of that many steps follows (`tuning`
        event with its handle); a cancelled tuning leaves the plain projection."""
        if tune_steps:
            space = "w"
        handle = self.viewer.submit(ProjectPicture(picture=picture, space=space, steps=int(steps), loss=loss,
                                                   crop=tuple(crop) if crop else None))
        self.projecting = handle
        handle.on_progress(lambda p: self.viewer.show_frame(p.preview) if p.preview is not None else None)
        handle.on_done(lambda h: self._projected(h, int(tune_steps)))
        return handle

    def _projected(self, handle: JobHandle, tune_steps: int = 0):
        if handle is self.projecting:
            self.projecting = None
        if not handle.ok:
            return
        projection = handle.result
        self.last_projection = projection
        self.last_tuning = None
        # The projection is the base model's answer: a tuning of an earlier photo does not apply to it.
        self.latent.replace_latent(projection.ws[0], tuning="")
        self.events.message.emit(f"Projected into {projection.space.upper()}: {projection.psnr[0]:.1f} dB "
                                 f"in {projection.steps} steps")
        self.events.projected.emit(projection)
        if tune_steps > 0:
            self.tune(projection, tune_steps)

    # --- pivotal tuning (issue #28) -----------------------------------------------------------------
    def tune(self, projection, steps: int) -> JobHandle:
        """Tune the weights so that `projection`'s W latent (the pivot) renders its photo; when done
        the state renders through the tuning (undoable), and every edit after it too."""
        from gan_explorer.core.explorer.tuning_jobs import TunePicture

        handle = self.viewer.submit(TunePicture(target=projection.target[0], pivot_ws=projection.ws[:1],
                                                steps=int(steps)))
        self.tuning = handle
        handle.on_progress(lambda p: self.viewer.show_frame(p.preview) if p.preview is not None else None)
        handle.on_done(self._tuned)
        self.events.tuning.emit(handle)
        return handle

    def _tuned(self, handle: JobHandle):
        if handle is self.tuning:
            self.tuning = None
        if not handle.ok:
            if handle.cancelled:
                self.events.message.emit("Tuning cancelled: the plain projection stays")
            return
        tuned = handle.result
        self.last_tuning = tuned
        self.latent.change(tuning=tuned.content_hash)
        self.events.message.emit(f"Tuning applied ({tuned.content_hash[:8]}): {tuned.psnr:.1f} dB, the W pivot "
                                 f"{tuned.pivot_psnr:.1f} dB, {tuned.steps} steps in {tuned.seconds:.0f} s "
                                 f"({tuned.stored_bytes / 1024:.0f} KB stored)")
        self.events.tuned.emit(tuned)

    def return_to_base(self) -> bool:
        """The current latent rendered by the base model again (undoable)."""
        if not self.latent.state.tuning:
            return False
        changed = self.latent.change(tuning="")
        if changed:
            self.events.message.emit("Back to the base model (the tuning is kept: Undo brings it back)")
        return changed

    def translate(self, picture, direction: str = "AB") -> JobHandle:
        handle = self.viewer.submit(TranslatePicture(picture=picture, direction=direction))
        handle.on_done(self._translated)
        return handle

    def translate_sample(self, direction: str = "AB", index: int = 0) -> JobHandle | None:
        info = self.viewer.info
        spec = (info.provenance if info else {}).get("data" if direction == "AB" else "data_b")
        if not spec:
            self.events.message.emit("This model does not say which data it was trained on: open a picture")
            return None
        handle = self.viewer.submit(TranslateSample(data=spec, direction=direction, index=int(index)))
        handle.on_done(self._translated)
        return handle

    def _translated(self, handle: JobHandle):
        if handle.ok:
            self.viewer.show_frame(np.concatenate([handle.result.source, handle.result.translated], axis=1))
            self.events.translated.emit(handle.result)

    # --- exported pictures and latent files back in ----------------------------------------------------
    def open_picture(self, path, on_plain=None) -> JobHandle:
        """A picture the user opened or dropped, read on the worker: one this app exported restores the
        state it was made from (or says which model it needs); an ordinary one goes to `on_plain(path)`
        (to be encoded, projected or translated)."""
        handle = self.viewer.submit(ReadPicture(path=str(path)))
        handle.on_done(lambda h: self._picture_read(h, path, on_plain))
        return handle

    def _picture_read(self, handle: JobHandle, path, on_plain):
        if not handle.ok:
            return  # a failure is already one line in the status bar
        if handle.result is None:
            if on_plain is not None:
                on_plain(path)
            return
        self.restore_provenance(path, handle.result)

    def restore(self, path) -> bool:
        """Read and restore an exported PNG here and now (the Python API and scripts; the window uses
        `open_picture`, which reads on the worker). False for a picture without provenance."""
        from gan_explorer.core.latent.provenance import read_picture_provenance

        try:
            provenance = read_picture_provenance(path)
        except GanExplorerError as exc:
            self.events.message.emit(str(exc))
            return True
        if provenance is None:
            return False
        self.restore_provenance(path, provenance)
        return True

    def restore_provenance(self, path, provenance) -> bool:
        """Make the state a picture was exported from the current one, when it was made with the open
        model; otherwise say which model it needs."""
        name = Path(str(path)).name
        info = self.viewer.info
        if info is None or not provenance.made_with(info.content_hash):
            self.events.message.emit(f"{name} was made with {provenance.model_name or 'another model'}"
                                     f" (sha256 {provenance.model_hash[:12]}…): open that model, then open it again")
            return False
        self.latent.set_state(provenance.state)
        self.events.message.emit(f"Restored the latent of {name}")
        return True

    def open_latent(self, path) -> JobHandle | None:
        """A saved latent (.npy / .json, or an exported PNG's ws), read on the worker, becomes the image;
        one line when it cannot (wrong shape, unreadable)."""
        if not self.viewer.explorable:
            self.events.message.emit("Open a model with a latent space first")
            return None
        handle = self.viewer.submit(LoadLatent(path=str(path)))
        handle.on_done(lambda h: self._latent_loaded(h, path))
        return handle

    def _latent_loaded(self, handle: JobHandle, path):
        if not handle.ok:
            return
        latent, count = handle.result
        name = Path(str(path)).name
        self.latent.replace_latent(latent.ws)
        self.events.message.emit(f"Opened the latent {name}" + (f" (the first of {count})" if count > 1 else ""))

    # --- out ---------------------------------------------------------------------------------------
    def save_image(self, path, scale: int = 1) -> JobHandle | None:
        """The current image as a PNG carrying its provenance, upscaled `scale` times (Lanczos, said in
        the metadata); written on the worker, so a large upscale never blocks the window."""
        if not self.viewer.explorable:
            return None
        info = self.viewer.info
        return self.viewer.submit(SaveImage(path=str(path), state=self.latent.state, scale=int(scale),
                                            model_name=self.viewer.model_name, content_hash=info.content_hash))

    def save_latent(self, path):
        """The ws of the image shown (.npy, or .json with the seed and model name)."""
        import torch

        from gan_explorer.core.latent.files import save_latent

        ws = self.viewer.current_ws
        if ws is None:
            raise GanExplorerError("no image is shown yet: nothing to save")
        save_latent(path, torch.from_numpy(np.asarray(ws, np.float32)[None]), seed=self.latent.state.seed,
                    model=self.viewer.model_name)
