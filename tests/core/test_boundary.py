"""The core never imports Qt, pyqtgraph or the GUI: proven with those made unimportable."""

import pkgutil
import subprocess
import sys
import textwrap

import gan_explorer.core


def test_core_imports_without_qt():
    modules = [m.name for m in pkgutil.walk_packages(gan_explorer.core.__path__, "gan_explorer.core.")]
    assert len(modules) > 10
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, sys
        BLOCKED = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qtpy", "superqt", "gan_explorer.gui")
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith(BLOCKED):
                    raise ImportError(f"blocked in core: {{name}}")
        sys.meta_path.insert(0, Block())
        for name in {modules!r}:
            importlib.import_module(name)
        leaked = [m for m in sys.modules if m.startswith(BLOCKED)]
        assert not leaked, leaked
        print("ok", len({modules!r}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
