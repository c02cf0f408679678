"""The PySide6 + pyqtgraph window. Talks to the core only through render, session and io."""

import os

# Before pyqtgraph is imported anywhere: pick PySide6, never another binding.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
