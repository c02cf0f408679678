"""The latent state of the current image, its undo history and its edits (no Qt).

One model of the explorer (napari's Dims is the pattern): it holds the state, says when it changed
(`events.changed`), and every control that shows a part of it reads it from here. An edit (a z or
W slider, a found direction, a library direction, style mixing, a StyleSpace channel, a bend)
belongs to the state: it is
listed by `edits()`, marked by `edited`, undone with the state and removed by `reset_edits()`.

What happens to edits when the image is replaced:
- a new seed keeps the W edits (an edit is meant to be tried on other faces) and says so;
- an explicit latent (a projected or encoded picture, a map point, a child, a loaded latent)
  replaces everything: its ws are the image, nothing is applied on top;
- another model starts a fresh history (edits of one model mean nothing on another).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.history import History
from gan_explorer.core.explorer.state import LatentState


@dataclass(frozen=True)
class Edit:
    key: str     # "z:4", "w:12", "d:3", "lib:smile", "mix"
    label: str   # what the user calls it: "z[4]", "w[12]", "direction 3", "smile", "mix with seed 5"


def edits_of(state: LatentState) -> list[Edit]:
    """Every edit in `state`, in the order they were made."""
    found = [Edit(f"z:{int(dim)}", f"z[{int(dim)}]") for dim, _ in state.z_edits]
    for offset in state.w_offsets:
        kind, _, name = offset.key.partition(":")
        label = {"w": f"w[{name}]", "d": f"direction {name}", "lib": name}.get(kind, offset.key)
        found.append(Edit(offset.key, label))
    if state.mix_seed >= 0 and state.mix_layers:
        found.append(Edit("mix", f"mix with seed {state.mix_seed}"))
    for layer, channel, _ in state.s_edits:
        found.append(Edit(f"s:{int(layer)}:{int(channel)}", f"channel {int(layer)}:{int(channel)}"))
    for i, bend in enumerate(state.bends):
        found.append(Edit(f"bend:{i}", f"bend {bend[1]} on layer {int(bend[0])}"))
    return found


def ws_tuple(ws) -> tuple:
    return tuple(map(tuple, np.asarray(ws, np.float32).tolist()))


class LatentModel:
    """The current latent state with history and edits; see the module docstring."""

    def __init__(self):
        self.events = EventGroup("changed", "gesture_ended", "message")
        self.history = History(LatentState())
        self.w_std: np.ndarray | None = None  # the open model's spread of sampled w (the W sliders' σ)
        self.z_dim = 0

    @property
    def state(self) -> LatentState:
        return self.history.current

    # --- a model opened ---------------------------------------------------------------------------
    def start(self, state: LatentState, w_std: np.ndarray | None = None, z_dim: int = 0):
        """A fresh history for a newly opened model, starting at `state`."""
        dropped = edits_of(self.state)
        self.w_std, self.z_dim = w_std, z_dim
        self.history.reset(state)
        if dropped:
            self.events.message.emit(f"{len(dropped)} edit(s) of the previous model were cleared")
        self.events.changed.emit(state)

    # --- changes (each one undo step; a drag with one `gesture` key is one step) --------------------
    def set_state(self, state: LatentState, gesture: str | None = None) -> bool:
        if not self.history.push(state, gesture):
            return False
        self.events.changed.emit(state)
        return True

    def change(self, gesture: str | None = None, **changes) -> bool:
        return self.set_state(self.state.with_changes(**changes), gesture)

    def set_seed(self, seed: int) -> bool:
        """A new seed (z and explicit ws go); W edits are kept, and the message says so."""
        kept = [e for e in edits_of(self.state) if not e.key.startswith("z:")]  # W edits and mixing stay
        changed = self.change(seed=int(seed), z=(), ws=(), z_edits=())
        if changed and kept:
            names = ", ".join(e.label for e in kept[:4]) + (" …" if len(kept) > 4 else "")
            self.events.message.emit(f"Seed {int(seed)} with {len(kept)} edit(s) kept: {names} (Reset edits drops them)")
        return changed

    def replace_latent(self, ws, **changes) -> bool:
        """An explicit latent becomes the image: its ws are used as they are, with no edit on top."""
        state = self.state.base(ws=ws_tuple(ws), **changes)
        return self.set_state(state)

    def set_z(self, dim: int, delta: float):
        self.set_state(self.state.with_z_edit(dim, delta), f"z{dim}")

    def w_sigma(self, dim: int) -> float:
        if self.w_std is None or not 0 <= dim < len(self.w_std):
            return 1.0
        return float(self.w_std[dim])

    def set_w(self, dim: int, value_sigma: float, layers: tuple[int, int]):
        """Move raw w dimension `dim` by `value_sigma` standard deviations of sampled w."""
        start, end = layers
        self.set_state(self.state.with_w_offset(f"w:{dim}", start, end, dim=dim,
                                                amount=value_sigma * self.w_sigma(dim)), f"w{dim}")

    def set_offset(self, key: str, layers: tuple[int, int], direction, amount: float):
        """Move along a unit `direction` by `amount` (w units) over `layers`: one slider's edit."""
        start, end = layers
        self.set_state(self.state.with_w_offset(key, start, end, direction=direction, amount=amount), key)

    def w_values(self) -> dict[int, float]:
        """Raw w slider values in σ, from the current state."""
        return {o.dim: o.amount / self.w_sigma(o.dim) for o in self.state.w_offsets if o.key.startswith("w:")}

    def offset_amounts(self, prefix: str) -> dict[str, float]:
        """{key without prefix: amount in w units} of the offsets whose key starts with `prefix`."""
        return {o.key[len(prefix):]: o.amount for o in self.state.w_offsets if o.key.startswith(prefix)}

    def clear_offsets(self, prefix: str):
        self.set_state(self.state.without_offsets(prefix))

    # --- edits ---------------------------------------------------------------------------------
    def edits(self) -> list[Edit]:
        return edits_of(self.state)

    @property
    def edited(self) -> bool:
        return bool(self.edits())

    def reset_edits(self) -> bool:
        """Remove every edit (z, W, directions, library, mixing, S channels, bends) as one undo step; the
        network the image renders through (a tuning, a blend) stays."""
        return self.set_state(self.state.with_changes(z_edits=(), w_offsets=(), mix_seed=-1, mix_layers=(),
                                                      mix_condition=(), s_edits=(), bends=()))

    # --- history ---------------------------------------------------------------------------------
    def end_gesture(self):
        """A drag ended: the next change is a new undo step, and the frame is rendered in full."""
        self.history.end_gesture()
        self.events.gesture_ended.emit(self.state)

    def undo(self):
        if self.history.can_undo():
            self.events.changed.emit(self.history.undo())

    def redo(self):
        if self.history.can_redo():
            self.events.changed.emit(self.history.redo())
