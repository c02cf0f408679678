"""`gan-explorer drag` on the demo model: the edited PNG carries its ws and re-renders bit for bit."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.latent.provenance import read_picture_provenance

DEMO = str(Path(__file__).parents[3] / "resources" / "demo" / "stylegan-faces64.safetensors")


@pytest.mark.slow  # three CLI runs on the 64 px demo
def test_drag_png_rerenders_bit_identically_with_generate(tmp_path):
    out, again, record = tmp_path / "edited.png", tmp_path / "again.png", tmp_path / "drag.gif"
    assert main(["drag", DEMO, "--seed", "1", "--handle", "24,28", "--target", "20,28", "--steps", "4",
                 "--out", str(out), "--record", str(record), "--no-progress"]) == 0
    provenance = read_picture_provenance(out)
    assert provenance.ws is not None and provenance.state.ws
    np.testing.assert_array_equal(np.asarray(provenance.state.ws, np.float32), provenance.ws)
    assert main(["generate", DEMO, "--latent", str(out), "--out", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))
    assert Image.open(record).n_frames >= 2
    # Dragging again from the edited picture starts where it ended.
    assert main(["drag", DEMO, "--latent", str(out), "--handle", "20,28", "--target", "20,28", "--steps", "0",
                 "--out", str(again), "--no-progress"]) == 0
    np.testing.assert_array_equal(read_picture_provenance(again).ws, provenance.ws)


@pytest.mark.parametrize("extra, words", [
    (["--handle", "24,28"], "1 --handle and 0 --target"),
    (["--handle", "24,x", "--target", "1,1"], "--handle '24,x': expected X,Y"),
    (["--handle", "24,28", "--target", "99,1"], "target 1 (99, 1): outside the 64 x 64 image"),
    (["--handle", "1,1", "--target", "2,2", "--layers", "0"], "--layers 0: must be from 1 to 10"),
])
def test_bad_points_are_one_line(tmp_path, capsys, extra, words):
    assert main(["drag", DEMO, "--seed", "1", *extra, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
