"""The log file: never written through a link, and a folder it cannot use never stops the app."""

from gan_explorer.core.explorer import log as app_log


def test_the_log_never_appends_through_a_link(tmp_path):
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    target = tmp_path / "users_notes.txt"
    target.write_text("mine\n")
    (data / "logs" / "gan_explorer.log").symlink_to(target)
    try:
        path = app_log.configure_logging(data)
        import logging

        logging.getLogger("gan_explorer").error("a record")
        assert target.read_text() == "mine\n"
        assert path != data / "logs" / "gan_explorer.log" and "link" in app_log.problem
    finally:
        app_log.configure_logging(tmp_path / "elsewhere")
    assert app_log.problem is None
