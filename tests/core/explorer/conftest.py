"""What the explorer's tests share: tiny models, a synchronous explorer, a recorder of events, and
test-only jobs (a Job subclass is the extension point every kind of work goes through)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.jobs import Job
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.models import build_model
from gan_explorer.core.render import ws_for_state
from tests.conftest import TINY


UNIT = np.ones(32) / np.sqrt(32)  # a unit direction in the tiny StyleGAN's W


def tiny_model(family: str = "stylegan", seed: int = 1, **extra):
    torch.manual_seed(seed)
    return build_model(family, **TINY[family], **extra).eval()


def rendered_ws(model, state) -> np.ndarray:
    """The ws [num_ws, w_dim] a state renders from, computed here (not by the explorer)."""
    return ws_for_state(model, state)[0].cpu().numpy()


class Recorder:
    """Collects what an event group emits (from any thread), in order, with a lock."""

    def __init__(self, events, *names):
        self.lock = threading.Lock()
        self.log = []
        for name in names:
            getattr(events, name).connect(lambda value, name=name: self._add(name, value))

    def _add(self, name, value):
        with self.lock:
            self.log.append((name, value))

    def of(self, name):
        with self.lock:
            return [v for n, v in self.log if n == name]

    def names(self):
        with self.lock:
            return [n for n, _ in self.log]


def wait_for(predicate, timeout: float = 60.0) -> bool:
    """Poll `predicate` until true; the timeout only bounds a hang, nothing is asserted on time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@dataclass(frozen=True, eq=False)
class Gate(Job):
    """Blocks the worker until released; checks for a cancel while it waits."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def run(self, context):
        self.entered.set()
        while not self.release.wait(0.005):
            context.check()
        context.check()
        return "released"


@dataclass(frozen=True, eq=False)
class Steps(Job):
    """`count` units of work, each after a check and followed by a progress report."""

    count: int = 3
    done: list = field(default_factory=list)

    def run(self, context):
        for i in range(self.count):
            context.check()
            self.done.append(i)
            context.progress(i + 1, self.count, f"step {i + 1}")
        return len(self.done)


@dataclass(frozen=True)
class Fails(Job):
    message: str = "first line of the reason\nsecond line"

    def run(self, context):
        raise ValueError(self.message)


@pytest.fixture
def explorer(tmp_path):
    session = ExplorerSession(sync=True)
    yield Explorer(session, data_dir=tmp_path / "data")
    session.shutdown(10)


@pytest.fixture
def opened(explorer):
    """The synchronous explorer with the tiny StyleGAN open: (explorer, model)."""
    model = tiny_model()
    explorer.viewer.use_model(model)
    return explorer, model


@pytest.fixture
def threaded():
    session = ExplorerSession()
    session.start()
    yield session
    assert session.shutdown(10)
