"""Starting the window (gui/app.py): a desktop Linux without the xcb libraries gets one line naming the
packages to install, not Qt's generic abort."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gan_explorer.gui import app

LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd5a7f2000)
\tlibQt6XcbQpa.so.6 => /opt/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f2c4a000000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f2c49e00000)
"""


def test_ldd_output_names_the_missing_libraries():
    assert app.missing_libraries(LDD_MISSING) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    assert app.missing_libraries("\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n") == []


@pytest.mark.parametrize("environ,expected", [
    ({"DISPLAY": ":0"}, True),                                     # an X11 desktop: Qt's default is xcb
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
    ({"QT_QPA_PLATFORM": "xcb:nograb"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, False),  # wayland is tried first
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, False),
    ({}, False),                                                   # no display at all: another problem
])
def test_when_the_window_goes_through_xcb(monkeypatch, environ, expected):
    monkeypatch.setattr(sys, "platform", "linux")
    assert app.xcb_expected(environ) is expected


def test_a_missing_library_is_one_line_naming_the_packages(monkeypatch, qapp, capsys):
    """The hint comes before any QApplication or window is made (Qt would abort the process)."""
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM_PLUGIN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(app, "xcb_plugins", lambda environ: (None, Path("/opt/Qt/plugins/platforms/libqxcb.so")))
    monkeypatch.setattr(app, "unresolved_libraries", lambda plugin: app.missing_libraries(LDD_MISSING))

    def no_window(*args, **kwargs):
        raise AssertionError("a window was built although the xcb plugin cannot load")

    monkeypatch.setattr("gan_explorer.gui.main_window.MainWindow", no_window)
    assert app.run_gui([]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and "\n" not in err
    assert "needs libxcb-cursor.so.0, libxcb-icccm.so.4, not installed" in err and "sudo apt install" in err
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxkbcommon-x11-0", "libx11-xcb1"):
        assert package in err


def test_a_plugin_that_loads_lets_the_window_open(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(app, "xcb_plugins", lambda environ: (Path("/broken/libqxcb.so"), Path("/good/libqxcb.so")))
    monkeypatch.setattr(app, "unresolved_libraries", lambda plugin: ["libx.so"] if "broken" in str(plugin) else [])
    assert app.xcb_hint({"DISPLAY": ":0"}) is None  # QT_QPA_PLATFORM_PLUGIN_PATH's copy fails, Qt falls back
    assert app.xcb_hint({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) is None


def _plugin_without(tmp_path, soname: bytes) -> Path | None:
    """A copy of PySide6's xcb plugin that needs a library no system has (soname renamed in its
    dynamic string table), laid out as Qt's plugin folder so its RUNPATH still finds Qt."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    original = plugins / "platforms" / "libqxcb.so"
    if not original.is_file() or (plugins.parent / "lib") != (plugins / ".." / "lib").resolve():
        return None
    data = original.read_bytes()
    if data.count(soname + b"\0") != 1:
        return None
    (tmp_path / "plugins" / "platforms").mkdir(parents=True)
    cut = soname.index(b".so")
    renamed = soname[:cut - 1] + b"X" + soname[cut:]  # libxcb-cursor.so.0 -> libxcb-cursoX.so.0, same length
    (tmp_path / "plugins" / "platforms" / "libqxcb.so").write_bytes(data.replace(soname + b"\0", renamed + b"\0"))
    (tmp_path / "lib").symlink_to(plugins.parent / "lib")
    return tmp_path / "plugins"


@pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("ldd"), reason="Linux with ldd")
def test_the_real_plugin_missing_a_library_gives_the_hint_not_an_abort(tmp_path):
    """A real Qt in a real process: its xcb plugin needs a library that is not there. Without the hint
    Qt aborts ('Could not load the Qt platform plugin "xcb"'); with it, one line and exit status 1."""
    plugins = _plugin_without(tmp_path, b"libxcb-cursor.so.0")
    if plugins is None:
        pytest.skip("this PySide6's xcb plugin is not laid out as expected")
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM_PLUGIN_PATH")}
    source = str(Path(app.__file__).resolve().parents[2])  # the gan_explorer under test, not another install
    env.update(DISPLAY=":97", QT_PLUGIN_PATH=str(plugins),
               PYTHONPATH=os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p))
    result = subprocess.run([sys.executable, "-m", "gan_explorer"], env=env, capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    err = result.stderr.strip()
    assert result.returncode == 1, (result.returncode, err[-2000:])
    assert "\n" not in err and "libxcb-cursoX.so.0" in err and "libxcb-cursor0" in err, err


def test_readme_install_section_names_the_same_packages_per_platform():
    readme = (Path(app.__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    for package in app.XCB_PACKAGES_DEBIAN:
        assert package in section, package
    assert "Fedora" in section and "xcb-util-cursor" in section and "macOS and Windows, none" in section
