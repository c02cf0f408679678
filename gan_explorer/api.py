"""The Python API: the models the window explores, from a script or a notebook.

    import gan_explorer as gx

    m = gx.open("model.pkl")                 # ours, an NVIDIA pickle or a rosinality checkpoint
    img = m.render(seed=3, psi=0.7)          # numpy HWC uint8
    m.save("seed3.png", seed=3, psi=0.7)     # a PNG that carries its latent: it restores in the window

A thin layer over gan_explorer.core (never Qt): the same loading, rendering, directions, style
mixing and projection the window runs, so an image made here is the image the window shows for
the same latent. A latent is the window's LatentState (frozen, JSON-able); `state()` makes one
from NVIDIA's names (seed, psi = truncation_psi, cutoff = truncation_cutoff, noise = noise_mode),
`render`, `ws` and `save` take one or those same keywords. torch is imported by `open`, not by
`import gan_explorer`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.explorer.state import LatentState

# The short names of the state fields scripts set most (NVIDIA's tools call them so on the command line).
SHORT_NAMES = {"psi": "truncation_psi", "cutoff": "truncation_cutoff", "noise": "noise_mode"}
_FIELDS = {f.name for f in fields(LatentState)}


def open(path: str | os.PathLike, device: str = "cpu") -> "Model":  # noqa: A001 (gx.open reads as it should)
    """The model in the file at `path` (any format the window opens), on `device` ("cpu", "cuda",
    "mps" or "auto"); a CheckpointError names the file and the reason when it cannot be read."""
    from gan_explorer.core.devices import resolve_device
    from gan_explorer.core.io.models import open_model

    return Model(open_model(path, device=resolve_device(str(device))), path)


@dataclass(frozen=True, eq=False)
class Directions:
    """Directions found in a model's latent space (as the window's direction sliders have them):
    unit vectors in W [count, w_dim] and the spread of sampled w along each (sigma)."""

    method: str
    vectors: np.ndarray
    sigma: np.ndarray
    num_ws: int

    def __len__(self) -> int:
        return len(self.vectors)

    def edit(self, state: LatentState, index: int, amount: float, layers: tuple[int, int] | None = None) -> LatentState:
        """`state` moved `amount` sigma along direction `index`, on the ws of `layers` (first, last;
        default all): what moving that slider in the window does (its edit is named "d:<index>",
        so one direction's edit replaces its earlier one)."""
        if not 0 <= int(index) < len(self):
            raise IndexError(f"direction {index}: there are {len(self)} ({self.method})")
        start, end = layers if layers is not None else (0, self.num_ws - 1)
        if not 0 <= int(start) <= int(end) < self.num_ws:
            raise ValueError(f"layers {layers}: must be (first, last) within 0..{self.num_ws - 1}")
        return state.with_w_offset(f"d:{int(index)}", int(start), int(end), direction=self.vectors[int(index)],
                                   amount=float(amount) * float(self.sigma[int(index)]))


class Model:
    """One model, opened by `gan_explorer.open` (or wrapped around a core model made in memory)."""

    def __init__(self, network, path: str | os.PathLike | None = None):
        from gan_explorer.core.io.identity import model_identity

        self.network = network.eval()  # the core model (a torch module): everything core offers takes it
        self.path = Path(path) if path is not None else None
        self.identity = model_identity(network, path)  # what its exports record and its data is filed by
        self.name = self.path.name if self.path is not None else network.family
        self._renderer = None

    def __repr__(self) -> str:
        return f"<gan_explorer model {self.name}: {self.network.family}, {self.network.img_resolution} px>"

    @property
    def info(self) -> dict:
        """What the model is: family, sizes, capabilities, identity and file."""
        caps = self.network.capabilities
        info = {"name": self.name, "path": str(self.path) if self.path else None, "family": self.network.family,
                "identity": self.identity, "img_resolution": int(self.network.img_resolution),
                "img_channels": int(self.network.img_channels), "parameters": int(self.network.num_parameters()),
                "capabilities": {f.name: getattr(caps, f.name) for f in fields(caps)}}
        if not caps.is_translation:
            info.update(z_dim=int(self.network.z_dim), w_dim=int(self.network.w_dim),
                        num_ws=int(self.network.num_ws), c_dim=int(self.network.c_dim))
        return info

    # --- latents -------------------------------------------------------------------------------------
    def state(self, state: LatentState | None = None, **settings) -> LatentState:
        """A latent state: `state` (default: seed 0, psi 1) with `settings` changed. They are
        seed, psi, cutoff, noise ('const', 'random' or 'none'), ws (an array [num_ws, w_dim]: render
        exactly these), or any other LatentState field (noise_seed, mix_seed with mix_layers such as
        "0-3", condition, transform, ...)."""
        from gan_explorer.core.generate import require_latent_model

        require_latent_model(self.network)
        changes = {}
        for key, value in settings.items():
            name = SHORT_NAMES.get(key, key)
            if name not in _FIELDS:
                raise TypeError(f"unknown setting {key!r}: use seed, psi, cutoff, noise, ws or a LatentState field")
            changes[name] = value
        if changes.get("ws") is not None:
            changes["ws"] = self._ws_tuple(changes["ws"])
        if isinstance(changes.get("mix_layers"), str):
            from gan_explorer.core.latent.ops import parse_layers

            changes["mix_layers"] = tuple(parse_layers(changes["mix_layers"], self.network.num_ws))
        for name in ("mix_layers", "condition", "transform"):
            if name in changes:
                changes[name] = tuple(changes[name])
        return (state or LatentState()).with_changes(**changes)

    def _ws_tuple(self, ws) -> tuple:
        array = np.asarray(ws, dtype=np.float32)
        if array.ndim == 3 and len(array) == 1:
            array = array[0]
        shape = (self.network.num_ws, self.network.w_dim)
        if array.shape != shape or not np.isfinite(array).all():
            raise ValueError(f"ws of shape {array.shape}: this model takes finite ws of shape {shape}")
        return tuple(map(tuple, array.tolist()))

    def ws(self, state: LatentState | None = None, **settings) -> np.ndarray:
        """The ws [num_ws, w_dim] (float32) a state renders: z mapped, truncated, mixed and edited."""
        from gan_explorer.core.render import ws_for_state

        return ws_for_state(self.network, self.state(state, **settings))[0].cpu().numpy()

    # --- pictures ------------------------------------------------------------------------------------
    def _render(self, state: LatentState):
        from gan_explorer.core.explorer.requests import RenderRequest
        from gan_explorer.core.render import Renderer

        if self._renderer is None:
            self._renderer = Renderer(self.network)
        result = self._renderer.render(RenderRequest(0, state))
        if result.error:  # its traceback is in the log
            raise GanExplorerError(result.error)
        return result

    def render(self, state: LatentState | None = None, **settings) -> np.ndarray:
        """The image [H, W, C] uint8 of a state (see `state` for the settings), rendered as the
        window renders it."""
        return self._render(self.state(state, **settings)).image

    def save(self, path: str | os.PathLike, state: LatentState | None = None, **settings) -> Path:
        """Render a state and write it (atomically) to `path`. A PNG carries its provenance (this
        model's identity, the state and its ws), so it restores in the window and in `restore`;
        other formats (.jpg, .webp) are written without it."""
        from gan_explorer.core.explorer.provenance import export_metadata
        from gan_explorer.core.io.images import png_info, save_image

        state = self.state(state, **settings)
        result = self._render(state)
        save_image(path, result.image, pnginfo=png_info(export_metadata(self.name, self.identity, state, result.ws)))
        return Path(path)

    def restore(self, picture: str | os.PathLike) -> LatentState:
        """The state a PNG exported by this app (the window, the command line or `save`) was made
        from; GanExplorerError when it carries none or another model made it."""
        from gan_explorer.core.explorer.provenance import read_picture_provenance

        provenance = read_picture_provenance(picture)
        if provenance is None:
            raise GanExplorerError(f"{Path(picture).name}: no gan_explorer provenance (not a picture this app exported)")
        if not provenance.made_with(self.identity):
            raise GanExplorerError(f"{Path(picture).name} was made with {provenance.model_name or 'another model'} "
                                   f"(sha256 {provenance.model_hash[:12]}…), not {self.name}")
        return provenance.state

    # --- directions, mixing, projection -------------------------------------------------------------
    def directions(self, method: str = "pca", count: int = 20) -> Directions:
        """Directions in W: "pca" (GANSpace: principal components of sampled w) or "sefa" (the
        style weights' eigenvectors), the first `count`, each with its sigma."""
        from gan_explorer.core.latent.directions import METHODS

        if method not in METHODS:
            raise ValueError(f"method {method!r}: use one of {', '.join(METHODS)}")
        vectors, sigma = METHODS[method](self.network, k=int(count))
        return Directions(method, np.asarray(vectors, np.float32), np.asarray(sigma, np.float32),
                          int(self.network.num_ws))

    def mix(self, row_seeds, col_seeds, layers="0-3", psi: float = 1.0, cutoff: int | None = None,
            noise: str = "const") -> np.ndarray:
        """The style-mixing figure as one image: column seeds along the top, row seeds down the
        left, and each cell the row seed with the ws of `layers` ("0-3", "coarse", a list) taken
        from the column seed. One mixed image is `render(seed=r, mix_seed=c, mix_layers="0-3")`."""
        from gan_explorer.core.generate import style_mixing_figure
        from gan_explorer.core.latent.ops import parse_layers

        return style_mixing_figure(self.network, list(row_seeds), list(col_seeds),
                                   parse_layers(layers, self.network.num_ws), psi, cutoff, noise)

    def project(self, picture, steps: int = 200, space: str = "w+", loss: str = "auto", encoder: str | None = "auto",
                **options):
        """The latent of a picture (a file, or an HWC uint8 array; an NHWC batch gives a list): the
        ws found by optimisation, as a state to render, edit or save. encoder="auto" starts from
        the learned encoder trained for this model where there is one; None starts from w_avg.
        Other options are ProjectionConfig's (seed, learning_rate, ...) and progress=."""
        from gan_explorer.core.latent.projection import project

        if options.get("noise", "const") != "const":
            raise ValueError("noise='optimize' fits noise maps a state cannot hold; project with the model's own noise")
        found = None
        if encoder == "auto":
            from gan_explorer.core.latent.encoder import find_encoder

            found = find_encoder(self.network, self.path)
        elif encoder is not None:
            raise ValueError(f"encoder={encoder!r}: use 'auto' or None")
        result = project(self.network, picture, space=space, steps=int(steps), loss=loss, encoder=found, **options)
        states = [LatentState(ws=tuple(map(tuple, ws.tolist()))) for ws in result.ws]
        batch = isinstance(picture, np.ndarray) and picture.ndim == 4
        return states if batch else states[0]


__all__ = ["Directions", "Model", "open"]
