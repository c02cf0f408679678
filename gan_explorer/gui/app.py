"""Start the window: `gan-explorer [MODEL]`, or `gan-explorer --smoke-test [--screenshot PATH] [MODEL]`."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# What Qt's xcb platform plugin (a window on X11) needs beyond the libraries every Qt program
# loads, by Debian / Ubuntu package; README's install section names the Fedora ones too.
XCB_PACKAGES_DEBIAN = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0",
                       "libxcb-render-util0", "libxcb-shape0", "libxcb-xfixes0", "libxcb-xkb1",
                       "libxkbcommon-x11-0", "libx11-xcb1")


def build_gui_parser():
    p = argparse.ArgumentParser(prog="gan-explorer", description="Open the explorer window (the default).")
    p.add_argument("model", nargs="?", default=None, help="model to open (default: the built-in demo)")
    p.add_argument("--smoke-test", action="store_true",
                   help="open the window, render one frame through the worker thread, exit 0 (or 1 with the reason)")
    p.add_argument("--screenshot", default=None, help="with --smoke-test: save the window as this PNG")
    p.add_argument("--timeout", type=float, default=120.0, help="with --smoke-test: give up after this many seconds")
    return p


def text_renders() -> str | None:
    """None if a real font draws text here; otherwise the reason (boxes or nothing)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFont, QFontDatabase, QImage, QPainter

    if not QFontDatabase.families():
        return "no fonts found (install a font package, e.g. fonts-dejavu-core)"
    images = []
    for text in ("gan", "xyz"):  # different letters must draw different shapes, not the same box
        image = QImage(80, 30, QImage.Format_RGB32)
        image.fill(Qt.white)
        painter = QPainter(image)
        painter.setFont(QFont(QFont().defaultFamily(), 14))
        painter.setPen(Qt.black)
        painter.drawText(image.rect(), Qt.AlignCenter, text)
        painter.end()
        images.append(bytes(image.constBits()))
    if images[0] == images[1]:
        return "text renders as identical boxes: no usable font"
    return None


def xcb_expected(environ) -> bool:
    """Whether Qt will open its window through the xcb plugin: asked for, or an X11 desktop's default."""
    if not sys.platform.startswith("linux"):
        return False
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:  # "xcb", "xcb:option=value"; in a fallback list such as "wayland;xcb" the first one counts
        return re.split(r"[;:]", platform, maxsplit=1)[0].strip() == "xcb"
    wayland = environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland"
    return bool(environ.get("DISPLAY")) and not wayland


def xcb_plugins(environ) -> tuple[Path | None, Path | None]:
    """(the plugin QT_QPA_PLATFORM_PLUGIN_PATH names, the one Qt's plugin search finds): Qt tries the
    first and, when it does not load, the second; as seen with Qt 6, a QT_PLUGIN_PATH copy comes
    before the installed one, and one that fails to load ends the search."""
    direct = environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    direct = Path(direct) / "libqxcb.so" if direct else None
    folders = [Path(entry) / "platforms" for entry in environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if entry]
    try:
        from PySide6.QtCore import QLibraryInfo

        folders.append(Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms")
    except ImportError:
        pass
    found = next((folder / "libqxcb.so" for folder in folders if (folder / "libqxcb.so").is_file()), None)
    return (direct if direct is not None and direct.is_file() else None), found


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries `ldd` could not find ('libxcb-cursor.so.0 => not found')."""
    names = (line.split("=>")[0].strip() for line in ldd_output.splitlines() if "not found" in line)
    return list(dict.fromkeys(names))  # once each, though several libraries need it


def unresolved_libraries(plugin: Path) -> list[str]:
    """The shared libraries `plugin` needs that this system lacks (ldd; without ldd, a trial load)."""
    ldd = shutil.which("ldd")
    if ldd:
        try:
            result = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20)
            return missing_libraries(result.stdout + result.stderr)
        except (OSError, subprocess.SubprocessError):
            pass
    import ctypes

    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:  # "libxcb-cursor.so.0: cannot open shared object file: ..."
        found = re.search(r"([\w.+-]+\.so[\w.]*): cannot open shared object file", str(exc))
        return [found.group(1) if found else str(exc)]
    return []


def xcb_hint(environ=None) -> str | None:
    """One line naming the packages to install when Qt's xcb plugin cannot load (Qt would abort with a
    generic message); None when the window goes another way or the plugin loads."""
    environ = os.environ if environ is None else environ
    if not xcb_expected(environ):
        return None
    missing = []
    for plugin in xcb_plugins(environ):
        if plugin is None:
            continue
        missing = unresolved_libraries(plugin)
        if not missing:
            return None  # this one loads
    if not missing:
        return None
    named = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return (f"gan-explorer: the window cannot open: Qt's X11 (xcb) plugin needs {named}, not installed; "
            f"on Debian/Ubuntu: sudo apt install {' '.join(XCB_PACKAGES_DEBIAN)} "
            f"(other systems: README, \"Two commands\")")


def run_gui(argv=None) -> int:
    args = build_gui_parser().parse_args(argv)
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    if args.smoke_test and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    hint = xcb_hint()  # before QApplication: a plugin that cannot load makes Qt abort the process
    if hint:
        print(hint, file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from gan_explorer.gui.main_window import MainWindow
    from gan_explorer.resources import demo_model, resource

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gan_explorer.gui.binding_check import guard_none_refcount

    guard_none_refcount()
    app.setApplicationName("gan_explorer")
    icon = resource("icon.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow()
    model = args.model or (None if args.smoke_test else window.start_model()) or str(demo_model())
    window.show()

    if not args.smoke_test:
        window.open_model(str(model))
        return app.exec()

    window.quiet_errors = True
    outcome = {"code": 1, "reason": f"no frame within {args.timeout:.0f} s"}

    def finish(code, reason):
        outcome.update(code=code, reason=reason)
        app.quit()

    def shown(_request_id):
        problem = text_renders()
        if problem:
            finish(1, problem)
            return
        if args.screenshot:
            app.processEvents()
            window.grab().save(args.screenshot, "PNG")
        finish(0, f"rendered {window.info.family} {window.info.img_resolution} px from {model}")

    window.sigImageShown.connect(shown)
    window.sigError.connect(lambda message: finish(1, message))
    QTimer.singleShot(int(args.timeout * 1000), lambda: finish(1, outcome["reason"]))
    window.open_model(str(model))
    app.exec()
    window.close()
    print(("smoke test passed: " if outcome["code"] == 0 else "smoke test FAILED: ") + outcome["reason"],
          file=sys.stdout if outcome["code"] == 0 else sys.stderr)
    return outcome["code"]
