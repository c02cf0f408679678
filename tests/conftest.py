import os
import tempfile

# Before any Qt import: no display on CI, and pyqtgraph must pick PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

# Tests never touch the user's settings, data or caches: HOME and the XDG folders point at a
# throw-away folder for the whole session, subprocesses included (QSettings, the bookmarks and
# log folder, caches of exported graphs and dataset statistics all live under them).
ORIGINAL_HOME = os.environ.get("HOME", "")
TEST_HOME = tempfile.mkdtemp(prefix="gan_explorer-test-home-")
for _name, _sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                    ("XDG_CACHE_HOME", ".cache"), ("GAN_EXPLORER_DATA", ".local/share/gan_explorer"),
                    ("GAN_EXPLORER_CACHE", ".cache/gan_explorer")):
    os.environ[_name] = os.path.join(TEST_HOME, _sub) if _sub else TEST_HOME

# pytest-xdist (README's test command runs one worker per core): each worker gets its share of the
# cores, set before torch is imported so its own thread pool and the processes the tests start
# (the CLI, training runs) use that many. Two workers of two threads each on two cores spin in each
# other's OpenMP barriers and run slower than one worker alone.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))
# Tests compare exported pixels with renders bit for bit: the invisible watermark (issue #30) is off
# unless a test turns it on (tests/core/trust do, on the real path); Content Credentials stay on.
os.environ["GAN_EXPLORER_WATERMARK"] = "off"

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny configurations: every family builds and runs in well under a second on 2 cores.
TINY = {
    "stylegan": dict(z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=32, mapping_layers=2),
    "stylegan3": dict(z_dim=16, w_dim=16, img_resolution=16, channel_base=256, channel_max=16, num_layers=4,
                      num_critical=1, margin_size=2, mapping_layers=2),
    "dcgan": dict(z_dim=16, img_resolution=16, ngf=8, ndf=8),
    "gan": dict(z_dim=16, img_resolution=16, g_hidden=(32, 64), d_hidden=(64, 32)),
    "vae": dict(z_dim=16, img_resolution=16, base_channels=8, channel_max=32),
    "autoencoder": dict(z_dim=16, img_resolution=16, base_channels=8, channel_max=32),
    "cyclegan": dict(img_resolution=32, ngf=8, ndf=8, n_blocks=1),
    "pggan": dict(z_dim=16, img_resolution=16, fmap_base=128, fmap_max=16),
}


PRECIOUS = b"the user's thesis\n"  # the bytes of `users_file`


@pytest.fixture
def users_file(tmp_path):
    """A file of the user's outside any output (home/thesis.docx): a test plants a link to it where
    the project writes and checks that it keeps its bytes (issue #26)."""
    path = tmp_path / "home" / "thesis.docx"
    path.parent.mkdir()
    path.write_bytes(PRECIOUS)
    return path


@pytest.fixture
def tiny_options():
    return {k: dict(v) for k, v in TINY.items()}


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


ENGINE_TESTS = ("tests/core/backends/",)


def pytest_collection_modifyitems(config, items):
    """Tests that load an inference engine into this process run last. Once OpenVINO / ONNX Runtime
    are loaded, a child process that exits while Python's SIGCHLD handler (installed by torch's
    DataLoader workers) runs on the engine's small alternate signal stack kills the test process
    with SIGSEGV (seen here: SI_KERNEL, the signal frame does not fit). The app itself never mixes
    the two: training, with its workers, runs in its own process."""
    def loads_engine(item):
        return item.nodeid.startswith(ENGINE_TESTS) or item.get_closest_marker("engine") is not None

    items.sort(key=loads_engine)  # stable: the order within each group is kept
