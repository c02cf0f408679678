"""Whether exports carry the invisible watermark: on unless the user turns it off.

The window's File menu and `--no-watermark` on the command line turn it off for what follows;
$GAN_EXPLORER_WATERMARK=off does it for a whole process. An export made without it says so in its
provenance and in its Content Credentials (core/trust/export.py): never silently.
"""

from __future__ import annotations

import os

WATERMARK_ENV = "GAN_EXPLORER_WATERMARK"  # "off" (or 0 / no / false): no watermark for this process
_choice: bool | None = None  # the user's choice in this process (None: the environment decides)


def watermark_enabled() -> bool:
    if _choice is not None:
        return _choice
    return os.environ.get(WATERMARK_ENV, "on").strip().lower() not in ("off", "0", "no", "false")


def set_watermark_enabled(enabled: bool | None) -> None:
    """The user's choice for the exports that follow; None: back to the environment's."""
    global _choice
    _choice = None if enabled is None else bool(enabled)


def export_caption(title: str) -> str:
    """A save dialog's title that says whether the export will carry the invisible watermark."""
    state = "on" if watermark_enabled() else "off"
    return f"{title} (invisible watermark {state}: File > Invisible watermark in exports)"
