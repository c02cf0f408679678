import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.cli import main
from gan_explorer.core.generate import parse_seeds
from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.latent import mix_styles
from gan_explorer.core.io.images import to_uint8


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.safetensors"
    rc = main(["new", "--family", "stylegan", "--resolution", "16", "--out", str(path),
               "--option", "channel_base=512", "--option", "channel_max=32",
               "--option", "z_dim=32", "--option", "w_dim=32", "--option", "mapping_layers=2"])
    assert rc == 0
    return path


def test_new_and_info(model_file, capsys):
    assert main(["info", str(model_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["family"] == "stylegan" and info["num_ws"] == 6 and info["z_dim"] == 32


def test_generate_one_seed_is_the_model_image(model_file, tmp_path):
    out = tmp_path / "one.png"
    assert main(["generate", str(model_file), "--seeds", "5", "--truncation-psi", "0.7", "--out", str(out)]) == 0
    image = np.asarray(Image.open(out))
    model = load_model(model_file)
    with torch.no_grad():
        expected = to_uint8(model.generate(model.sample_z(1, 5), truncation_psi=0.7))[0]
    assert image.shape == (16, 16, 3)
    assert np.array_equal(image, expected)


def test_generate_grid_and_out_dir(model_file, tmp_path):
    grid = tmp_path / "grid.png"
    assert main(["generate", str(model_file), "--seeds", "0-5", "--out", str(grid)]) == 0
    assert Image.open(grid).size == (48, 32)  # 3 columns x 2 rows, no border
    out_dir = tmp_path / "seeds"
    assert main(["generate", str(model_file), "--seeds", "3,9", "--out-dir", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["seed0003.png", "seed0009.png"]
    tile = np.asarray(Image.open(grid))[:16, 16:32]
    one = tmp_path / "s1.png"
    main(["generate", str(model_file), "--seeds", "1", "--out", str(one)])
    assert np.array_equal(tile, np.asarray(Image.open(one)))


def test_generate_from_saved_latent(model_file, tmp_path):
    from gan_explorer.core.latent.files import save_latent

    model = load_model(model_file)
    ws = model.map(model.sample_z(1, 2), 0.5)
    for suffix in (".npy", ".json"):
        latent = tmp_path / f"w{suffix}"
        save_latent(latent, ws, seed=2)
        out = tmp_path / f"from{suffix}.png"
        assert main(["generate", str(model_file), "--latent", str(latent), "--out", str(out)]) == 0
        with torch.no_grad():
            assert np.array_equal(np.asarray(Image.open(out)), to_uint8(model.synthesize(ws))[0])


def test_mix_figure_cells_are_core_mixes(model_file, tmp_path):
    out = tmp_path / "mix.png"
    assert main(["mix", str(model_file), "--rows", "1,2", "--cols", "4,5,6", "--layers", "0-3", "--out", str(out)]) == 0
    fig = np.asarray(Image.open(out))
    assert fig.shape == (3 * 16, 4 * 16, 3)
    model = load_model(model_file)
    ws = model.map(model.z_from_seeds([2, 5]))
    with torch.no_grad():
        cell = to_uint8(model.synthesize(mix_styles(ws[:1], ws[1:], range(4))))[0]
    assert np.array_equal(fig[32:48, 32:48], cell)  # row seed 2, column seed 5
    assert (fig[:16, :16] == 0).all()  # the empty corner


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"")
    assert main(["generate", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "empty file" in err
    assert main(["generate", str(bad), "--seeds", "x", "--out", "y.png"]) == 2


def test_cyclegan_has_no_seeds(tmp_path, capsys):
    path = tmp_path / "c.safetensors"
    assert main(["new", "--family", "cyclegan", "--resolution", "32", "--option", "ngf=4",
                 "--option", "n_blocks=1", "--out", str(path)]) == 0
    assert main(["generate", str(path), "--out", str(tmp_path / "x.png")]) == 2
    assert "translates images" in capsys.readouterr().err


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("7,1,2-3") == [7, 1, 2, 3]


def test_train_then_resume_by_run_dir_alone(tmp_path, capsys):
    run_dir = tmp_path / "run"
    common = ["--workers", "0", "--no-progress", "--device", "cpu"]
    assert main(["train", "--family", "vae", "--data", "faces:16", "--run-dir", str(run_dir), "--kimg", "0.016",
                 "--batch", "8", "--tick-kimg", "0.008", "--model-option", "base_channels=4", *common]) == 0
    assert main(["train", "--run-dir", str(run_dir), "--kimg", "0.032", "--snapshot-ticks", "1", *common]) == 0
    from gan_explorer.core.training.run_dir import read_jsonl

    assert [s["Progress/tick"] for s in read_jsonl(run_dir / "stats.jsonl")] == [1, 2, 3, 4]
    snapshot_kimgs = [e["kimg"] for e in read_jsonl(run_dir / "events.jsonl") if e["event"] == "snapshot"]
    assert snapshot_kimgs == [0.0, 0.016, 0.024, 0.032]  # every tick after the resume, as asked there
    saved = json.loads((run_dir / "options.json").read_text())
    assert (saved["kimg"], saved["snapshot_ticks"]) == (0.032, 1)
    # A plain resume after the lengthened run finished remembers the new length: nothing more to do.
    assert main(["train", "--run-dir", str(run_dir), *common]) == 0
    assert len(read_jsonl(run_dir / "stats.jsonl")) == 4
    snapshot = sorted(run_dir.glob("network-snapshot-*.safetensors"))[-1]
    assert main(["generate", str(snapshot), "--seeds", "0-3", "--out", str(tmp_path / "g.png")]) == 0
    assert main(["train", "--run-dir", str(tmp_path / "nothing")]) == 2
    assert "give --family and --data" in capsys.readouterr().err
