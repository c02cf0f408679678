"""The Network tab's model (no Qt): blend the open model with another one stage by stage, and bend
its feature maps. Both are part of the latent state (`blend`, `bends`), so undo, bookmarks,
presets, provenance and exports carry them; this model only edits the state and asks the worker
for what the panel lists (the stages and the layers), never touching torch itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.jobs import Job
from gan_explorer.core.latent.state import Bend


@dataclass(frozen=True)
class NetworkLayout:
    stages: tuple        # blend stages: "b4", "b8", ... (StyleGAN3: "input", "L0_36_512", ...)
    layers: tuple        # bend layers: (name, channels, resolution) by index


@dataclass(frozen=True)
class Partner:
    path: str
    content_hash: str
    name: str


@dataclass(frozen=True)
class ListNetwork(Job):
    def run(self, context) -> NetworkLayout:
        from gan_explorer.core.models.bend import bend_layers
        from gan_explorer.core.models.blend import blend_stages

        model = context.model
        return NetworkLayout(tuple(blend_stages(model)),
                             tuple((layer.name, layer.channels, layer.resolution) for layer in bend_layers(model)))


@dataclass(frozen=True)
class OpenPartner(Job):
    """Open another model file on the worker and keep it as a blend partner -> Partner."""

    path: str = ""

    def run(self, context) -> Partner:
        from pathlib import Path

        from gan_explorer.core.io.identity import file_identity
        from gan_explorer.core.io.models import open_model
        from gan_explorer.core.models.blend import check_partner, open_partner

        other = open_model(self.path, device=str(next(context.model.parameters()).device))
        check_partner(context.model, other)
        content_hash = file_identity(self.path)
        open_partner(content_hash, other)
        return Partner(self.path, content_hash, Path(self.path).name)


class NetworkModel:
    """Blend and bend the open model; see the module docstring."""

    def __init__(self, viewer, latent):
        self.viewer, self.latent = viewer, latent
        self.events = EventGroup("layout", "partner_opened", "message")
        self.layout: NetworkLayout | None = None
        self.partner: Partner | None = None
        viewer.events.model_opened.connect(self._model_opened)

    def _model_opened(self, _info):
        self.layout, self.partner = None, None

    def list_layout(self):
        """Ask the worker for the stages and layers (the panel does, when a StyleGAN opens) -> handle."""
        info = self.viewer.info
        if info is None or info.family not in ("stylegan", "stylegan3"):
            return None
        return self.viewer.submit(ListNetwork()).on_done(self._listed)

    def _listed(self, handle):
        if handle.ok:
            self.layout = handle.result
            self.events.layout.emit(handle.result)

    # --- blend ----------------------------------------------------------------------------------
    def open_partner(self, path):
        def done(handle):
            if handle.ok:
                self.partner = handle.result
                self.events.partner_opened.emit(handle.result)
                self.events.message.emit(f"Blending with {handle.result.name}: move a stage's slider toward it")
        return self.viewer.submit(OpenPartner(str(path))).on_done(done)

    def blend_weights(self) -> tuple:
        stages = len(self.layout.stages) if self.layout else 0
        blend = self.latent.state.blend
        if self.partner is None or not blend or blend[0] != self.partner.content_hash:
            return (0.0,) * stages
        weights = tuple(blend[1:])
        return weights * stages if len(weights) == 1 else weights

    def set_blend_weight(self, stage: int, weight: float, gesture: str | None = "blend"):
        """One stage's weight (0 = this model, 1 = the partner); a slider drag is one undo step."""
        if self.partner is None or self.layout is None:
            return False
        weights = list(self.blend_weights())
        weights[stage] = float(min(max(weight, 0.0), 1.0))
        blend = (self.partner.content_hash, *weights) if any(weights) else ()
        return self.latent.change(gesture, blend=blend)

    def layer_swap(self, from_stage: int):
        """Stages from `from_stage` on from the partner, the ones before from this model (toonify)."""
        if self.partner is None or self.layout is None:
            return False
        weights = tuple(0.0 if i < from_stage else 1.0 for i in range(len(self.layout.stages)))
        return self.latent.change(None, blend=(self.partner.content_hash, *weights) if any(weights) else ())

    def clear_blend(self):
        return self.latent.change(None, blend=())

    # --- bends ----------------------------------------------------------------------------------
    def add_bend(self, layer: int, op: str, params=()) -> bool:
        """Add a bend; one this model cannot take is said in one line (the status bar) and not added."""
        from gan_explorer.core.errors import ConfigError
        from gan_explorer.core.models.bend import BendLayer, check_bend

        bend = Bend(int(layer), str(op), tuple(float(p) for p in params))
        try:
            if self.layout is not None:  # else the renderer checks it, and says so in one line
                check_bend(bend, [BendLayer(i, *layer) for i, layer in enumerate(self.layout.layers)])
        except ConfigError as exc:
            self.events.message.emit(str(exc))
            return False
        return self.latent.change(None, bends=self.latent.state.bends + (bend,))

    def set_bend(self, index: int, params, gesture: str | None = None):
        """New parameters for bend `index` (a slider drag: one undo step per gesture)."""
        bends = list(self.latent.state.bends)
        layer, op = bends[index][0], bends[index][1]
        bends[index] = Bend(layer, op, tuple(float(p) for p in params))
        return self.latent.change(gesture, bends=tuple(bends))

    def remove_bend(self, index: int):
        bends = list(self.latent.state.bends)
        del bends[index]
        return self.latent.change(None, bends=tuple(bends))

    def clear_bends(self):
        return self.latent.change(None, bends=())
