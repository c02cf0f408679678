"""Running the tests must leave the user's home untouched: everything goes to a throw-away HOME."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ORIGINAL_HOME, TEST_HOME


def test_home_and_app_folders_point_at_the_test_home():
    assert os.environ["HOME"] == TEST_HOME != ORIGINAL_HOME
    from gan_explorer.core.paths import default_data_dir

    assert Path(default_data_dir()).is_relative_to(TEST_HOME)


def test_the_windows_default_settings_file_is_under_the_test_home():
    code = ("import os; os.environ['QT_QPA_PLATFORM']='offscreen'; from PySide6.QtCore import QSettings; "
            "print(QSettings('gan_explorer', 'gan_explorer').fileName())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out).is_relative_to(TEST_HOME), out
