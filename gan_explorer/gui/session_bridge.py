"""The Qt side of the explorer session: everything the worker thread reports (renders, model
changes, job progress and outcomes) is queued to the GUI thread, where the Qt-free models
(core/explorer) take it. Nothing here touches torch."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.session import ExplorerSession


class SessionBridge(QObject):
    # Emitted on the worker thread; Qt queues it to this object's (the GUI) thread.
    sigDeliver = Signal(object, object)  # (function, value)

    def __init__(self, sync: bool = False, data_dir=None, parent=None):
        super().__init__(parent)
        # A bound slot of a GUI-thread QObject: queued across threads (a lambda would run on the worker).
        self.sigDeliver.connect(self._deliver)
        self.session = ExplorerSession(sync=sync, deliver=None if sync else self.sigDeliver.emit)
        self.explorer = Explorer(self.session, data_dir=data_dir)

    def start(self):
        self.session.start()

    def shutdown(self, timeout: float = 10.0) -> bool:
        return self.session.shutdown(timeout)

    @Slot(object, object)
    def _deliver(self, function, value):
        function(value)


def subscribe(widget, event, callback):
    """Connect a core model's event to a widget's method for as long as the widget lives."""
    event.connect(callback)
    widget.destroyed.connect(lambda *_: event.disconnect(callback))
    return callback


def follow(widget, handle, on_progress=None, on_done=None):
    """Attach a widget's callbacks to a job handle; they are dropped once the widget is destroyed."""
    alive = [True]
    widget.destroyed.connect(lambda *_: alive.__setitem__(0, False))
    if on_progress is not None:
        handle.on_progress(lambda p: on_progress(p) if alive[0] else None)
    if on_done is not None:
        handle.on_done(lambda h: on_done(h) if alive[0] else None)
    return handle


__all__ = ["SessionBridge", "subscribe", "follow", "Explorer"]
