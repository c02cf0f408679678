"""The perform package's one job: the ws of some latent states, without rendering them (keyframes
for /keyframe, a preset's ws for morphing). Cheap: mapping only, no synthesis."""

from __future__ import annotations

from dataclasses import dataclass

from gan_explorer.core.explorer.jobs import Job
from gan_explorer.core.latent.state import LatentState


@dataclass(frozen=True)
class LatentWs(Job):
    """-> tuple of [num_ws, w_dim] float32 arrays, one per state."""

    states: tuple[LatentState, ...] = ()

    def run(self, context) -> tuple:
        import numpy as np

        from gan_explorer.core.latent.ws import ws_for_state

        out = []
        for i, state in enumerate(self.states):
            context.check()
            out.append(np.asarray(ws_for_state(context.model, state)[0].detach().cpu(), dtype=np.float32))
            context.progress(i + 1, len(self.states))
        return tuple(out)
