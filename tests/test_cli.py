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
from tests.conftest import PRECIOUS


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


# ---- issue #14/#15: values from the command line, outputs, caps --------------------------------

def _one_error_line(capsys, *expected):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and "\x1b" not in err, err[:500]
    for text in expected:
        assert text in err, (text, err)
    return err


def test_help_says_what_opens_the_window(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "With no sub-command, `gan-explorer` opens the window" in out
    assert "`gan-explorer MODEL` opens the window on MODEL" in out


@pytest.mark.parametrize("args,value", [
    (["--truncation-psi", "nan"], "--truncation-psi nan"), (["--truncation-psi", "inf"], "--truncation-psi inf"),
    (["--rotate", "nan"], "--rotate nan"), (["--translate", "nan,0"], "--translate nan"),
    (["--cols", "-1", "--seeds", "0-3"], "--cols -1"), (["--truncation-cutoff", "-3"], "--truncation-cutoff -3"),
])
def test_generate_refuses_bad_numbers(model_file, tmp_path, capsys, args, value):
    assert main(["generate", str(model_file), "--out", str(tmp_path / "x.png"), *args]) == 2
    _one_error_line(capsys, value)
    assert not (tmp_path / "x.png").exists()


def test_mix_on_a_model_without_style_mixing_names_the_capability(tmp_path, capsys):
    path = tmp_path / "d.safetensors"
    assert main(["new", "--family", "dcgan", "--resolution", "16", "--option", "ngf=8", "--option", "z_dim=8",
                 "--out", str(path)]) == 0
    assert main(["mix", str(path), "--rows", "1", "--cols", "2", "--out", str(tmp_path / "m.png")]) == 2
    _one_error_line(capsys, "style_mixing", "dcgan")


def test_dataset_inspect_faces_without_resolution(tmp_path, capsys):
    preview = tmp_path / "p.png"
    assert main(["dataset", "inspect", "faces:32", "--count", "4", "--preview", str(preview)]) == 0
    assert Image.open(preview).size == (64, 64)  # 2 x 2 faces at their own 32 px


def test_dataset_inspect_writes_nothing_unless_asked(tmp_path, monkeypatch, capsys):
    """Inspecting reads: no `<name>_preview.png` appears in the current folder by itself."""
    monkeypatch.chdir(tmp_path)
    assert main(["dataset", "inspect", "faces:16", "--count", "4"]) == 0
    assert list(tmp_path.iterdir()) == []
    out = capsys.readouterr().out
    assert "images used" in out and "preview" not in out


def test_dataset_inspect_preview_refuses_a_link(tmp_path, capsys):
    """--preview goes through the atomic writer: a symbolic link is refused, its target untouched."""
    target = tmp_path / "precious.png"
    target.write_bytes(b"keep me")
    link = tmp_path / "p.png"
    link.symlink_to(target)
    assert main(["dataset", "inspect", "faces:16", "--count", "4", "--preview", str(link)]) == 2
    _one_error_line(capsys, "symbolic link")
    assert target.read_bytes() == b"keep me" and link.is_symlink()


def test_train_help_says_what_each_family_is(capsys):
    from gan_explorer.core.training.options import FAMILIES

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "pggan (progressive growing of GANs" in out
    for family in FAMILIES:  # every family is named with what it is, in brackets
        assert f"{family} (" in out, family


@pytest.mark.parametrize("argv,value", [
    (["dataset", "inspect", "faces:32", "--resolution", "0"], "--resolution 0"),
    (["dataset", "inspect", "faces:abc"], "faces:abc"),
    (["dataset", "inspect", "faces:32", "--count", "-5"], "--count -5"),
    (["train", "--family", "dcgan", "--data", "faces:16", "--kimg", "nan"], "--kimg nan"),
    (["train", "--family", "dcgan", "--data", "faces:16", "--tick-kimg", "inf"], "--tick-kimg inf"),
    (["train", "--family", "dcgan", "--data", "faces:16", "--lr", "nan"], "--lr nan"),
    (["train", "--family", "dcgan", "--data", "faces:16", "--seed", str(2**70)], f"--seed {2**70}"),
    (["train", "--family", "dcgan", "--data", "faces:16", "--resolution", "20000"], "--resolution 20000"),
    (["train", "--family", "dcgan", "--data", "faces:abc"], "faces:abc"),
    (["new", "--family", "stylegan", "--option", "z_dim=" + "9" * 400], "z_dim=999"),
    (["new", "--family", "stylegan", "--option", "conv_clamp=NaN"], "conv_clamp=nan"),
])
def test_bad_values_are_one_line(tmp_path, capsys, argv, value):
    if argv[0] == "train":
        argv = [*argv, "--run-dir", str(tmp_path / "run"), "--workers", "0", "--no-progress"]
    if argv[0] == "new":
        argv = [*argv, "--out", str(tmp_path / "m.safetensors")]
    assert main(argv) == 2
    err = _one_error_line(capsys, value)
    assert len(err) < 1000
    assert not (tmp_path / "run" / "events.jsonl").exists() or "error" in (tmp_path / "run" / "events.jsonl").read_text()


def test_seed_ranges_are_capped_before_they_are_expanded(model_file, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["generate", str(model_file), "--seeds", "0-100000000", "--out", str(out)]) == 2
    err = _one_error_line(capsys, "more than 1,024 images", "--max-images")
    assert len(err) < 300
    assert main(["generate", str(model_file), "--seeds", "0-2", "--max-images", "2", "--out", str(out)]) == 2
    capsys.readouterr()
    assert main(["generate", str(model_file), "--seeds", "0-2", "--max-images", "3", "--out", str(out)]) == 0
    assert Image.open(out).size == (32, 32)
    huge = ",".join(str(2**40 + i) for i in range(100_000))  # 1.3 MB of out-of-range seeds
    assert main(["generate", str(model_file), "--seeds", huge, "--out", str(out)]) == 2
    assert len(_one_error_line(capsys, "out of range")) < 300


def test_latent_counts_are_capped(model_file, tmp_path, capsys):
    model = load_model(model_file)
    ws = model.map(model.sample_z(5, 0))
    np.save(tmp_path / "five.npy", ws.detach().numpy())
    out_dir = tmp_path / "frames"
    assert main(["generate", str(model_file), "--latent", str(tmp_path / "five.npy"), "--max-images", "4",
                 "--out-dir", str(out_dir)]) == 2
    _one_error_line(capsys, "more than the 768 allowed", "4 latents", "--max-images")  # read from the header
    assert main(["generate", str(model_file), "--latent", str(tmp_path / "five.npy"), "--out-dir", str(out_dir)]) == 0
    assert len(list(out_dir.iterdir())) == 5
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"ws": [[[0.0] * 32] * 6] * 5}) + " " * 200_000)
    assert main(["generate", str(model_file), "--latent", str(big), "--max-images", "1", "--out", str(tmp_path / "b.png")]) == 2
    _one_error_line(capsys, "use --max-images")


def test_out_never_replaces_a_device_a_link_or_a_folder(model_file, tmp_path, capsys):
    import os
    import stat

    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    device = tmp_path / "null.png"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null's node
    folder = tmp_path / "folder.png"
    folder.mkdir()
    for out, kind in ((link, "a symbolic link"), (device, "a character device"), (folder, "a directory")):
        assert main(["generate", str(model_file), "--out", str(out)]) == 2
        _one_error_line(capsys, str(out), kind)
    assert link.is_symlink() and target.read_text() == "keep me"
    assert stat.S_ISCHR(os.lstat(device).st_mode) and folder.is_dir()
    assert main(["generate", str(model_file), "--out", "/sys/gan-explorer-test.png"]) == 2
    _one_error_line(capsys, "/sys/gan-explorer-test.png", "cannot write")


def test_file_names_that_are_not_utf8_or_hold_escapes_print_escaped(model_file, tmp_path, capsys):
    import os

    name = os.fsdecode(b"\xff\x1b[2J\x1b]0;owned\x07.png")
    assert main(["generate", str(model_file), "--out", str(tmp_path / name)]) == 0
    out = capsys.readouterr().out
    assert "\\xff\\x1b[2J\\x1b]0;owned\\x07.png" in out and "\x1b" not in out
    assert (tmp_path / name).exists()
    assert main(["info", str(tmp_path / os.fsdecode(b"missing\xfe\x1b[31m.safetensors"))]) == 2
    _one_error_line(capsys, "missing\\xfe\\x1b[31m.safetensors", "no such file")


def test_restart_moves_the_old_run_aside(tmp_path, capsys):
    run_dir = tmp_path / "run"
    common = ["--family", "dcgan", "--data", "faces:16", "--run-dir", str(run_dir), "--kimg", "0.008", "--batch", "8",
              "--tick-kimg", "0.008", "--model-option", "ngf=4", "--model-option", "ndf=4", "--workers", "0",
              "--no-progress", "--device", "cpu"]
    assert main(["train", *common]) == 0
    (run_dir / "training-state.pt").unlink()
    (run_dir / "training-state-prev.pt").unlink()
    assert main(["train", *common]) == 2
    _one_error_line(capsys, "no training state", "--restart")
    assert main(["train", *common, "--restart"]) == 0
    assert (tmp_path / "run.old-1" / "stats.jsonl").exists() and (run_dir / "training-state.pt").exists()


def test_generate_and_mix_outputs_remember_how_they_were_made(tmp_path):
    import torch

    from gan_explorer.cli import main
    from gan_explorer.core.explorer.provenance import read_picture_provenance
    from gan_explorer.core.io.identity import file_identity as file_content_hash
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    torch.manual_seed(0)
    model_path = save_model(build_model("stylegan", **TINY["stylegan"]), tmp_path / "m.safetensors")
    assert main(["generate", str(model_path), "--seeds", "7", "--truncation-psi", "0.6",
                 "--out", str(tmp_path / "one.png")]) == 0
    one = read_picture_provenance(tmp_path / "one.png")
    assert one.state.seed == 7 and one.state.truncation_psi == 0.6 and one.ws.shape == (6, 32)
    assert one.made_with(file_content_hash(model_path)) and "generated" in one.raw["notice"]
    assert main(["mix", str(model_path), "--rows", "1,2", "--cols", "3", "--out", str(tmp_path / "mix.png")]) == 0
    mix = read_picture_provenance(tmp_path / "mix.png")
    assert mix.raw["mixing"]["rows"] == [1, 2] and mix.raw["command"] == "gan-explorer mix"
    assert main(["generate", str(model_path), "--latent", str(tmp_path / "mix.png"), "--out",
                 str(tmp_path / "x.png")]) == 2  # a grid remembers no single latent: one line, not a crash


def test_no_command_builds_the_command_line_parser_again():
    """Commands call each other's functions: only main() (its body _main, and _wants_gui) build and parse the CLI."""
    import ast
    from pathlib import Path

    import gan_explorer

    package = Path(gan_explorer.__file__).parent
    offenders = []
    for path in [package / "cli.py", *sorted((package / "commands").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or function.name in ("main", "_main", "_wants_gui"):
                continue
            for node in ast.walk(function):
                name = getattr(node, "attr", None) or getattr(node, "id", None)
                if name == "build_parser" or (isinstance(node, ast.ImportFrom) and node.module == "gan_explorer.cli"):
                    offenders.append(f"{path.name}:{function.name}")
    assert not offenders, offenders


def test_probe_train_forwards_to_the_features_train_function(tmp_path, monkeypatch):
    from gan_explorer.commands import metrics

    seen = []
    monkeypatch.setattr(metrics, "cmd_features_train", seen.append)
    out = tmp_path / "f.safetensors"
    assert main(["probe", "train", "--out", str(out), "--steps", "3", "--no-progress"]) == 0
    assert [(a.out, a.steps, a.batch, a.no_progress) for a in seen] == [(str(out), 3, 64, True)]


# ---- issue #26: no command writes through a link or blocks on a FIFO where an output goes -------



def _picture(tmp_path):
    path = tmp_path / "face.png"
    Image.new("RGB", (16, 16), "gray").save(path)
    return path


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_project_never_writes_its_noise_through_a_link_or_into_a_fifo(model_file, tmp_path, users_file, capsys,
                                                                    kind):
    import os

    noise = tmp_path / "latent.noise.npz"
    os.symlink(users_file, noise) if kind == "symlink" else os.mkfifo(noise)
    assert main(["project", str(model_file), str(_picture(tmp_path)), "--out", str(tmp_path / "latent.npy"),
                 "--noise", "optimize", "--steps", "2", "--loss", "l2", "--encoder", "none", "--no-progress",
                 "--device", "cpu"]) == 2
    _one_error_line(capsys, "latent.noise.npz: is a " + ("symbolic link" if kind == "symlink" else "FIFO"))
    assert users_file.read_bytes() == PRECIOUS


def test_project_writes_its_optimised_noise_atomically(model_file, tmp_path):
    out = tmp_path / "latent.npy"
    assert main(["project", str(model_file), str(_picture(tmp_path)), "--out", str(out), "--noise", "optimize",
                 "--steps", "2", "--loss", "l2", "--encoder", "none", "--no-progress", "--device", "cpu"]) == 0
    with np.load(tmp_path / "latent.noise.npz") as noise:
        assert len(noise.files) > 0 and noise["arr_0"].ndim == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_metrics_json_is_never_written_through_a_link(model_file, tmp_path, users_file, capsys):
    import os

    os.symlink(users_file, tmp_path / "m.json")
    assert main(["metrics", str(model_file), "--data", "faces:16", "--num", "8", "--metrics", "fd", "--features",
                 "random", "--no-cache", "--no-progress", "--device", "cpu", "--json", str(tmp_path / "m.json")]) == 2
    _one_error_line(capsys, "m.json: is a symbolic link")
    assert users_file.read_bytes() == PRECIOUS


def test_bench_json_is_never_written_through_a_link(tmp_path, users_file, capsys, monkeypatch):
    import os

    import gan_explorer.bench as bench

    monkeypatch.setattr(bench, "run_benchmark", lambda name, quick=False, fixture=None: {"name": name})
    os.symlink(users_file, tmp_path / "b.json")
    assert main(["bench", "synthesis", "--json", str(tmp_path / "b.json")]) == 2
    _one_error_line(capsys, "b.json: is a symbolic link")
    assert users_file.read_bytes() == PRECIOUS
    assert main(["bench", "synthesis", "--json", str(tmp_path / "ok.json")]) == 0
    assert json.loads((tmp_path / "ok.json").read_text()) == {"name": "synthesis"}


@pytest.mark.parametrize("name", ["factors.json", "factors.csv", "img00000001.png"])
def test_dataset_faces_never_writes_through_a_link_already_in_the_folder(tmp_path, users_file, capsys, name):
    import os

    out = tmp_path / "faces"
    out.mkdir()
    os.symlink(users_file, out / name)
    assert main(["dataset", "faces", "--count", "2", "--resolution", "16", "--out", str(out)]) == 2
    assert f"{name}: is a symbolic link" in capsys.readouterr().err
    assert users_file.read_bytes() == PRECIOUS


def test_dataset_faces_into_a_folder_with_a_fifo_says_so_at_once(tmp_path, capsys):
    import os

    out = tmp_path / "faces"
    out.mkdir()
    os.mkfifo(out / "factors.csv")
    assert main(["dataset", "faces", "--count", "2", "--resolution", "16", "--out", str(out)]) == 2
    assert "factors.csv: is a FIFO" in capsys.readouterr().err
    assert not list(out.glob("img*.png"))  # refused before any image was made


def test_train_says_stopped_after_the_users_stop(tmp_path, capsys):
    """The loop returns 'aborted' for any early end; the line a user reads (and the Train tab's
    log shows) says 'stopped' when the run ended on their Stop."""
    from gan_explorer.core.training.run_dir import RunDirectory

    run = tmp_path / "run"
    RunDirectory(run).request_stop()
    assert main(["train", "--family", "dcgan", "--data", "faces:16", "--resolution", "16", "--kimg", "0.064",
                 "--batch", "8", "--tick-kimg", "0.016", "--workers", "0", "--device", "cpu", "--no-progress",
                 "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "training stopped:" in out and "aborted" not in out
