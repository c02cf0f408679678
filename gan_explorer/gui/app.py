"""Start the window: `gan-explorer [MODEL]`, or `gan-explorer --smoke-test [--screenshot PATH] [MODEL]`."""

from __future__ import annotations

import argparse
import os
import sys


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


def run_gui(argv=None) -> int:
    args = build_gui_parser().parse_args(argv)
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    if args.smoke_test and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
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
