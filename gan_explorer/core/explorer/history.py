"""Undo/redo over LatentStates, one step per committed change."""

from __future__ import annotations

from gan_explorer.core.explorer.state import LatentState


class History:
    """Undo/redo over LatentStates. Changes with the same `gesture` key in a row (one slider
    drag) collapse into one step, so undo goes back to before the drag, not one pixel."""

    def __init__(self, initial: LatentState, limit: int = 500):
        self.current = initial
        self._undo: list[LatentState] = []
        self._redo: list[LatentState] = []
        self._gesture = None
        self.limit = limit

    def push(self, state: LatentState, gesture: str | None = None) -> bool:
        """Make `state` current; False (and nothing recorded) when it equals the current one."""
        if state == self.current:
            return False
        if gesture is None or gesture != self._gesture:
            self._undo.append(self.current)
            del self._undo[:-self.limit]
        self._gesture = gesture
        self.current = state
        self._redo.clear()
        return True

    def end_gesture(self):
        self._gesture = None

    @property
    def in_gesture(self) -> bool:
        """A drag is under way (its frames may be previews)."""
        return self._gesture is not None

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> LatentState:
        if self._undo:
            self._redo.append(self.current)
            self.current = self._undo.pop()
        self._gesture = None
        return self.current

    def redo(self) -> LatentState:
        if self._redo:
            self._undo.append(self.current)
            self.current = self._redo.pop()
        self._gesture = None
        return self.current

    def reset(self, state: LatentState):
        self.current = state
        self._undo.clear()
        self._redo.clear()
        self._gesture = None
