"""The Understand dock's work without Qt: the latent map, layers, the factor probe, a user's
attribute and quality metrics. Each call submits a typed job and returns its handle; what a
result means for the latent (a map point clicked, a direction found) is applied here, so the
panels only show results and forward clicks.
"""

from __future__ import annotations

import numpy as np

from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.jobs import (
    AblateChannels, ComputeMap, FitAttribute, ListLayers, MapPointLatent, MeasureQuality, PlaceOnMap, ProbeFactors,
    SampleForAttribute, ViewLayer,
)
from gan_explorer.core.explorer.latent import LatentModel


class AnalysesModel:
    def __init__(self, viewer, latent: LatentModel):
        self.viewer, self.latent = viewer, latent
        self.events = EventGroup("map_changed")
        self.latent_map = None  # the latest LatentMap of the open model
        viewer.events.model_opened.connect(self._model_opened)

    def _model_opened(self, _info):
        self.latent_map = None
        self.events.map_changed.emit(None)

    # --- the map -------------------------------------------------------------------------------------
    def compute_map(self, num: int, space: str, method: str) -> JobHandle:
        handle = self.viewer.submit(ComputeMap(num=int(num), space=space, method=method,
                                               truncation_psi=self.latent.state.truncation_psi))
        handle.on_done(self._map_done)
        return handle

    def _map_done(self, handle: JobHandle):
        if handle.ok and handle.model_token == self.viewer.token:
            self.latent_map = handle.result
            self.events.map_changed.emit(self.latent_map)

    def place_marks(self, bookmarks, keyframes) -> JobHandle | None:
        """The ws of bookmarks and keyframes, to place them on the map (-> MapMarks)."""
        if self.latent_map is None or self.latent_map.space == "z" or not (bookmarks or keyframes):
            return None
        return self.viewer.submit(PlaceOnMap(bookmarks=tuple(bookmarks), keyframes=tuple(keyframes)))

    def go_to_point(self, index: int) -> JobHandle | None:
        """A map point's latent becomes the image (its ws, no edit on top). A sampled point also
        brings its seed and the map's psi, so the seed and psi boxes show the image's own."""
        latent_map = self.latent_map
        if latent_map is None:
            return None
        own = {} if latent_map.seeds is None else dict(
            seed=int(latent_map.seeds[index]), truncation_psi=float(latent_map.truncation_psi),
            truncation_cutoff=None, condition=())  # compute_map samples map(z) under the default condition
        handle = self.viewer.submit(MapPointLatent(latent_map=latent_map, index=int(index)))
        handle.on_done(lambda h: self.latent.replace_latent(h.result.ws, **own) if h.ok else None)
        return handle

    def project_on_map(self, ws_list) -> np.ndarray | None:
        """2-D points of ws on the current map; None when they cannot be placed (z map, other shape)."""
        if self.latent_map is None or not len(ws_list) or self.latent_map.space == "z":
            return None
        try:
            return self.latent_map.project_ws(np.stack(ws_list))
        except Exception:  # a latent of another shape (after a model switch): nothing to place
            return None

    def current_point(self) -> np.ndarray | None:
        """Where the image shown lies on the map."""
        result = self.viewer.last_result
        if self.latent_map is None or result is None or result.ws is None:
            return None
        if self.latent_map.space == "z":
            z = current_z(self.viewer.info, self.latent.state)
            return None if z is None else self.latent_map.project(z)[0]
        points = self.project_on_map([result.ws])
        return None if points is None else points[0]

    # --- layers --------------------------------------------------------------------------------------
    def list_layers(self) -> JobHandle:
        return self.viewer.submit(ListLayers())

    def view_layer(self, layer: str, channel: int | None, db: bool, per_channel: bool) -> JobHandle | None:
        ws = self.viewer.current_ws
        if ws is None or not layer:
            return None
        return self.viewer.submit(ViewLayer(ws=ws, layer=layer, channel=channel, db=db, per_channel=per_channel,
                                            noise_mode=self.latent.state.noise_mode))

    def ablate(self, layer: str, channels, scale: float) -> JobHandle | None:
        """The image with `channels` of `layer` scaled, shown in the view (the state is unchanged)."""
        ws = self.viewer.current_ws
        if ws is None:
            return None
        handle = self.viewer.submit(AblateChannels(ws=ws, layer=layer, channels=tuple(int(c) for c in channels),
                                                   scale=float(scale), noise_mode=self.latent.state.noise_mode))
        handle.on_done(lambda h: self.viewer.show_frame(h.result) if h.ok else None)
        return handle

    # --- factors, attributes, metrics ------------------------------------------------------------------
    def probe(self, num: int, conditional: bool, **options) -> JobHandle:
        """The factor probe; `options` go to core.analysis.probe.probe_model (factors, effect_seeds, ...)."""
        return self.viewer.submit(ProbeFactors(num=int(num), conditional="all" if conditional else None,
                                               truncation_psi=self.latent.state.truncation_psi,
                                               options=tuple(sorted(options.items()))))

    def attribute_samples(self, count: int = 48, seed: int | None = None) -> JobHandle:
        seed = self.latent.state.seed if seed is None else seed
        return self.viewer.submit(SampleForAttribute(count=int(count), seed=int(seed),
                                                     truncation_psi=self.latent.state.truncation_psi))

    def fit_attribute(self, ws: np.ndarray, marks: dict[int, bool]) -> JobHandle:
        positive = ws[[i for i, v in sorted(marks.items()) if v]]
        negative = ws[[i for i, v in sorted(marks.items()) if not v]]
        return self.viewer.submit(FitAttribute(positive=positive, negative=negative))

    def measure(self, data: str, metrics, num: int, grid_path: str | None = None) -> JobHandle:
        return self.viewer.submit(MeasureQuality(data=data, metrics=tuple(metrics), num=int(num), grid_path=grid_path))


def current_z(info, state) -> np.ndarray | None:
    """z of a state ([1, z_dim]), or None when it is given by explicit ws."""
    from gan_explorer.core.models.base import z_from_seed

    if info is None or info.is_translation or state.ws:
        return None
    z = np.asarray([state.z], np.float64) if state.z else z_from_seed(state.seed, info.z_dim)
    for dim, delta in state.z_edits:
        z[0, int(dim)] += float(delta)
    return z.astype(np.float32)
