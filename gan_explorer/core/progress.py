"""Progress and cancel for long core work (metrics, analyses): `progress(done, total)` and `should_stop()`.

`should_stop` may return True (then `Cancelled` is raised here) or raise `Cancelled` itself, so an
explorer job can pass its check directly and a terminal command a tqdm bar's update.
"""

from __future__ import annotations

from collections.abc import Callable

from gan_explorer.core.errors import Cancelled

__all__ = ["Cancelled", "Steps", "sub_progress"]


class Steps:
    """Counts units of work; reports each to `progress` and checks `should_stop` between them."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None):
        self.total = max(int(total), 1)
        self.done = 0
        self._progress = progress
        self._should_stop = should_stop
        self.check()

    def check(self) -> None:
        if self._should_stop is not None and self._should_stop():
            raise Cancelled()

    def step(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if self._progress is not None:
            self._progress(self.done, self.total)
        self.check()


def sub_progress(progress, offset: int, total: int):
    """A progress callback for one stage of a larger job: stage (d, _) -> progress(offset + d, total)."""
    if progress is None:
        return None
    return lambda done, _stage_total: progress(offset + done, total)
