"""Sound files become numbers per video frame: decoded only for the formats named, one value per
frame, onsets where the sound starts, bands where their frequencies are."""

import numpy as np
import pytest
import soundfile

from gan_explorer.core.animation.audio import frame_count, read_sound, sound_features
from gan_explorer.core.errors import ConfigError

RATE = 22050
CLICKS = (0.25, 0.75, 1.25, 1.75)   # seconds


def song(seconds=2.0, bass_from=1.0):
    """A 60 Hz hum that starts at `bass_from` seconds, and short broadband clicks at CLICKS."""
    t = np.arange(int(RATE * seconds)) / RATE
    x = np.where(t >= bass_from, 0.3 * np.sin(2 * np.pi * 60 * t), 0.0)
    for k, at in enumerate(CLICKS):
        start = int(at * RATE)
        x[start:start + 600] += 0.7 * np.random.default_rng(k).standard_normal(600) * np.exp(-np.arange(600) / 150)
    return np.clip(x, -1, 1).astype(np.float32)


@pytest.mark.parametrize("suffix, fmt", [(".wav", "WAV"), (".flac", "FLAC"), (".mp3", "MP3"), (".ogg", "OGG")])
def test_each_format_reads_as_mono(tmp_path, suffix, fmt):
    path = tmp_path / f"song{suffix}"
    stereo = np.stack([song(), song()], axis=1)
    soundfile.write(str(path), stereo, RATE, format=fmt)
    sound = read_sound(path)
    assert sound.rate == RATE and sound.samples.ndim == 1
    assert abs(sound.seconds - 2.0) < 0.1   # MP3 and OGG pad a little


def test_a_file_whose_name_lies_is_refused(tmp_path):
    path = tmp_path / "song.wav"
    soundfile.write(str(path), song(), RATE, format="FLAC")
    with pytest.raises(ConfigError, match="says WAV but it holds FLAC"):
        read_sound(path)


@pytest.mark.parametrize("name, data, words", [
    ("noise.wav", b"RIFF\x00\x00garbage" * 10, "cannot be read as sound"),
    ("song.txt", b"hello", "not a sound file"),
])
def test_bad_files_get_one_line(tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=words) as info:
        read_sound(path)
    assert "\n" not in str(info.value) and name in str(info.value)


def test_features_have_one_value_per_frame_and_find_the_clicks(tmp_path):
    path = tmp_path / "song.wav"
    soundfile.write(str(path), song(), RATE)
    features = sound_features(read_sound(path), fps=24, smoothing=0.0)
    assert len(features) == frame_count(2.0, 24) == 48
    found = np.flatnonzero(features.onsets) / 24
    for at in CLICKS:   # each click is found within a frame and a half of where it is
        assert np.min(np.abs(found - at)) <= 1.5 / 24, (at, found)
    assert len(found) <= 2 * len(CLICKS)
    # The hum starts at 1 s: bass is low before it, high after (away from the clicks).
    assert features.bass[30:34].mean() > 4 * features.bass[2:5].mean()
    assert all(0 <= v.min() and v.max() <= 1 for v in (features.bass, features.mid, features.treble, features.loudness))


def test_smoothing_holds_peaks(tmp_path):
    path = tmp_path / "song.wav"
    soundfile.write(str(path), song(), RATE)
    sharp = sound_features(read_sound(path), fps=24, smoothing=0.0)
    held = sound_features(read_sound(path), fps=24, smoothing=0.8)
    assert (held.treble >= sharp.treble - 1e-6).all() and held.treble.sum() > sharp.treble.sum()
