"""Conditional training (issue #21, control): class labels from sub-folders and face factors reach
the trainers as c, snapshots save the condition and honour it when reloaded."""

import numpy as np
import pytest
import torch
from PIL import Image

from gan_explorer.core.data import open_dataset
from gan_explorer.core.data.conditions import dataset_condition
from gan_explorer.core.errors import ConfigError
from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.training.distributed import Distributed
from gan_explorer.core.training.loop import training_loop
from gan_explorer.core.training.run_dir import RunDirectory, read_jsonl
from gan_explorer.core.training.trainers import TRAINERS
from tests.core.training.conftest import tiny_options

COLOURS = {"blue": (30, 60, 220), "green": (40, 200, 60), "red": (220, 40, 40)}


def colour_folder(root, per_class=6, size=16):
    """One sub-folder per class of solid-colour pictures with a little noise: the class is the colour."""
    rng = np.random.default_rng(0)
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(np.array(rgb) + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.mark.parametrize("family", ["dcgan", pytest.param("stylegan", marks=pytest.mark.slow), "vae"])
def test_class_conditional_training_from_sub_folders(tmp_path, family):
    data = colour_folder(tmp_path / "colours")
    run_dir = tmp_path / "run"
    options = tiny_options(family, data=str(data), condition="class", kimg=0.016, snapshot_ticks=1)
    assert training_loop(run_dir, options) == "finished"
    stats = read_jsonl(run_dir / "stats.jsonl")
    assert all(np.isfinite([v for k, v in s.items() if k.startswith("Loss/")]).all() for s in stats)
    model = load_model(RunDirectory(run_dir).latest_snapshot())
    assert model.conditioning.kind == "class" and model.conditioning.names == ("blue", "green", "red")
    z = model.z_from_seeds([0, 1])
    with torch.no_grad():
        blue = model.generate(z, c=model.conditioning.parse("blue").expand(2, -1))
        red = model.generate(z, c=model.conditioning.parse("2").expand(2, -1))
    assert (blue - red).abs().max() > 1e-4  # the snapshot honours c
    grid = np.asarray(Image.open(run_dir / "samples-000000.000.png"))
    assert grid.shape[:2] == (3 * 16, 8 * 16)  # one row per class, 8 seeds each


def test_cvae_learns_that_the_class_is_the_colour():
    """The mechanism: trained with labels, the decoder's output at z = 0 follows the class it is given.
    A heavy KL weight keeps the colour out of z, so only c can say it (at beta 1 the encoder puts the
    colour in z and the decoder learns to ignore c: the same run's outputs at z = 0 are all reddish)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        from pathlib import Path

        dataset = open_dataset(str(colour_folder(Path(tmp) / "c")), 16)
        condition = dataset_condition(dataset, "class")
        options = tiny_options("vae", data=tmp, condition="class", batch=18, beta=20.0, lr=3e-3).resolved()
        options = options.replace(model={**options.model, **condition.model_fields()})
        torch.manual_seed(0)
        trainer = TRAINERS["vae"](options, torch.device("cpu"), Distributed.from_env(torch.device("cpu")))
        images = torch.stack([dataset[i][0] for i in range(len(dataset))])
        c = condition.vectors([dataset[i][1] for i in range(len(dataset))])
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny convolutions: one thread is faster, and fair to the other tests
        try:
            first = trainer.train_step(images, c=c)["Loss/VAE/recon"]
            for _ in range(160):  # about 2 s on one core
                last = trainer.train_step(images, c=c)["Loss/VAE/recon"]
        finally:
            torch.set_num_threads(threads)
    assert last < 0.5 * first
    model = trainer.model.eval()
    with torch.no_grad():
        out = model.generate(torch.zeros(3, model.z_dim), c=torch.eye(3))  # blue, green, red
    means = out.mean(dim=(2, 3))  # [3 classes, RGB]
    targets = torch.tensor(list(COLOURS.values()), dtype=torch.float32) / 127.5 - 1
    nearest = torch.cdist(means, targets).argmin(dim=1)
    assert nearest.tolist() == [0, 1, 2], means


def test_factor_conditional_training_on_faces(tmp_path):
    run_dir = tmp_path / "run"
    options = tiny_options("dcgan", condition="factors:glasses,smile", kimg=0.016, snapshot_ticks=1)
    assert training_loop(run_dir, options) == "finished"
    model = load_model(RunDirectory(run_dir).latest_snapshot())
    assert (model.conditioning.kind, model.conditioning.names) == ("factors", ("glasses", "smile"))
    grid = np.asarray(Image.open(run_dir / "samples-000000.016.png"))
    assert grid.shape[:2] == (4 * 16, 8 * 16)  # glasses 0 / 1, smile -1 / 1
    # A resume derives the same condition from the same data and goes on.
    assert training_loop(run_dir, options.replace(kimg=0.024)) == "finished"
    assert load_model(RunDirectory(run_dir).latest_snapshot()).conditioning == model.conditioning


def test_condition_labels_become_vectors():
    faces = open_dataset("faces:16")
    condition = dataset_condition(faces, "factors:smile,glasses")
    image, factors = faces[3]
    c = condition.vectors(factors[None])
    expected = np.float32([[faces.factors(3).smile, faces.factors(3).glasses]])
    assert np.array_equal(c.numpy(), expected)


@pytest.mark.parametrize("changes, message", [
    (dict(family="gan", condition="class"), "trains unconditionally"),
    (dict(family="dcgan", condition="class"), "faces have no classes"),
    (dict(family="dcgan", data="digits", condition="factors:glasses"), "procedural faces"),
    (dict(family="vae", condition="factors:beard"), "not a faces factor"),
    (dict(family="vae", condition="factors:"), "name at least one factor"),
    (dict(family="vae", condition="labels"), "expected 'class' or 'factors"),
    (dict(family="vae", condition="factors:smile,smile"), "named twice"),
    (dict(family="vae", condition="factors:smile", model={"c_dim": 3}), "comes from the data"),
])
def test_bad_conditions_are_one_line(changes, message):
    family = changes.pop("family")
    with pytest.raises(ConfigError, match=message):
        tiny_options(family, **changes).validate()


def test_class_condition_needs_sub_folders(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(4):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(flat / f"{i}.png")
    with pytest.raises(ConfigError, match="two or more sub-folders"):
        training_loop(tmp_path / "run", tiny_options("dcgan", data=str(flat), condition="class"))
