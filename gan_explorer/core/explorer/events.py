"""A minimal event emitter (napari-style): `events.rendered.connect(callback)`.

Callbacks run on the thread that emits: the session's worker thread for everything it reports.
The Qt adapter connects them to signals, which Qt queues to the GUI thread.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Event:
    def __init__(self, name: str):
        self.name = name
        self._callbacks: list = []
        self._lock = threading.Lock()

    def connect(self, callback):
        with self._lock:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback=None):
        with self._lock:
            if callback is None:
                self._callbacks.clear()
            elif callback in self._callbacks:
                self._callbacks.remove(callback)

    def emit(self, value=None):
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(value)
            except Exception:  # a broken listener must not stop the session or the other listeners
                log.exception("listener of %s failed", self.name)


class EventGroup:
    """Named events as attributes: EventGroup('a', 'b').a.connect(...)."""

    def __init__(self, *names: str):
        for name in names:
            setattr(self, name, Event(name))
