import numpy as np
import pytest

from gan_explorer.core.errors import GanExplorerError
from gan_explorer.core.io.video import export_frames


def _frames(n=7, h=20, w=30):
    return [np.full((h, w, 3), 30 * i % 255, np.uint8) for i in range(n)]


def test_gif_png_and_mp4(tmp_path):
    import imageio.v2 as imageio
    import imageio.v3 as iio

    export_frames(_frames(), tmp_path / "a.gif", fps=10)
    assert iio.imread(tmp_path / "a.gif").shape == (7, 20, 30, 3)
    export_frames(_frames(), tmp_path / "frames", fps=10)
    assert len(list((tmp_path / "frames").glob("frame*.png"))) == 7
    export_frames(_frames(h=21, w=31), tmp_path / "a.mp4", fps=10)  # odd sizes are padded for the encoder
    assert imageio.get_reader(str(tmp_path / "a.mp4")).count_frames() == 7


def test_mp4_without_ffmpeg_is_a_clear_error(tmp_path, monkeypatch):
    import imageio_ffmpeg

    def missing():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.raises(GanExplorerError, match="MP4 export needs ffmpeg"):
        export_frames(_frames(), tmp_path / "a.mp4")
    assert not (tmp_path / "a.mp4").exists()


def test_bad_export_requests(tmp_path):
    with pytest.raises(GanExplorerError, match="no frames"):
        export_frames([], tmp_path / "a.gif")
    with pytest.raises(GanExplorerError, match="unknown format"):
        export_frames(_frames(), tmp_path / "a.avi")


def test_frames_never_go_into_a_linked_folder_and_a_linked_file_is_never_replaced(tmp_path, users_file):
    """Issue #26: PNG frames into a link to a user's (empty) folder, a GIF onto a link to a user's file."""
    import os

    from gan_explorer.core.errors import OutputError
    from tests.conftest import PRECIOUS

    users_folder = tmp_path / "users_folder"
    users_folder.mkdir()
    os.symlink(users_folder, tmp_path / "frames")
    with pytest.raises(OutputError, match="symbolic link"):
        export_frames(_frames(), tmp_path / "frames", fps=10)
    os.symlink(users_file, tmp_path / "a.gif")
    with pytest.raises(OutputError, match="symbolic link"):
        export_frames(_frames(), tmp_path / "a.gif", fps=10)
    assert list(users_folder.iterdir()) == [] and users_file.read_bytes() == PRECIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "frames", "home", "users_folder"]


def test_a_tuned_photos_video_leaves_its_weights_out_of_the_comment(tmp_path):
    """ffmpeg takes the comment as one argument (at most 128 KiB on Linux): an MP4 of a tuned photo
    keeps the state, with the tuning's hash, and leaves out the megabytes of embedded weights."""
    import json

    from gan_explorer.core.io.video import read_mp4_comment

    frames = [np.full((16, 16, 3), i * 20, np.uint8) for i in range(3)]
    metadata = {"state": {"seed": 1, "tuning": "ab" * 32}, "tuning": {"data": "x" * 600_000}}
    out = export_frames(frames, tmp_path / "tuned.mp4", fps=5, metadata=metadata)
    comment = json.loads(read_mp4_comment(out))
    assert comment["state"]["tuning"] == "ab" * 32 and "tuning" not in comment
