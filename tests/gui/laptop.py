"""A page of the studio on a laptop screen, for a widget tested alone: the central QTabWidget's
QScrollArea page (as MainWindow holds the Train tab and the GAN lab), in a window with a menu bar
and a status bar, at 1366x740 (a 1366x768 screen less a title bar)."""

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractButton, QFrame, QLabel, QMainWindow, QScrollArea, QTabWidget

LAPTOP = (1366, 740)


def on_a_laptop(qtbot, widget, title: str, size=LAPTOP):
    """(window, page): `widget` shown as the current tab's scroll-area page. Call `give_back(page)`
    before the test ends when a fixture of the widget's own shuts it down."""
    window = QMainWindow()
    qtbot.addWidget(window)
    for name in ("File", "Edit", "View", "Device", "Help"):
        window.menuBar().addMenu(name)
    page = QScrollArea()
    page.setWidget(widget)
    page.setWidgetResizable(True)
    page.setFrameShape(QFrame.NoFrame)
    tabs = QTabWidget()
    tabs.addTab(QLabel("explorer"), "Explore")
    tabs.addTab(page, title)
    tabs.setCurrentWidget(page)
    window.setCentralWidget(tabs)
    window.statusBar().addPermanentWidget(QLabel("no model"))
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window, page


def give_back(page):
    """Take the widget out of the page: the window's deletion must not delete it before its fixture."""
    widget = page.takeWidget()
    if widget is not None:
        widget.setParent(None)


def assert_fits(window, page, widget):
    """Nothing scrolls, and every visible button lies inside the window."""
    assert widget.minimumSizeHint().height() <= page.viewport().height()
    assert widget.minimumSizeHint().width() <= page.viewport().width()
    assert not page.verticalScrollBar().isVisible() and not page.horizontalScrollBar().isVisible()
    inside = QRect(0, 0, window.width(), window.height())
    for button in widget.findChildren(QAbstractButton):
        if button.isVisible():
            rect = QRect(button.mapTo(window, button.rect().topLeft()), button.size())
            assert inside.contains(rect), button.text()
