"""A sound file as numbers per video frame: loudness, onsets and three frequency bands.

The file is decoded by libsndfile (through `soundfile`) in this process, for the formats named in
AUDIO_FORMATS only; nothing else ever parses the user's bytes (the MP4 export hands ffmpeg a WAV
written here, not the user's file). Features are computed with numpy's FFT, one analysis window
per video frame, so frame k of a video at `fps` shows the sound at k / fps seconds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import ConfigError, quote

AUDIO_FORMATS = {"WAV": (".wav",), "FLAC": (".flac",), "MP3": (".mp3",), "OGG": (".ogg", ".oga")}
MAX_SECONDS = 60 * 60            # an hour of sound: beyond that a typo, not a song
MAX_BYTES = 2 * 1024**3          # what one file may be before it is read
BANDS = {"bass": (20.0, 250.0), "mid": (250.0, 2000.0), "treble": (2000.0, 8000.0)}
FEATURES = ("loudness", "onsets", *BANDS)


@dataclass(frozen=True)
class Sound:
    samples: np.ndarray      # [n] float32 mono in [-1, 1]
    rate: int                # samples per second
    path: str = ""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def read_sound(path) -> Sound:
    """A sound file as mono float32; ConfigError (one line naming the file) for anything else."""
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{quote(path)}: no such sound file")
    if path.stat().st_size > MAX_BYTES:
        raise ConfigError(f"{quote(path)}: {path.stat().st_size / 1024**3:.1f} GB is more sound than one video takes")
    expected = next((name for name, suffixes in AUDIO_FORMATS.items() if path.suffix.lower() in suffixes), None)
    if expected is None:
        raise ConfigError(f"{quote(path)}: not a sound file this reads ({', '.join(AUDIO_FORMATS)})")
    try:
        info = soundfile.info(str(path))
        if info.format != expected:
            raise ConfigError(f"{quote(path)}: its name says {expected} but it holds {info.format}")
        if info.samplerate <= 0 or info.frames / info.samplerate > MAX_SECONDS:
            raise ConfigError(f"{quote(path)}: {info.frames / max(info.samplerate, 1):.0f} s is longer than "
                              f"{MAX_SECONDS // 60} minutes")
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except ConfigError:
        raise
    except Exception as exc:  # libsndfile's own message: "unknown format", "truncated", ...
        raise ConfigError(f"{quote(path)}: cannot be read as sound ({str(exc).splitlines()[0][:160]})") from None
    mono = samples.mean(axis=1)
    if len(mono) == 0:
        raise ConfigError(f"{quote(path)}: holds no sound")
    if not np.isfinite(mono).all():
        raise ConfigError(f"{quote(path)}: holds NaN or infinite samples")
    return Sound(np.clip(mono, -1, 1).astype(np.float32), int(rate), str(path))


def frame_count(seconds: float, fps: float) -> int:
    """Frames a video of `seconds` at `fps` shows: the last frame starts before the sound ends."""
    return max(1, int(np.ceil(seconds * fps - 1e-9)))


@dataclass(frozen=True)
class SoundFeatures:
    """One value per video frame for each feature, each scaled to [0, 1] over the whole sound."""

    fps: float
    loudness: np.ndarray
    onsets: np.ndarray       # 1.0 on frames where a new sound starts, else 0.0
    bass: np.ndarray
    mid: np.ndarray
    treble: np.ndarray

    def __len__(self) -> int:
        return len(self.loudness)

    def get(self, name: str) -> np.ndarray:
        if name not in FEATURES:
            raise ConfigError(f"sound feature {quote(name)}: must be one of {', '.join(FEATURES)}")
        return getattr(self, name)


def _unit(values: np.ndarray) -> np.ndarray:
    """Scaled to [0, 1] by the 98th percentile, so one loud click does not flatten the rest."""
    top = float(np.percentile(values, 98)) if len(values) else 0.0
    return np.clip(values / top, 0, 1).astype(np.float32) if top > 1e-12 else np.zeros_like(values, np.float32)


def sound_features(sound: Sound, fps: float, smoothing: float = 0.5) -> SoundFeatures:
    """Loudness (RMS), onsets (peaks of spectral flux) and band energies for each video frame.

    smoothing: 0 follows the sound exactly, towards 1 each value decays slowly from its peaks (so a
    picture driven by bass swells and settles instead of flickering at the frame rate)."""
    if not (np.isfinite(fps) and 1 <= fps <= 240):
        raise ConfigError(f"fps {fps}: must be from 1 to 240")
    n = frame_count(sound.seconds, fps)
    hop = sound.rate / fps
    window = max(256, int(2 ** np.ceil(np.log2(2 * hop))))  # two frames of sound, a power of two
    padded = np.concatenate([sound.samples, np.zeros(window, np.float32)])
    starts = (np.arange(n) * hop).astype(np.int64)
    frames = np.stack([padded[s:s + window] for s in starts]) * np.hanning(window).astype(np.float32)
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    freqs = np.fft.rfftfreq(window, 1 / sound.rate)
    loudness = np.sqrt((frames ** 2).mean(axis=1))
    bands = {name: spectrum[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) for name, (lo, hi) in BANDS.items()}
    log_spectrum = np.log1p(spectrum)
    flux = np.concatenate([[0.0], np.maximum(log_spectrum[1:] - log_spectrum[:-1], 0).sum(axis=1)])
    # An onset: flux above its local median by a margin, and the largest within +-2 frames.
    onsets = np.zeros(n, np.float32)
    for i in range(n):
        local, near = flux[max(0, i - 8):i + 9], flux[max(0, i - 2):i + 3]
        if flux[i] == near.max() and flux[i] > np.median(local) + 0.5 * local.std() + 1e-6:
            onsets[i] = 1.0
    smooth = {name: _decay(_unit(values), smoothing) for name, values in {"loudness": loudness, **bands}.items()}
    return SoundFeatures(float(fps), smooth["loudness"], onsets, smooth["bass"], smooth["mid"], smooth["treble"])


def _decay(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Rises at once, falls by `smoothing` per frame: a peak meter."""
    if not 0 <= smoothing < 1:
        raise ConfigError(f"smoothing {smoothing}: must be from 0 to below 1")
    out = np.empty_like(values)
    level = 0.0
    for i, v in enumerate(values):
        level = max(float(v), level * smoothing)
        out[i] = level
    return out


def write_wav(sound: Sound, path) -> None:
    """The sound as a plain 16-bit WAV (what the MP4 export hands ffmpeg)."""
    import soundfile

    soundfile.write(str(path), sound.samples, sound.rate, subtype="PCM_16", format="WAV")
