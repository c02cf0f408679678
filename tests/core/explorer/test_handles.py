"""JobHandle: what a submitter holds while a job runs and after (progress, outcome, cancel)."""

import logging

from gan_explorer.core.explorer.handles import JobHandle, JobProgress
from gan_explorer.core.explorer.session import ExplorerSession
from tests.core.explorer.conftest import Gate, Steps, tiny_model, wait_for


def handle(job=None):
    return JobHandle(1, job or Steps(), model_token=1)


def test_a_done_callback_attached_after_the_job_ended_runs_at_once():
    h = handle()
    h.finish(result=42)
    seen = []
    assert h.on_done(seen.append) is h
    assert seen == [h] and h.ok and h.result == 42


def test_done_callbacks_run_once_in_order_and_a_second_finish_changes_nothing():
    h = handle()
    seen = []
    h.on_done(lambda x: seen.append(("a", x.result))).on_done(lambda x: seen.append(("b", x.result)))
    assert seen == [] and h.running and not h.ok
    h.finish(result="first")
    h.finish(result="second", error="late")
    assert seen == [("a", "first"), ("b", "first")]
    assert h.result == "first" and h.error is None and not h.running


def test_a_callback_that_raises_does_not_stop_the_others(caplog):
    h = handle()
    seen = []

    def broken(_value):
        raise RuntimeError("listener bug")

    h.on_progress(broken).on_progress(seen.append)
    h.on_done(broken).on_done(lambda x: seen.append("done"))
    with caplog.at_level(logging.ERROR):
        h.report_progress(JobProgress(1, 2))
        h.finish(result=1)
    assert seen == [JobProgress(1, 2), "done"]
    assert sum("listener bug" in (r.exc_text or "") or "failed" in r.getMessage() for r in caplog.records) >= 2


def test_a_callback_that_raises_after_the_job_ended_does_not_stop_the_next_one(caplog):
    h = handle()
    h.finish(result=1)
    seen = []

    def broken(_value):
        raise RuntimeError("listener bug")

    with caplog.at_level(logging.ERROR):
        h.on_done(broken).on_done(seen.append)
    assert seen == [h]


def test_progress_is_kept_and_none_reaches_anyone_after_the_end():
    h = handle()
    seen = []
    h.on_progress(seen.append)
    h.report_progress(JobProgress(1, 3, "one"))
    h.finish(error="it broke")
    h.report_progress(JobProgress(2, 3, "late"))
    assert [p.message for p in seen] == ["one"]
    assert h.last_progress.message == "one"
    assert not h.ok and h.error == "it broke" and not h.cancelled
    assert "failed" in repr(h)


def test_cancel_marks_the_handle_cancelled_and_done_callbacks_still_run():
    session = ExplorerSession(sync=True)
    token = session.set_model(tiny_model())
    steps = Steps(count=5)
    seen = []

    started = []

    def cancel_on_second_step(progress):
        if progress.done == 2:
            started[0].cancel()

    def attach(h):  # a synchronous session runs the job inside submit: attach before it runs
        started.append(h)
        h.on_progress(cancel_on_second_step).on_done(seen.append)

    h = session.submit(steps, token, before_run=attach)
    assert seen == [h]
    assert h.cancelled and h.cancel_requested and not h.ok and h.result is None and h.error is None
    assert steps.done == [0, 1]  # it stopped at the next check
    assert "cancelled" in repr(h)


def test_cancel_of_a_queued_job_on_the_worker_thread(threaded):
    token = threaded.set_model(tiny_model())
    gate = Gate()
    running = threaded.submit(gate, token)
    assert gate.entered.wait(30)
    steps = Steps(count=3)
    queued = threaded.submit(steps, token)
    seen = []
    queued.on_done(seen.append)
    queued.cancel()
    gate.release.set()
    assert wait_for(lambda: queued.finished and running.finished)
    assert seen == [queued] and queued.cancelled and steps.done == []
    assert running.ok and running.result == "released"

