"""The Qt binding must keep its references to None (PySide6 6.12.0 does not, and crashes 3.11)."""

from gan_explorer.gui.binding_check import PROBE_CALLS, none_references_lost


def test_void_qt_calls_keep_their_reference_to_none(qapp):
    assert none_references_lost() < PROBE_CALLS // 2
