"""The one writer (core/io/atomic.py) never writes through a link, never blocks on a FIFO, and
deletes only temporaries it made, by their exact names (issue #26)."""

import os
import tempfile

import pytest

from gan_explorer.core.errors import OutputError
from gan_explorer.core.io import atomic
from tests.conftest import PRECIOUS


def test_an_append_refuses_a_symlink_a_hard_link_a_fifo_and_a_device(tmp_path, users_file):
    os.symlink(users_file, tmp_path / "events.jsonl")
    os.link(users_file, tmp_path / "stats.jsonl")
    os.mkfifo(tmp_path / "metrics.jsonl")
    for name, said in (("events.jsonl", "symbolic link"), ("stats.jsonl", "hard links"), ("metrics.jsonl", "FIFO")):
        with pytest.raises(OutputError, match=said):
            atomic.append_line(tmp_path / name, b'{"event": "started"}')
    with pytest.raises(OutputError, match="character device"):
        atomic.append_line("/dev/null", b"{}")
    assert users_file.read_bytes() == PRECIOUS
    atomic.append_line(tmp_path / "new.jsonl", b"{}")  # a missing file is made, a regular one appended to
    atomic.append_line(tmp_path / "new.jsonl", b"{}")
    assert (tmp_path / "new.jsonl").read_bytes() == b"{}\n{}\n"


def test_a_log_or_a_lock_is_opened_in_place_only_when_it_is_our_regular_file(tmp_path, users_file):
    os.symlink(users_file, tmp_path / "log.txt")
    with pytest.raises(OutputError, match="symbolic link"):
        atomic.open_append(tmp_path / "log.txt")
    with pytest.raises(OutputError, match="cannot write"):
        atomic.open_in_place(tmp_path / "missing", create=False)
    with atomic.open_append(tmp_path / "own.txt") as f:
        f.write(b"$ gan-explorer train\n")
    assert users_file.read_bytes() == PRECIOUS and (tmp_path / "own.txt").read_bytes() == b"$ gan-explorer train\n"


def test_a_replaced_file_refuses_a_fifo_at_once(tmp_path):
    os.mkfifo(tmp_path / "out.json")
    with pytest.raises(OutputError, match="FIFO"):
        atomic.atomic_write_text(tmp_path / "out.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # its temporary is gone, by its own name


def test_a_marker_is_made_without_following_a_link(tmp_path):
    outside = tmp_path / "home" / "stop"
    outside.parent.mkdir()
    os.symlink(outside, tmp_path / "stop")  # dangling: touch() would create the file it points to
    atomic.create_marker(tmp_path / "stop")
    assert not outside.exists()
    atomic.create_marker(tmp_path / "pause")
    atomic.create_marker(tmp_path / "pause")  # already there: left as it is
    assert (tmp_path / "pause").is_file()


def test_only_the_exact_temporaries_of_owned_names_are_removed(tmp_path, users_file):
    made = [tempfile.mkstemp(prefix=f".{n}.", suffix=f".tmp{os.path.splitext(n)[1]}", dir=tmp_path)[1]
            for n in ("options.json", "stats.jsonl", "notes")]
    users = [".thesis.docx.tmp", ".options.json.tmp", ".options.json.tmp.json", ".thesis.docx.abcdefgh.tmp.docx",
             ".options.json.abcdefgh.tmp.txt", ".options.json.abcdefg.tmp.json"]
    for name in users:
        (tmp_path / name).write_bytes(PRECIOUS)
    os.symlink(users_file, tmp_path / ".stats.jsonl.abcdefgh.tmp.jsonl")
    removed = atomic.remove_stale_temporaries(tmp_path, {"options.json", "stats.jsonl"}.__contains__)
    assert sorted(removed) == sorted(os.path.basename(p) for p in made[:2])
    assert os.path.exists(made[2])  # "notes" is not a name the caller owns
    assert all((tmp_path / name).read_bytes() == PRECIOUS for name in users)
    assert (tmp_path / ".stats.jsonl.abcdefgh.tmp.jsonl").is_symlink() and users_file.read_bytes() == PRECIOUS


def test_link_into_place_replaces_the_name_not_a_linked_target(tmp_path, users_file):
    state = tmp_path / "training-state.pt"
    state.write_bytes(b"state")
    os.symlink(users_file, tmp_path / "training-state-prev.pt")
    with pytest.raises(OutputError, match="symbolic link"):
        atomic.link_into_place(state, tmp_path / "training-state-prev.pt")
    (tmp_path / "training-state-prev.pt").unlink()
    atomic.link_into_place(state, tmp_path / "training-state-prev.pt")
    assert (tmp_path / "training-state-prev.pt").read_bytes() == b"state" and users_file.read_bytes() == PRECIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "training-state-prev.pt", "training-state.pt"]
