"""The direction library: named directions in W a user keeps, one JSON file per model.

A direction is a unit vector [w_dim] with a name, the layer range it acts on, its default
strength and its spread (sigma: sliders move in units of it). The file is named by the model's
identity (core/io/identity.py: a model file's sha256, which is the name earlier versions gave it
too), so it follows the model wherever the file is, and it can be exported and imported (a
direction only fits models with the same w_dim).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import ConfigError, GanExplorerError, OutputError, escape_text, shorten
from gan_explorer.core.io.atomic import atomic_write_text
from gan_explorer.core.io.reading import read_user_json

log = logging.getLogger("gan_explorer.library")
MAX_LIBRARY_BYTES = 16 * 1024**2  # 512 directions of a 1024-dimensional w are about 11 MB of JSON
MAX_DIRECTIONS = 512
MAX_NAME_CHARS = 200
MAX_LAYER = 1024
FORMAT = "gan_explorer direction library 1"


@dataclass(frozen=True)
class NamedDirection:
    name: str
    vector: tuple                 # unit vector [w_dim]
    layer_start: int = 0
    layer_end: int = -1           # inclusive; -1: the last layer
    strength: float = 2.0         # default amount, in sigma
    sigma: float = 1.0            # spread of sampled w along the vector (a slider unit)
    source: str = ""              # how it was found: "pca 3", "sefa 0", "bookmarks A -> B", "attribute"
    created: float = field(default_factory=time.time)

    def as_array(self) -> np.ndarray:
        return np.asarray(self.vector, dtype=np.float32)

    def layers(self, num_ws: int) -> tuple[int, int]:
        end = num_ws - 1 if self.layer_end < 0 else min(self.layer_end, num_ws - 1)
        return min(self.layer_start, end), end


def make_direction(name: str, vector, sigma: float = 1.0, layers=(0, -1), strength: float = 2.0,
                   source: str = "") -> NamedDirection:
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(v))
    if not np.all(np.isfinite(v)) or norm == 0:
        raise ConfigError(f"direction {name!r}: the vector is zero or not finite")
    if not str(name).strip():
        raise ConfigError("a direction needs a name")
    if not (np.isfinite(sigma) and sigma > 0 and np.isfinite(strength)):
        raise ConfigError(f"direction {name!r}: sigma must be > 0 and strength finite")
    return NamedDirection(str(name).strip(), tuple(float(x) for x in v / norm), int(layers[0]), int(layers[1]),
                          float(strength), float(sigma), source)


def difference_direction(ws_a: np.ndarray, ws_b: np.ndarray, w_std: np.ndarray | None = None):
    """The direction from latent A to latent B (mean over layers), and its sigma: the spread of
    sampled w along it (from the per-dimension w_std, dimensions taken as independent)."""
    d = np.asarray(ws_b, np.float64).mean(axis=0) - np.asarray(ws_a, np.float64).mean(axis=0)
    norm = np.linalg.norm(d)
    if norm == 0:
        raise ConfigError("the two latents are the same: no direction between them")
    unit = d / norm
    sigma = float(np.sqrt(np.sum((unit * w_std) ** 2))) if w_std is not None else 1.0
    return unit.astype(np.float32), sigma


def _number(value) -> bool:
    """A finite JSON number that fits a float (an integer of 400 digits does not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


class DirectionLibrary:
    """The named directions of one model (by its identity), kept in the user's data folder."""

    def __init__(self, content_hash: str, w_dim: int, data_dir=None):
        """`content_hash`: the model's identity (core/io/identity.model_identity)."""
        from gan_explorer.core.io.identity import identity_key
        from gan_explorer.core.paths import default_data_dir

        if not content_hash:
            raise ConfigError("a direction library needs the model's identity")
        # The name earlier versions gave a model file's library (its sha256[:32]) is this one.
        self.path = Path(data_dir or default_data_dir()) / "directions" / f"{identity_key(content_hash)}.json"
        self.w_dim = int(w_dim)
        self.content_hash = content_hash
        self.directions: list[NamedDirection] = []
        self.warning = ""
        self._kept_in_place = False
        if os.path.lexists(self.path):
            try:
                self.directions = self._read(self.path)
            except GanExplorerError as exc:
                self._set_aside(exc)

    def _set_aside(self, exc: GanExplorerError) -> None:
        """A damaged library never stops its model from opening: it is renamed aside (kept for the
        user) and the model starts with none; where renaming fails (a read-only folder) it is
        ignored and left as it is, and never overwritten."""
        aside = self.path.with_name(f"{self.path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
        try:
            os.replace(self.path, aside)
            kept = f"kept as {aside.name}"
        except OSError as move_error:
            self._kept_in_place = True
            kept = (f"it could not be set aside ({escape_text(move_error.strerror or str(move_error), 100)}) "
                    f"and is left as it is")
        self.warning = f"{exc}; {kept}, starting with an empty library"
        log.warning(self.warning)

    def _read(self, path: Path) -> list[NamedDirection]:
        """The directions of a library file: bounded in bytes and directions, each one checked."""
        data = read_user_json(path, MAX_LIBRARY_BYTES, "direction library")  # one line naming the file
        try:
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            items = data["directions"]
            if not isinstance(items, list):
                raise ValueError("'directions' is not a list")
            if len(items) > MAX_DIRECTIONS:
                raise ValueError(f"{len(items):,} directions, more than the {MAX_DIRECTIONS:,} a library holds")
            return [self._direction(item) for item in items]
        except KeyError as exc:
            reason = f"no {shorten(str(exc), 40)}"
        except (ValueError, TypeError, ConfigError) as exc:
            reason = str(exc)
        raise GanExplorerError(f"{escape_text(str(path), 400)}: not a usable direction library "
                               f"({escape_text(reason, 300)})")

    def _direction(self, item) -> NamedDirection:
        if not isinstance(item, dict):
            raise ValueError("a direction is not a JSON object")
        name, vector = item["name"], item["vector"]
        if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
            raise ValueError(f"direction name {shorten(name, 40)} is not a short text")
        shown = shorten(repr(name), 60)
        if not isinstance(vector, list) or len(vector) != self.w_dim:
            size = len(vector) if isinstance(vector, list) else type(vector).__name__
            raise ValueError(f"direction {shown} has {size} dimensions, this model's w has {self.w_dim}")
        if not all(_number(v) for v in vector):
            raise ValueError(f"direction {shown}: its vector holds something that is not a finite number")
        numbers = {key: item.get(key, default) for key, default in (("sigma", 1.0), ("strength", 2.0))}
        layers = {key: item.get(key, default) for key, default in (("layer_start", 0), ("layer_end", -1))}
        if not all(_number(v) for v in numbers.values()):
            raise ValueError(f"direction {shown}: sigma and strength must be finite numbers")
        for key, value in layers.items():
            if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= MAX_LAYER:
                raise ValueError(f"direction {shown}: {key} {shorten(value, 40)} is not a layer from -1 to {MAX_LAYER}")
        return make_direction(name, vector, numbers["sigma"], (layers["layer_start"], layers["layer_end"]),
                              numbers["strength"], shorten(str(item.get("source", "")), 200))

    @staticmethod
    def _check_count(count: int) -> None:
        if count > MAX_DIRECTIONS:
            raise ConfigError(f"{count:,} directions: a library holds at most {MAX_DIRECTIONS:,}")

    def names(self) -> list[str]:
        return [d.name for d in self.directions]

    def add(self, direction: NamedDirection) -> NamedDirection:
        if len(direction.vector) != self.w_dim:
            raise ConfigError(f"direction {direction.name!r}: {len(direction.vector)} dimensions, w has {self.w_dim}")
        kept = [d for d in self.directions if d.name != direction.name]
        self._check_count(len(kept) + 1)
        self.directions = kept + [direction]
        self.save()
        return direction

    def remove(self, name: str):
        self.directions = [d for d in self.directions if d.name != name]
        self.save()

    def get(self, name: str) -> NamedDirection | None:
        return next((d for d in self.directions if d.name == name), None)

    def save(self, path=None):
        if path is None and self._kept_in_place:
            raise GanExplorerError(f"{escape_text(str(self.path), 400)}: the damaged direction library there could "
                                   f"not be set aside; not overwriting it (move it away, then try again)")
        data = {"format": FORMAT, "model_sha256": self.content_hash, "w_dim": self.w_dim,
                "directions": [asdict(d) | {"vector": list(d.vector)} for d in self.directions]}
        try:
            atomic_write_text(Path(path or self.path), json.dumps(data))
        except GanExplorerError as exc:
            if path is not None:  # an export: the writer's own line says it all
                raise
            raise OutputError(f"Direction library not saved: {exc}; the change is kept in this session and saved "
                              f"with the next one") from None

    def export(self, path) -> Path:
        self.save(path)
        return Path(path)

    def import_file(self, path) -> list[str]:
        """Add the directions of another library file (same w_dim); returns their names."""
        added = self._read(Path(path))
        merged = list(self.directions)
        for d in added:
            merged = [x for x in merged if x.name != d.name] + [d]
        self._check_count(len(merged))
        self.directions = merged
        self.save()
        return [d.name for d in added]
