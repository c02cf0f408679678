"""Write the procedural faces to a folder or a .zip, byte-for-byte reproducible by seed."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from gan_explorer.core.data.faces import FACTOR_NAMES, FACTOR_RANGES, factors_for, render_face
from gan_explorer.core.io.atomic import atomic_path, atomic_write_bytes, check_output_path

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # zip entries carry no wall-clock time: same seed, same bytes


class _ZipSink:
    def __init__(self, path: Path):
        self.archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED)  # PNGs are compressed

    def write(self, name: str, data: bytes):
        info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
        info.external_attr = 0o644 << 16
        self.archive.writestr(info, data)

    def close(self):
        self.archive.close()


class _FolderSink:
    """Each file written atomically: a link, FIFO or device already in the folder under one of
    our names is refused (one line), never written through."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        for name in ("factors.csv", "factors.json"):  # written last: refused before any image is made
            check_output_path(path / name)

    def write(self, name: str, data: bytes):
        atomic_write_bytes(self.path / name, data, sync=False)  # a dataset is made again by its seed

    def close(self):
        pass


def _png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _write_all(sink, count, resolution, seed, progress, should_stop):
    rows = []
    for i in tqdm(range(count), desc=f"faces {resolution}px", unit="img", disable=not progress):
        if should_stop():
            raise KeyboardInterrupt
        factors = factors_for(i, seed)
        name = f"img{i:08d}.png"
        sink.write(name, _png_bytes(render_face(factors, resolution)))
        rows.append({"file": name, **asdict(factors)})
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=["file", *FACTOR_NAMES], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sink.write("factors.csv", table.getvalue().encode())
    meta = {"dataset": "procedural faces", "resolution": resolution, "count": count, "seed": seed,
            "factor_ranges": FACTOR_RANGES, "factors": rows}
    sink.write("factors.json", json.dumps(meta, indent=1).encode())


def write_faces(out, count: int, resolution: int, seed: int = 0, progress: bool = True,
                should_stop=lambda: False) -> Path:
    """PNG files img00000000.png ... plus factors.json and factors.csv; `out` a folder or *.zip.

    A zip is written to a temporary file and renamed at the end: an interrupted run leaves
    no half-written archive behind.
    """
    out = Path(out)
    if out.suffix.lower() == ".zip":
        with atomic_path(out) as tmp:
            sink = _ZipSink(tmp)
            try:
                _write_all(sink, count, resolution, seed, progress, should_stop)
            finally:
                sink.close()
    else:
        _write_all(_FolderSink(out), count, resolution, seed, progress, should_stop)
    return out
