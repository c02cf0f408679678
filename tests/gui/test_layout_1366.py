"""The window on a 1366x768 laptop screen (issue #25): every tab and dock opened, the direction
preview and an Understand job run, and the window, every dock's minimum size and every button stay
on the screen, with no scroll area in the docks scrolling sideways.

The session's offscreen screen is Qt's default (800x800) and shared with the other tests, so the
window is set to the 1366x768 rectangle itself and checked against that rectangle."""

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QApplication, QDockWidget, QScrollArea, QTabWidget

from gan_explorer.resources import demo_models
from tests.gui.conftest import open_and_wait

SCREEN = QSize(1366, 768)


def settle(qtbot, ms=50):
    """Let Qt lay out (and resize the window if its contents ask for it)."""
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(ms)


def button_rect(window, button) -> QRect:
    return QRect(button.mapTo(window, QPoint(0, 0)), button.size())


def shown(window, dock) -> bool:
    """A dock on screen: Qt parks the docks behind a dock tab outside the window, still 'visible'."""
    return dock.isVisible() and window.rect().intersects(QRect(dock.mapTo(window, QPoint(0, 0)), dock.size()))


def cut_sideways(window, widget):
    """The first widget between `widget` and the window that cuts it off on the left or right
    (a scroll area's viewport narrower than what it shows), or None."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        left = widget.mapTo(parent, QPoint(0, 0)).x()
        if left < 0 or left + widget.width() > parent.width():
            return parent
        parent = parent.parentWidget()
    return None


def describe(widget) -> str:
    parent = widget.parentWidget()
    if isinstance(parent, QAbstractScrollArea) and parent.viewport() is widget:
        return "scroll area's viewport"
    return type(widget).__name__


def layout_problems(window, where: str) -> list[str]:
    """Everything that does not fit a 1366x768 screen right now, as readable lines."""
    problems = []
    size = window.size()
    if size.width() > SCREEN.width() or size.height() > SCREEN.height():
        problems.append(f"{where}: the window is {size.width()}x{size.height()}, more than the screen")
    hint = window.minimumSizeHint()
    if hint.width() > SCREEN.width() or hint.height() > SCREEN.height():
        problems.append(f"{where}: the window's minimum size {hint.width()}x{hint.height()} exceeds the screen")
    docks = [d for d in window.findChildren(QDockWidget) if shown(window, d)]
    for dock in docks:
        hint = dock.minimumSizeHint()
        if hint.width() > SCREEN.width() or hint.height() > SCREEN.height():
            problems.append(f"{where}: dock {dock.windowTitle()!r} needs {hint.width()}x{hint.height()}")
    inside = window.rect()
    parked = [d for d in window.findChildren(QDockWidget) if not shown(window, d)]
    for button in window.findChildren(QAbstractButton):
        if not button.isVisible() or button.window() is not window:
            continue
        if any(d.isAncestorOf(button) for d in parked):
            continue
        rect = button_rect(window, button)
        name = button.text() or button.toolTip() or type(button).__name__
        if not inside.contains(rect):
            problems.append(f"{where}: button {name!r} at "
                            f"{rect.x()},{rect.y()} {rect.width()}x{rect.height()} is outside the window")
        elif cut_sideways(window, button):
            problems.append(f"{where}: button {name!r} at {rect.x()},{rect.y()} is cut off at the side "
                            f"(by a {describe(cut_sideways(window, button))})")
    for dock in docks:
        for area in dock.findChildren(QScrollArea):
            inner = area.widget().minimumSizeHint().width() if area.widget() is not None else 0
            if dock.minimumSizeHint().width() < inner:  # a user dragging the dock narrower gets a sideways scrollbar
                problems.append(f"{where}: dock {dock.windowTitle()!r} may be made {dock.minimumSizeHint().width()} "
                                f"px wide, narrower than its controls ({inner} px)")
            if area.isVisible() and area.horizontalScrollBar().isVisible():
                problems.append(f"{where}: a scroll area in dock {dock.windowTitle()!r} scrolls sideways "
                                f"(content {area.widget().minimumSizeHint().width()} px, "
                                f"viewport {area.viewport().width()} px)")
            if area.isVisible() and area.horizontalScrollBar().value() != 0:
                problems.append(f"{where}: a scroll area in dock {dock.windowTitle()!r} is scrolled sideways")
    return problems


def visit_tabs(qtbot, window, tabs: QTabWidget, name: str) -> list[str]:
    problems = []
    for index in range(tabs.count()):
        if not tabs.isTabEnabled(index):
            continue
        tabs.setCurrentIndex(index)
        settle(qtbot)
        problems += layout_problems(window, f"{name} > {tabs.tabText(index)}")
    return problems


def test_every_dock_and_tab_fits_1366x768(make_window, qtbot):
    window = make_window()
    window.resize(SCREEN)
    window.move(0, 0)
    window.show()
    qtbot.waitExposed(window)
    open_and_wait(qtbot, window, demo_models()[0], timeout=60000, psi=None)
    settle(qtbot)
    problems = layout_problems(window, "opened")

    # The Latent dock, then every tab of the Sliders dock.
    window.latent_dock.raise_()
    settle(qtbot)
    problems += layout_problems(window, "Latent dock")
    problems += visit_tabs(qtbot, window, window.tabs, "Sliders")

    # Directions: find them, then the preview strips of the page.
    panel = window.directions_panel
    window.tabs.setCurrentWidget(panel)
    settle(qtbot)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        panel.find_btn.click()
    settle(qtbot)
    assert panel.preview_btn.isEnabled()
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        panel.preview_btn.click()
    settle(qtbot)
    strips = [p for p in panel.bank.previews if p.isVisible() and p.pixmap() is not None and not p.pixmap().isNull()]
    rows = len(panel.bank.visible_items())
    if not rows or len(strips) != rows:
        problems.append(f"Directions: {len(strips)} preview strips shown for {rows} sliders")
    for strip in strips:  # each strip is seen whole, inside its row and the window
        rect = QRect(strip.mapTo(window, QPoint(0, 0)), strip.size())
        pixmap = strip.pixmap().deviceIndependentSize()
        if not window.rect().contains(rect) or pixmap.height() > strip.height() or pixmap.width() > strip.width():
            problems.append(f"Directions: a {pixmap.width():.0f}x{pixmap.height():.0f} preview strip in a "
                            f"{rect.width()}x{rect.height()} label at {rect.x()},{rect.y()} is cut off")
    problems += layout_problems(window, "Directions after the preview")

    # The Understand dock: every tab, then a job started and finished.
    window.understand_dock.raise_()
    settle(qtbot)
    problems += layout_problems(window, "Understand dock")
    understand = window.understand
    problems += visit_tabs(qtbot, window, understand, "Understand")
    understand.setCurrentWidget(understand.map_panel)
    settle(qtbot)
    scroll = window.understand_dock.widget()
    map_panel = understand.map_panel
    map_panel.num.setValue(100)
    with qtbot.waitSignal(window.sigJobFinished, timeout=60000):
        map_panel.job.run_btn.click()
        QApplication.processEvents()  # the job has started: the dock must not scroll sideways now
        if isinstance(scroll, QScrollArea) and scroll.horizontalScrollBar().value() != 0:
            problems.append("Understand: the dock scrolled sideways when the job started")
        problems += layout_problems(window, "Understand > Map while computing")
    settle(qtbot)
    assert map_panel.map is not None and len(map_panel.map.points) == 100
    problems += layout_problems(window, "Understand > Map with 100 latents")

    # The docks dragged as narrow as they go: their controls still fit, nothing scrolls sideways.
    window.resizeDocks([window.understand_dock, window.slider_dock], [1, 1], Qt.Horizontal)
    settle(qtbot)
    problems += layout_problems(window, "Understand dock at its narrowest")
    problems += visit_tabs(qtbot, window, window.tabs, "Sliders at its narrowest")

    # Back to the Latent dock and the Sliders' first tab: nothing grew on the way.
    window.latent_dock.raise_()
    window.tabs.setCurrentIndex(0)
    settle(qtbot)
    problems += layout_problems(window, "at the end")
    assert not problems, "\n".join(dict.fromkeys(problems))
