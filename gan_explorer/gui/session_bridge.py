"""The Qt side of the explorer session: its worker-thread events become queued Qt signals, whose
slots (on the GUI thread) hand them to the Qt-free Explorer. Nothing here touches torch."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from gan_explorer.core.explorer.explorer import Explorer
from gan_explorer.core.explorer.session import ExplorerSession


class SessionBridge(QObject):
    # Emitted on the session's worker thread; Qt queues them to this object's (the GUI) thread.
    sigModelLoaded = Signal(object)    # ModelInfo
    sigModelFailed = Signal(object)    # ModelFailure
    sigRendered = Signal(object)       # RenderResult
    sigJobProgress = Signal(object)    # JobProgress
    sigJobDone = Signal(object)        # JobResult
    sigDeviceChanged = Signal(object)  # DeviceChange

    def __init__(self, sync: bool = False, data_dir=None, parent=None):
        super().__init__(parent)
        self.session = ExplorerSession(sync=sync)
        self.explorer = Explorer(self.session, data_dir=data_dir)
        events = self.session.events
        events.model_loaded.connect(self.sigModelLoaded.emit)
        events.model_failed.connect(self.sigModelFailed.emit)
        events.rendered.connect(self.sigRendered.emit)
        events.job_progress.connect(self.sigJobProgress.emit)
        events.job_done.connect(self.sigJobDone.emit)
        events.device_changed.connect(self.sigDeviceChanged.emit)
        # Bound slots of a GUI-thread QObject: queued across threads (a lambda would run on the worker).
        self.sigModelLoaded.connect(self._model_loaded)
        self.sigModelFailed.connect(self._model_failed)
        self.sigRendered.connect(self._rendered)
        self.sigJobProgress.connect(self._job_progress)
        self.sigJobDone.connect(self._job_done)
        self.sigDeviceChanged.connect(self._device_changed)

    def start(self):
        self.session.start()

    def shutdown(self, timeout: float = 10.0) -> bool:
        return self.session.shutdown(timeout)

    @Slot(object)
    def _model_loaded(self, info):
        self.explorer.on_model_loaded(info)

    @Slot(object)
    def _model_failed(self, failure):
        self.explorer.on_model_failed(failure)

    @Slot(object)
    def _rendered(self, result):
        self.explorer.on_rendered(result)

    @Slot(object)
    def _job_progress(self, progress):
        self.explorer.on_job_progress(progress)

    @Slot(object)
    def _job_done(self, result):
        self.explorer.on_job_done(result)

    @Slot(object)
    def _device_changed(self, change):
        self.explorer.on_device_changed(change)


def subscribe(widget, event, callback):
    """Connect an Explorer event to a widget's method for as long as the widget lives."""
    event.connect(callback)
    widget.destroyed.connect(lambda *_: event.disconnect(callback))
    return callback


__all__ = ["SessionBridge", "subscribe", "Explorer"]


class JobTracker:
    """Follows the jobs a panel started (by purpose): their progress and results reach the panel,
    other panels' jobs do not. Ids are learnt from `job_started`, which the explorer emits before
    the job can run, so a synchronous session's results are not missed."""

    def __init__(self, widget, explorer, purposes, on_progress=None, on_finished=None):
        self.purposes = set(purposes)
        self.current: int | None = None
        self.kind = ""
        self._on_progress, self._on_finished = on_progress, on_finished
        subscribe(widget, explorer.events.job_started, self._started)
        subscribe(widget, explorer.events.job_progress, self._progress)
        subscribe(widget, explorer.events.job_finished, self._finished)

    @property
    def busy(self) -> bool:
        return self.current is not None

    def _started(self, started):
        job_id, purpose = started
        if purpose in self.purposes:
            self.current, self.kind = job_id, purpose

    def _progress(self, progress):
        if progress.job_id == self.current and self._on_progress:
            self._on_progress(progress)

    def _finished(self, result):
        if result.job_id != self.current:
            return
        self.current = None
        if self._on_finished:
            self._on_finished(result)
