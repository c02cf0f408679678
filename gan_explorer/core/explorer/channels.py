"""StyleSpace channels in the explorer (no Qt): which channels move a part, each as a slider.

A channel's slider value is an edit of the latent state (a SEdit, amount = value x the channel's
spread), read back from the latent model: undo, bookmarks and exports carry it. The ranking of
channels for a part is a job (effect maps of a few images, core/analysis/style_channels.py); the
effect maps are kept, so choosing another part re-ranks without rendering again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.jobs import Job, _hooks
from gan_explorer.core.explorer.latent import LatentModel
from gan_explorer.core.explorer.state import LatentState
from gan_explorer.core.latent.state import SEdit

# The parts of the procedural faces a ranking can target (faces.PART_NAMES), their maps drawn from
# the factors the regressor reads off each sample (region_edit.predicted_part_maps).
FACE_PARTS = ("hair", "skin", "eyes", "brows", "nose", "mouth", "glasses", "neck", "background")


@dataclass(frozen=True)
class ChannelsFound:
    ranking: object            # core.analysis.style_channels.ChannelRanking
    effects: object            # the EffectMaps it came from (kept for the next part)
    part_maps: np.ndarray      # [n, H, W] part labels of the images ranked


@dataclass(frozen=True)
class RankChannels(Job):
    """Channels of the open model ranked for `part` (or `mask`) on the current latent and a few seeds."""

    state: LatentState = None
    part: str = "mouth"
    mask: np.ndarray | None = None     # a painted [H, W] {0, 1} mask instead of a part
    num_images: int = 4                # the current image and num_images - 1 seeds after it
    effects: object = None             # EffectMaps of a previous ranking (the same images): no rendering
    part_maps: np.ndarray | None = None

    def run(self, context) -> ChannelsFound:
        import torch

        from gan_explorer.core.analysis.style_channels import effect_maps, rank_by_region
        from gan_explorer.core.data.faces import PART_NAMES
        from gan_explorer.core.latent.region_edit import predicted_part_maps
        from gan_explorer.core.latent.ws import ws_for_state

        from gan_explorer.core.synthesis_edits import synthesis_edits

        model = context.model
        state = self.state

        def around():
            """The image as shown: its transform and network (tuning, blend, bends), only while drawing."""
            if model.capabilities.has_transform:
                model.set_transform(tuple(state.transform[:2]), state.transform[2])
            return synthesis_edits(model, state)

        effects, part_maps = self.effects, self.part_maps
        if effects is None:
            states = [state] + [state.base(seed=state.seed + k) for k in range(1, self.num_images)]
            with torch.no_grad():
                ws = torch.cat([ws_for_state(model, s) for s in states])
                if self.mask is None:
                    with around():
                        images = model.synthesize(ws, noise_mode="const")
                    part_maps = predicted_part_maps(model, images)
            effects = effect_maps(model, ws, around=around, **_hooks(context))
        if self.mask is not None:
            masks, region = np.asarray(self.mask, np.float32), "painted mask"
        else:
            masks, region = (part_maps == PART_NAMES.index(self.part)).astype(np.float32), self.part
        return ChannelsFound(rank_by_region(effects, masks, region), effects, part_maps)


class ChannelsModel:
    """The Channels tab's model; see the module docstring."""

    def __init__(self, viewer, latent: LatentModel):
        self.viewer, self.latent = viewer, latent
        self.events = EventGroup("ranked")
        self.found: ChannelsFound | None = None
        self._found_for = None     # the state the effect maps were computed around
        self.ranking_handle: JobHandle | None = None
        viewer.events.model_opened.connect(self._model_opened)

    def _model_opened(self, _info):
        self.found, self._found_for, self.ranking_handle = None, None, None
        self.events.ranked.emit(None)

    def rank(self, part: str = "mouth", mask=None, num_images: int = 4) -> JobHandle:
        """Rank channels for `part` (or a painted mask); the current image's effect maps are reused."""
        state = self.latent.state.with_changes(s_edits=())
        reuse = self.found is not None and self._found_for == (state, num_images)
        job = RankChannels(state=state, part=part, mask=mask, num_images=int(num_images),
                           effects=self.found.effects if reuse else None,
                           part_maps=self.found.part_maps if reuse else None)
        handle = self.ranking_handle = self.viewer.submit(job)
        handle.on_done(lambda h: self._ranked(h, (state, num_images)))
        return handle

    def _ranked(self, handle: JobHandle, key):
        if handle is not self.ranking_handle:
            return
        if handle.ok:
            self.found, self._found_for = handle.result, key
            self.events.ranked.emit(handle.result.ranking)

    def scores(self, count: int = 12) -> list:
        return [] if self.found is None else self.found.ranking.top(count)

    # --- slider values are S edits of the state ------------------------------------------------------
    def value(self, layer: int, channel: int) -> float:
        """The channel's slider value in spreads, from the current state."""
        spread = self._spread(layer, channel)
        return sum(e.amount for e in self.latent.state.s_edits if (e.layer, e.channel) == (layer, channel)) / spread

    def set_value(self, layer: int, channel: int, value_spread: float):
        """Move channel (layer, channel) to `value_spread` spreads: one undo step per drag."""
        kept = tuple(e for e in self.latent.state.s_edits if (e.layer, e.channel) != (layer, channel))
        if value_spread:
            kept += (SEdit(int(layer), int(channel), float(value_spread) * self._spread(layer, channel)),)
        self.latent.set_state(self.latent.state.with_changes(s_edits=kept), f"s{layer}:{channel}")

    def reset(self):
        self.latent.set_state(self.latent.state.with_changes(s_edits=()))

    def _spread(self, layer: int, channel: int) -> float:
        for score in self.scores(10**6):
            if (score.layer, score.channel) == (layer, channel):
                return score.spread
        return 1.0
