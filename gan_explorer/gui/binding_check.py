"""A guard against a Qt binding that loses references to None.

PySide6 6.12.0 returns None from void methods (setValue, setText, ...) without taking a
reference. On Python 3.11, where None is not immortal, every such call lowers None's reference
count, and after some thousands of calls the interpreter aborts ("deallocating None").
pyproject.toml excludes that release; a frozen build or a hand-made environment could still
carry it, so the window checks at start and, if the binding leaks, keeps None alive for good.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger("gan_explorer.gui")
PROBE_CALLS = 200


def none_references_lost(calls: int = PROBE_CALLS) -> int:
    """How many references to None `calls` void Qt calls lose (0 with a sound binding)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None)


def guard_none_refcount() -> bool:
    """If the binding leaks, make None's count too large to ever reach 0; True when that was needed."""
    if sys.version_info >= (3, 12):
        return False  # None is immortal there
    lost = none_references_lost()
    if lost < PROBE_CALLS // 2:
        return False
    import PySide6

    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 48
    log.warning("PySide6 %s loses a reference to None on every void call; None is kept alive by hand "
                "(install another PySide6 version to avoid this)", PySide6.__version__)
    return True
