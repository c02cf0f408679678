import json

import numpy as np
import pytest
import torch

from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.training.loop import TrainingError, training_loop
from gan_explorer.core.training.run_dir import RunDirectory, read_jsonl
from tests.core.training.conftest import TINY_MODELS, tiny_options


def _events(run_dir):
    return [e["event"] for e in read_jsonl(run_dir / "events.jsonl")]


@pytest.mark.parametrize("family", sorted(TINY_MODELS))
def test_every_family_trains_a_few_steps(tmp_path, family):
    run_dir = tmp_path / family
    options = tiny_options(family)
    assert training_loop(run_dir, options) == "finished"
    stats = read_jsonl(run_dir / "stats.jsonl")
    assert [s["Progress/tick"] for s in stats] == list(range(1, len(stats) + 1))
    assert len(stats) >= 2
    for record in stats:
        losses = [v for k, v in record.items() if k.startswith("Loss/")]
        assert losses and all(np.isfinite(losses))
        assert "Timing/sec_per_kimg" in record and "timestamp" in record
    assert _events(run_dir)[0] == "started" and _events(run_dir)[-1] == "finished"
    snapshot = RunDirectory(run_dir).latest_snapshot()
    model = load_model(snapshot)
    snapshots = RunDirectory(run_dir).snapshots()
    # Sub-kimg snapshots get distinct names (000000.032, 000000.064, ...), in kimg order.
    saved = [e["snapshot"] for e in read_jsonl(run_dir / "events.jsonl") if "snapshot" in e]
    assert [p.name for p in snapshots] == saved  # none overwritten, in kimg order
    assert snapshot == snapshots[-1]
    # Weights moved away from the initialisation: rebuild the initial G as the loop does (seed * 1000,
    # G first), prove it is the initial G by its kimg-0 sample grid, then compare the final weights.
    from PIL import Image

    from gan_explorer.core.io.images import make_grid, to_uint8
    from gan_explorer.core.models import build_model
    from gan_explorer.core.training.trainers.base import SAMPLE_SEEDS

    resolved = options.resolved()
    torch.manual_seed(options.seed * 1000)
    initial = build_model(resolved.model_family, **resolved.model, img_channels=resolved.channels).eval()
    if family != "cyclegan":
        with torch.no_grad():
            grid = make_grid(to_uint8(initial.synthesize(initial.map(initial.z_from_seeds(SAMPLE_SEEDS)))))
        assert np.array_equal(np.asarray(Image.open(run_dir / "samples-000000.000.png")), grid)
    final = model.state_dict()
    changed = [k for k, v in initial.state_dict().items() if v.is_floating_point() and not torch.equal(v, final[k])]
    assert len(changed) >= 2, changed
    with torch.no_grad():
        if family == "cyclegan":
            out = model.translate(torch.zeros(1, 3, 32, 32))
        else:
            out = model.generate(model.sample_z(2, 0))
    assert torch.isfinite(out).all()
    assert (run_dir / "samples-000000.000.png").exists()  # what the untrained G draws
    options_json = json.loads((run_dir / "options.json").read_text())
    assert options_json["family"] == family and options_json["kimg"] == options.kimg


def test_weights_change(tmp_path):
    options = tiny_options("dcgan", kimg=0.032)
    training_loop(tmp_path / "run", options)
    torch.manual_seed(0 * 1000)  # the loop seeds with seed * 1000 + rank before building
    from gan_explorer.core.models import build_model
    initial = build_model("dcgan", **TINY_MODELS["dcgan"], img_resolution=16)
    trained = load_model(RunDirectory(tmp_path / "run").latest_snapshot())
    changed = [k for k, v in initial.state_dict().items() if v.is_floating_point() and not torch.equal(v, trained.state_dict()[k])]
    assert len(changed) > len(initial.state_dict()) // 2


def test_resume_is_exact(tmp_path):
    options = tiny_options("stylegan", kimg=0.064, snapshot_ticks=1, augment="ada")
    straight = tmp_path / "straight"
    training_loop(straight, options)

    resumed = tmp_path / "resumed"
    steps = {"n": 0}

    def abort_after_two_ticks():
        steps["n"] += 1
        return steps["n"] > 4  # 2 ticks of 2 steps (16 images / batch 8)

    assert training_loop(resumed, options, abort_fn=abort_after_two_ticks) == "aborted"
    assert "aborted" in _events(resumed)
    assert training_loop(resumed, options) == "finished"
    a = torch.load(straight / "training-state.pt", weights_only=True)
    b = torch.load(resumed / "training-state.pt", weights_only=True)
    assert a["cur_nimg"] == b["cur_nimg"] and a["tick"] == b["tick"]
    for net in ("G", "D", "G_ema"):
        for k, v in a["trainer"]["networks"][net].items():
            assert torch.equal(v, b["trainer"]["networks"][net][k]), (net, k)
    assert a["trainer"]["extra"]["ada"]["p"] == b["trainer"]["extra"]["ada"]["p"]
    ticks = [s["Progress/tick"] for s in read_jsonl(resumed / "stats.jsonl")]
    assert ticks == list(range(1, a["tick"] + 1))
    events = _events(resumed)
    assert events.count("resumed") == 1 and events[-1] == "finished"


def test_augment_auto_is_ada_for_stylegan_on_finite_data_only():
    from gan_explorer.core.training.options import TrainingOptions

    def resolved(family, data):
        return TrainingOptions(family=family, data=data, resolution=32).resolved().augment

    assert resolved("stylegan", "photos.zip") == "ada"
    assert resolved("stylegan", "faces:32") == "none"  # an endless stream cannot be memorised
    assert resolved("dcgan", "photos.zip") == "none"
    assert TrainingOptions(family="stylegan", data="faces:32", augment="ada").resolved().augment == "ada"


def test_stop_file_ends_with_a_final_snapshot(tmp_path):
    run_dir = tmp_path / "run"
    calls = {"n": 0}

    def request_stop_on_third_step():
        calls["n"] += 1
        if calls["n"] == 3:
            RunDirectory(run_dir).request_stop()
        return False

    status = training_loop(run_dir, tiny_options("dcgan", kimg=1, snapshot_ticks=100), abort_fn=request_stop_on_third_step)
    assert status == "aborted"
    run = RunDirectory(run_dir)
    assert run.latest_snapshot() is not None  # written at the stop even though snapshot_ticks is 100
    assert not run.stop_requested()  # consumed, so the same command resumes
    assert _events(run_dir)[-1] == "aborted"


class NaNAfter(torch.utils.data.Dataset):
    """Faces whose images turn into NaN from item `start` on (for `count` items)."""

    def __init__(self, start, count=10**9):
        from gan_explorer.core.data import FacesDataset
        self.faces = FacesDataset(16)
        self.start, self.count = start, count

    def __len__(self):
        return 10**6

    def __getitem__(self, i):
        image, factors = self.faces[i % 64]
        if self.start <= self._seen < self.start + self.count:
            image = torch.full_like(image, float("nan"))
        self._seen += 1
        return image, factors

    _seen = 0


def test_a_few_nan_steps_are_skipped_and_logged(tmp_path):
    run_dir = tmp_path / "run"
    options = tiny_options("dcgan", kimg=0.128)
    assert training_loop(run_dir, options, dataset=NaNAfter(start=40, count=16)) == "finished"
    events = read_jsonl(run_dir / "events.jsonl")
    assert any(e["event"] == "nan" for e in events)
    stats = read_jsonl(run_dir / "stats.jsonl")
    assert sum(s["Guard/nonfinite_steps"] for s in stats) >= 1
    final = load_model(RunDirectory(run_dir).latest_snapshot())  # loads: no NaN weights were saved
    assert all(torch.isfinite(v).all() for v in final.state_dict().values() if v.is_floating_point())


def test_persistent_nans_roll_back_then_stop_with_an_error(tmp_path):
    run_dir = tmp_path / "run"
    options = tiny_options("dcgan", kimg=1.0, nan_patience=3, max_rollbacks=2)
    with pytest.raises(TrainingError, match="after 2 rollbacks"):
        training_loop(run_dir, options, dataset=NaNAfter(start=24))
    events = read_jsonl(run_dir / "events.jsonl")
    rollbacks = [e for e in events if e["event"] == "rollback"]
    assert [r["lr_scale"] for r in rollbacks] == [0.5, 0.25]
    assert events[-1]["event"] == "error" and "NaN" in events[-1]["message"]


def test_resume_with_other_options_is_refused(tmp_path):
    from gan_explorer.core.errors import ConfigError

    run_dir = tmp_path / "run"
    training_loop(run_dir, tiny_options("dcgan", kimg=0.016))
    with pytest.raises(ConfigError, match="batch=8 \\(asked 16\\)"):
        training_loop(run_dir, tiny_options("dcgan", kimg=0.032, batch=16))
    # A longer run with the same options continues.
    assert training_loop(run_dir, tiny_options("dcgan", kimg=0.032)) == "finished"
    assert read_jsonl(run_dir / "stats.jsonl")[-1]["Progress/kimg"] == pytest.approx(0.032)


def test_one_process_per_run_directory(tmp_path):
    from gan_explorer.core.training.run_dir import RunDirectoryBusy

    first = RunDirectory(tmp_path / "run")
    first.acquire()
    try:
        with pytest.raises(RunDirectoryBusy, match="another process"):
            training_loop(tmp_path / "run", tiny_options("dcgan"))
    finally:
        first.release()


def test_bad_dataset_is_an_error_event(tmp_path):
    from gan_explorer.core.data import DatasetError

    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        training_loop(tmp_path / "run", tiny_options("dcgan", data=str(tmp_path / "empty")))
    assert read_jsonl(tmp_path / "run" / "events.jsonl")[-1]["event"] == "error"


@pytest.mark.parametrize("family,option,config_field,value", [
    ("vae", {"beta": 4.0}, "beta", 4.0),
    ("vae", {"model": {**TINY_MODELS["vae"], "beta": 4.0}}, "beta", 4.0),
    ("autoencoder", {"ae_loss": "l1"}, "loss", "l1"),
])
def test_snapshot_config_says_how_it_was_trained(tmp_path, family, option, config_field, value):
    """--beta 4 (or --model-option beta=4) trains with beta 4 and the snapshot says beta 4, not 1.0."""
    run_dir = tmp_path / "run"
    training_loop(run_dir, tiny_options(family, kimg=0.016, **option))
    snapshot = load_model(RunDirectory(run_dir).latest_snapshot())
    assert getattr(snapshot.config, config_field) == value
    knob = {"beta": "beta", "loss": "ae_loss"}[config_field]
    assert snapshot.provenance["training"][knob] == value


def test_beta_given_twice_differently_is_refused():
    from gan_explorer.core.errors import ConfigError

    with pytest.raises(ConfigError, match="disagree"):
        tiny_options("vae", beta=2.0, model={**TINY_MODELS["vae"], "beta": 4.0}).resolved()


def test_a_snapshot_names_no_folder_of_the_machine_that_trained_it(tmp_path):
    """Provenance keeps what a user of the file can use (data, kimg, options, versions), no local path:
    the run directory is not named, and a data folder keeps only its name."""
    from PIL import Image

    photos = tmp_path / "home" / "ann" / "photos"
    photos.mkdir(parents=True)
    for i in range(8):
        Image.new("RGB", (16, 16), (30 * i, 90, 200 - 20 * i)).save(photos / f"{i}.png")
    run_dir = tmp_path / "runs" / "mine"
    training_loop(run_dir, tiny_options("dcgan", data=str(photos), kimg=0.016))
    snapshot = RunDirectory(run_dir).latest_snapshot()
    provenance = load_model(snapshot).provenance
    text = json.dumps(provenance)
    assert str(tmp_path) not in text and "run_dir" not in provenance
    assert provenance["data"] == "photos" and provenance["kimg"] > 0 and provenance["training"]["batch"] == 8
    assert {"gan_explorer_version", "torch_version", "objective"} <= set(provenance)
