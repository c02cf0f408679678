"""The lab's runner: typed commands, a token per lab configuration, stale frames never sent,
a playing batch cancelled by a reset (no Qt)."""

import dataclasses
import threading

import numpy as np
import pytest

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.lab2d import GanLab, LabConfig
from gan_explorer.core.lab2d.runner import LabError, LabRunner, Pause, Play, SetSpeed

TINY = LabConfig(g_hidden=16, g_layers=2, d_hidden=16, d_layers=2, batch=64)
WAIT_S = 30  # a bound on waits for the worker thread, never a measure of speed


def test_every_frame_carries_the_token_of_its_lab_and_a_reset_takes_a_new_one():
    frames = []
    runner = LabRunner(frames.append, TINY, sync=True, speed=2)
    first = frames[-1]
    assert first.token == runner.token == 1 and runner.is_current(first)
    runner.play()
    runner.advance()
    assert frames[-1].token == 1 and frames[-1].g_steps == 2
    token = runner.reset(dataclasses.replace(TINY, loss="wgan-gp"))
    assert token == 2 == frames[-1].token and frames[-1].g_steps == 0
    assert frames[-1].config.loss == "wgan-gp"
    assert not runner.is_current(first) and runner.is_current(frames[-1])
    assert not runner.is_current(LabError(1, "an old lab's error"))


def test_commands_are_frozen_dataclasses_and_nothing_else_is_accepted():
    runner = LabRunner(lambda frame: None, TINY, sync=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        SetSpeed(3).iterations = 4
    with pytest.raises(TypeError, match="not a lab command"):
        runner.submit(("play",))
    runner.submit(SetSpeed(4))
    assert runner.speed == 4
    runner.submit(Play())
    assert runner.playing
    runner.submit(Pause())
    assert not runner.playing


def test_refused_settings_clear_the_lab_and_make_its_frames_stale():
    frames = []
    runner = LabRunner(frames.append, TINY, sync=True)
    old = frames[-1]
    with pytest.raises(ConfigError, match="at least 3 points"):
        runner.reset(dataclasses.replace(TINY, dataset="drawn"), np.zeros((2, 2)))
    assert runner.lab is None and not runner.is_current(old) and len(frames) == 1
    runner.play()
    runner.advance()  # no lab: nothing to train or draw
    assert len(frames) == 1
    drawn = np.array([[0, 0], [1, 1], [1, 0]], np.float32)
    token = runner.reset(dataclasses.replace(TINY, dataset="drawn"), drawn)
    assert frames[-1].token == token and frames[-1].config.dataset == "drawn"


def test_a_refused_first_config_raises_before_any_thread_starts():
    with pytest.raises(ConfigError, match="at least 3 points"):
        LabRunner(lambda frame: None, dataclasses.replace(TINY, dataset="drawn"))


def test_a_frame_made_before_a_reset_is_never_sent(monkeypatch):
    """The worker is held inside frame() of the first lab (as napari's slicer tests hold a lock);
    a reset meanwhile makes that frame stale: it is dropped, and the new lab's frame follows."""
    entered, release = threading.Event(), threading.Event()
    real_frame = GanLab.frame

    def held_frame(self, *args, **kwargs):
        if not release.is_set():
            entered.set()
            assert release.wait(WAIT_S)
        return real_frame(self, *args, **kwargs)

    monkeypatch.setattr(GanLab, "frame", held_frame)
    frames, got = [], threading.Event()

    def on_frame(frame):
        frames.append(frame)
        got.set()

    runner = LabRunner(on_frame, TINY)
    try:
        assert entered.wait(WAIT_S)  # the first lab's frame is being made
        token = runner.reset(dataclasses.replace(TINY, seed=1))
        release.set()
        assert got.wait(WAIT_S)
        assert [f.token for f in frames] == [token] and runner.frames_dropped == 1
    finally:
        runner.close()
    assert not runner._thread.is_alive()


def test_a_reset_cancels_a_playing_batch():
    """At a million iterations per frame a batch would run for minutes: the reset's frame can only
    arrive because the batch was cancelled (core.errors.Cancelled, through GanLab.train)."""
    frames, got = [], threading.Event()
    runner = None

    def on_frame(frame):
        frames.append(frame)
        runner.frame_shown(frame.token)
        got.set()

    runner = LabRunner(on_frame, None, speed=10**6)
    try:
        first = runner.reset(TINY)
        runner.play()
        while not (frames and frames[-1].token == first):
            assert got.wait(WAIT_S)
            got.clear()
        got.clear()
        second = runner.reset(dataclasses.replace(TINY, seed=3))
        while not (frames and frames[-1].token == second):
            assert got.wait(WAIT_S)
            got.clear()
        after = frames[[f.token for f in frames].index(second):]
        assert all(f.token == second for f in after) and after[0].g_steps == 0
        assert runner.playing  # playing stays as it was
    finally:
        runner.close()
    assert not runner._thread.is_alive()
