"""What `gan-explorer verify` and File > Verify say about a file: its Content Credentials (present,
valid, whose key), our watermark (confidence, the model's hash prefix) and whether our provenance
restores a state. The absence of both proves nothing: a picture may still be generated (a re-save
drops the credentials, a heavy edit the mark), so a report never says "real".

Outcomes (the command's exit code is the worst of its files):
  OURS      0  valid credentials, or our watermark found (the file came from gan_explorer)
  NOTHING   1  no credentials and no mark
  TAMPERED  3  credentials present but invalid: the file changed after it was signed
(2 is the command line's usage error and an unreadable file.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_explorer.core.errors import GanExplorerError, escape_text

OURS, NOTHING, USAGE, TAMPERED = 0, 1, 2, 3
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".mp4"}
MAX_PIXELS = 64_000_000  # a larger picture is not searched for the mark (its float copies alone take GBs)
MAX_FILES = 100_000  # a folder walk stops here (a mistyped root would otherwise read a whole disk)


@dataclass(frozen=True)
class FileReport:
    path: str
    credentials: object           # core/trust/credentials.Credentials
    watermark: object | None      # core/trust/watermark.Detection (None: pixels not readable)
    provenance: str               # one line: restores / none / damaged
    error: str = ""               # the file could not be read at all

    @property
    def outcome(self) -> int:
        if self.error:
            return USAGE
        if self.credentials.present and not self.credentials.valid:
            return TAMPERED
        if self.credentials.valid or (self.watermark is not None and self.watermark.found):
            return OURS
        return NOTHING

    def lines(self) -> list[str]:
        name = escape_text(self.path, 400)
        if self.error:
            return [f"{name}: {self.error}"]
        out = [f"{name}:"]
        c = self.credentials
        from gan_explorer.core.trust.credentials import describe_signer

        if not c.present:
            out.append("  content credentials: none" + (f" ({c.error})" if c.error else ""))
        elif c.valid:
            kind = c.source_type.rsplit("/", 1)[-1] or "no source type"
            out.append(f"  content credentials: valid, signed by {describe_signer(c)}; {kind}")
        else:
            why = ", ".join(c.failures) or c.error or c.state
            out.append(f"  content credentials: INVALID ({escape_text(why, 300)}): changed after it was signed")
        if self.watermark is None:
            out.append("  watermark: pixels not readable")
        elif self.watermark.found:
            out.append(f"  {self.watermark.line()}")
        else:
            out.append("  watermark: no mark found (absence proves nothing: the file may still be generated)")
        out.append(f"  provenance: {self.provenance}")
        return out


def verify_file(path: str | os.PathLike) -> FileReport:
    from gan_explorer.core.trust.credentials import Credentials, read_credentials

    path = Path(path)
    if not path.is_file():
        return FileReport(str(path), Credentials(False), None, "", "not a regular file")
    try:
        credentials = read_credentials(path)
    except GanExplorerError as exc:
        return FileReport(str(path), Credentials(False), None, "", str(exc))
    pixels = _first_frame(path)
    detection = None
    if pixels is not None:
        detection = _detect_at_export_sizes(pixels)
    return FileReport(str(path), credentials, detection, _provenance_line(path, credentials))


def _detect_at_export_sizes(pixels: np.ndarray):
    """The mark as found in the picture, else in it scaled back to a size the app exports at (a
    picture re-posted at another size: 256 px shown at 300 px): the short side at 256 or 512 px."""
    from PIL import Image

    from gan_explorer.core.trust.watermark import MIN_SIDE, detect

    detection = detect(pixels)
    height, width = pixels.shape[:2]
    for side in (MIN_SIDE, 2 * MIN_SIDE):
        if detection.found or min(height, width) == side:
            continue
        scale = side / min(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        detection = detect(np.asarray(Image.fromarray(pixels).resize(size, Image.LANCZOS)))
    return detection


def _first_frame(path: Path) -> np.ndarray | None:
    """The picture's pixels (an animation's first frame) as HWC uint8 RGB, or None."""
    try:
        if path.suffix.lower() == ".mp4":
            import imageio.v3 as iio

            frame = iio.imread(path, index=0)
            return np.asarray(frame)[..., :3]
        from PIL import Image

        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.seek(0)
            return np.asarray(image.convert("RGB"))
    except Exception:  # any undecodable file: the report says its pixels were not readable
        return None


def _provenance_line(path: Path, credentials) -> str:
    from gan_explorer.core.latent.provenance import parse_provenance, read_picture_provenance
    from gan_explorer.core.trust.credentials import provenance_json

    try:
        provenance = read_picture_provenance(path) if path.suffix.lower() == ".png" else None
        where = "the file's own metadata"
        if provenance is None and credentials.valid and credentials.provenance:
            provenance = parse_provenance(provenance_json(credentials), str(path))
            where = "the Content Credentials"
        if provenance is None and path.suffix.lower() in (".gif", ".mp4"):
            from gan_explorer.core.io.video import read_gif_comment, read_mp4_comment

            text = read_gif_comment(path) if path.suffix.lower() == ".gif" else read_mp4_comment(path)
            if text:
                provenance = parse_provenance(text, str(path))
                where = "the file's comment"
    except GanExplorerError as exc:
        return f"damaged ({escape_text(str(exc), 300)})"
    if provenance is None:
        return "none (the state cannot be restored from this file)"
    model = provenance.model_hash[:12] or "unknown"
    return (f"restores (from {where}): seed {provenance.state.seed}, model {escape_text(provenance.model_name, 80)} "
            f"{model}…")


def collect(paths) -> list[Path]:
    """The files named, and the pictures and videos under the folders named (recursively, sorted)."""
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):  # never follows a linked folder
                dirs.sort()
                files.extend(Path(root) / n for n in sorted(names) if Path(n).suffix.lower() in PICTURE_SUFFIXES)
                if len(files) > MAX_FILES:
                    raise GanExplorerError(f"{escape_text(str(path), 300)}: more than {MAX_FILES:,} pictures")
        else:
            files.append(path)
    return files


def summary(reports: list[FileReport]) -> str:
    counts = {OURS: 0, NOTHING: 0, TAMPERED: 0, USAGE: 0}
    for report in reports:
        counts[report.outcome] += 1
    return (f"{len(reports)} file(s): {counts[OURS]} from gan_explorer, {counts[TAMPERED]} changed after signing, "
            f"{counts[NOTHING]} with nothing found (which proves nothing), {counts[USAGE]} unreadable")


def exit_code(reports: list[FileReport]) -> int:
    """The worst outcome: TAMPERED over an unreadable file over NOTHING over OURS."""
    outcomes = {r.outcome for r in reports}
    for code in (TAMPERED, USAGE, NOTHING):
        if code in outcomes:
            return code
    return OURS
