"""A synchronous explorer with the tiny StyleGAN open, whose perform model delivers to a queue that
the test drains on its own thread (as the window's event loop would)."""

from __future__ import annotations

import queue

import pytest

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.session import ExplorerSession
from tests.core.explorer.conftest import tiny_model


class Mailman:
    """`deliver` for the perform model: calls queue here and run when the test pumps."""

    def __init__(self):
        self.calls = queue.Queue()
        self.delivered = 0

    def deliver(self, function, value):
        self.calls.put((function, value))

    def pump(self, timeout: float = 0.0) -> int:
        """Run every queued call (waiting up to `timeout` for the first); returns how many ran."""
        ran = 0
        try:
            function, value = self.calls.get(timeout=timeout) if timeout else self.calls.get_nowait()
            while True:
                function(value)
                ran += 1
                function, value = self.calls.get_nowait()
        except queue.Empty:
            pass
        self.delivered += ran
        return ran


@pytest.fixture
def performing(tmp_path):
    """(explorer, model, mailman): the tiny StyleGAN open, perform values delivered by `mailman.pump()`."""
    explorer = Explorer(ExplorerSession(sync=True), data_dir=tmp_path / "data")
    mailman = Mailman()
    explorer.perform.deliver = mailman.deliver
    model = tiny_model()
    explorer.viewer.use_model(model)
    yield explorer, model, mailman
    explorer.perform.shutdown()
