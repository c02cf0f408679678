"""Issue #15, dataset exhaustion: a FIFO named fifo.png, a *.png symlink to /dev/zero, a zip
member that inflates to more than the per-file cap, an unreadable sub-folder. Each is named and
skipped; none hangs, none is read without a bound.

The scan runs in a forked child with a time limit and an address-space limit, so a regression
fails this test instead of hanging the suite or filling the machine's memory."""

import io
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from gan_explorer.core.data.folder import ImageFolderDataset


def _png(color=(10, 200, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, format="PNG")
    return buffer.getvalue()


CHILD = """
import json, resource, sys
from gan_explorer.core.data.folder import ImageFolderDataset
path, kwargs, as_nobody = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "1"
if as_nobody:  # after every import a scan needs: nobody cannot read root's Python installation
    import os, tempfile
    from PIL import Image
    with tempfile.TemporaryDirectory() as warm:
        Image.new("RGB", (16, 16)).save(os.path.join(warm, "w.png"))
        ImageFolderDataset(warm, 16).load(0)
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
vm = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmSize"))) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 2 * 1024**3, vm + 2 * 1024**3))
try:
    dataset = ImageFolderDataset(path, 16, **kwargs)
    out = {"used": dataset.files, "skipped": dict(dataset.report.skipped)}
except BaseException as exc:
    out = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
"""


def _scan_in_child(path, timeout=60, as_nobody=False, **kwargs):
    """ImageFolderDataset(path).report in a child interpreter: {'used': [...], 'skipped': {name: reason}}.

    A fresh interpreter, not a fork: forking a test process that runs torch / inference-engine
    threads can leave the child with locks held by threads that do not exist there."""
    import subprocess
    import sys

    try:
        run = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(kwargs), "1" if as_nobody else "0"],
                             capture_output=True, text=True, timeout=timeout, cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        pytest.fail(f"the scan of {path} did not finish in {timeout} s (a FIFO or a device was read)")
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "error" not in result, result["error"]
    return result


def test_fifo_device_link_and_folder_link_are_named_and_skipped(tmp_path):
    root = tmp_path / "data"
    (root / "cats").mkdir(parents=True)
    (root / "cats" / "good.png").write_bytes(_png())
    os.mkfifo(root / "cats" / "fifo.png")  # open() for reading would wait forever for a writer
    (root / "cats" / "zero.png").symlink_to("/dev/zero")  # read() would never end
    (root / "cats" / "linked.png").symlink_to(root / "cats" / "good.png")  # a link to a file is fine
    (tmp_path / "elsewhere").mkdir()
    (root / "linked-folder").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    result = _scan_in_child(root)
    assert result["used"] == ["cats/good.png", "cats/linked.png"]
    skipped = result["skipped"]
    assert "not a regular file (a FIFO)" in skipped["cats/fifo.png"]
    assert "not a regular file (a character device)" in skipped["cats/zero.png"]
    assert "symbolic link to a folder" in skipped["linked-folder/"]


def test_zip_members_are_read_with_a_byte_cap(tmp_path):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("good.png", _png())
        z.writestr("bomb.png", b"\0" * (8 * 2**20))  # 8 MiB of zeros in a few KB
        z.writestr("liar.png", b"\0" * (8 * 2**20))
    # Make the directory lie about liar.png's size (16 bytes): the cap must also hold while reading.
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("liar.png")
    central = data.rfind(b"PK\x01\x02", 0, len(data))
    while central >= 0:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == b"liar.png":
            struct.pack_into("<I", data, central + 24, 16)
            break
        central = data.rfind(b"PK\x01\x02", 0, central)
    struct.pack_into("<I", data, info.header_offset + 22, 16)
    archive.write_bytes(bytes(data))
    result = _scan_in_child(archive, max_file_bytes=2**20)
    assert result["used"] == ["good.png"]
    assert "too large (8,388,608 bytes uncompressed" in result["skipped"]["bomb.png"]
    assert "liar.png" in result["skipped"]  # caught while reading, however the directory lied


def test_an_unreadable_sub_folder_is_named(tmp_path):
    # As root, permissions do not stop a read: the scan runs as nobody in a folder nobody can reach.
    base = Path(tempfile.mkdtemp(prefix="gan-explorer-test-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        root = base / "data"
        (root / "open").mkdir(parents=True)
        (root / "locked").mkdir()
        for folder in (root, root / "open"):
            os.chmod(folder, 0o755)
        (root / "open" / "a.png").write_bytes(_png())
        os.chmod(root / "open" / "a.png", 0o644)
        (root / "locked" / "b.png").write_bytes(_png())
        os.chmod(root / "locked", 0o000)
        result = _scan_in_child(root, as_nobody=os.geteuid() == 0)
        assert result["used"] == ["open/a.png"]
        assert "cannot read the folder (Permission denied)" in result["skipped"]["locked/"]
    finally:
        os.chmod(base / "data" / "locked", 0o755)
        import shutil

        shutil.rmtree(base)


def test_a_file_over_the_cap_in_a_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "good.png").write_bytes(_png())
    (tmp_path / "data" / "big.png").write_bytes(_png() + b"\0" * 4096)
    dataset = ImageFolderDataset(tmp_path / "data", 16, max_file_bytes=2048)
    assert dataset.files == ["good.png"]
    assert dict(dataset.report.skipped)["big.png"].startswith("too large")
