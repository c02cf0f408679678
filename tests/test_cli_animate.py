"""`gan-explorer animate`: a sound-driven MP4 as long as its sound with the sound inside, a loop
that closes, and bad mappings named in one line."""

import json
import re
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile

from gan_explorer.cli import main
from gan_explorer.core.io.video import read_mp4_comment

DEMO = "resources/demo/stylegan-faces64.safetensors"
RATE = 16000


def clicks_wav(path, seconds):
    t = np.arange(int(RATE * seconds)) / RATE
    x = 0.2 * np.sin(2 * np.pi * 80 * t)
    for at in np.arange(0.2, seconds, 0.4):
        start = int(at * RATE)
        x[start:start + 400] += 0.6 * np.random.default_rng(int(at * 10)).standard_normal(len(x[start:start + 400]))
    soundfile.write(str(path), np.clip(x, -1, 1).astype(np.float32), RATE)


def probe(path):
    """What ffmpeg reads back: streams and duration."""
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                         capture_output=True, text=True, timeout=60)
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", run.stderr).groups()
    return run.stderr, int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@pytest.mark.slow
def test_a_sound_driven_video_lasts_as_long_as_its_sound_and_carries_it(tmp_path, capsys):
    sound, out = tmp_path / "beat.wav", tmp_path / "beat.mp4"
    clicks_wav(sound, 1.3)
    fps = 10
    assert main(["animate", DEMO, "--device", "cpu", "--audio", str(sound), "--map",
                 "onsets=keyframes,bass=psi", "--keyframes", "1,2,3", "--fps", str(fps), "--out", str(out),
                 "--no-progress"]) == 0
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == int(np.ceil(1.3 * fps))                 # frames locked to the sound's clock
    text, duration = probe(out)
    assert abs(duration - 1.3) <= 1.0 / fps + 0.05            # within one frame (AAC rounds to its blocks)
    assert re.search(r"Stream #0:\d.*Audio: aac", text)       # the sound track is inside
    provenance = json.loads(read_mp4_comment(out))
    assert provenance["animation"]["map"] == "onsets=keyframes,bass=psi"
    assert provenance["animation"]["frames"] == frames


def test_a_loop_closes(tmp_path, capsys):
    out = tmp_path / "loop.gif"
    assert main(["animate", DEMO, "--device", "cpu", "--loop", "z", "--seconds", "1", "--fps", "10",
                 "--seed", "4", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "10 frames" in printed and "(seamless)" in printed


@pytest.mark.parametrize("extra, words", [
    (["--map", "bass=no-such-direction"], "no direction named 'no-such-direction'"),
    (["--map", "colour=smile"], "feature must be one of"),
    (["--map", "bass=keyframes"], "only onsets step through keyframes"),
    (["--map", "onsets=keyframes"], "needs at least two keyframes"),
    (["--fps", "nan"], "finite"),
])
def test_bad_mappings_get_one_line(tmp_path, capsys, extra, words):
    sound = tmp_path / "beat.wav"
    clicks_wav(sound, 0.5)
    assert main(["animate", DEMO, "--device", "cpu", "--audio", str(sound), "--out", str(tmp_path / "v.mp4"),
                 "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "v.mp4").exists()
