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
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.io.atomic import atomic_write_text

log = logging.getLogger("gan_explorer.library")
MAX_LIBRARY_BYTES = 32 * 1024**2
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
        if self.path.exists():
            try:
                self.directions = self._read(self.path)
            except GanExplorerError as exc:
                aside = self.path.with_name(f"{self.path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
                os.replace(self.path, aside)
                self.warning = f"{exc}; kept as {aside.name}, starting with an empty library"
                log.warning(self.warning)

    def _read(self, path: Path) -> list[NamedDirection]:
        try:
            if path.stat().st_size > MAX_LIBRARY_BYTES:
                raise ValueError("larger than a direction library can be")
            data = json.loads(path.read_text(encoding="utf-8"))
            items = data["directions"]
            if not isinstance(items, list):
                raise ValueError("'directions' is not a list")
            out = []
            for item in items:
                d = make_direction(item["name"], item["vector"], item.get("sigma", 1.0),
                                   (item.get("layer_start", 0), item.get("layer_end", -1)),
                                   item.get("strength", 2.0), str(item.get("source", "")))
                if len(d.vector) != self.w_dim:
                    raise ValueError(f"direction {d.name!r} has {len(d.vector)} dimensions, this model's w has "
                                     f"{self.w_dim}")
                out.append(d)
            return out
        except (OSError, ValueError, KeyError, TypeError, RecursionError, ConfigError) as exc:
            raise GanExplorerError(f"{path}: not a usable direction library ({exc})") from None

    def names(self) -> list[str]:
        return [d.name for d in self.directions]

    def add(self, direction: NamedDirection) -> NamedDirection:
        if len(direction.vector) != self.w_dim:
            raise ConfigError(f"direction {direction.name!r}: {len(direction.vector)} dimensions, w has {self.w_dim}")
        self.directions = [d for d in self.directions if d.name != direction.name] + [direction]
        self.save()
        return direction

    def remove(self, name: str):
        self.directions = [d for d in self.directions if d.name != name]
        self.save()

    def get(self, name: str) -> NamedDirection | None:
        return next((d for d in self.directions if d.name == name), None)

    def save(self, path=None):
        data = {"format": FORMAT, "model_sha256": self.content_hash, "w_dim": self.w_dim,
                "directions": [asdict(d) | {"vector": list(d.vector)} for d in self.directions]}
        atomic_write_text(Path(path or self.path), json.dumps(data))

    def export(self, path) -> Path:
        self.save(path)
        return Path(path)

    def import_file(self, path) -> list[str]:
        """Add the directions of another library file (same w_dim); returns their names."""
        added = self._read(Path(path))
        for d in added:
            self.directions = [x for x in self.directions if x.name != d.name] + [d]
        self.save()
        return [d.name for d in added]
