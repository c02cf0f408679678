"""The training loop: a plain function that writes a run directory (see run_dir.py).

It resumes by itself when the directory holds a training state, polls control/stop and
control/pause, guards against NaN/inf, and under torchrun averages gradients over processes
while only rank 0 writes.

A run directory whose training state was deleted is never silently started over (that would
append a second tick 1.. to stats.jsonl and overwrite the old snapshots): it is refused unless
`restart=True` (--restart), which moves the old run aside. SIGTERM ends a run like Ctrl-C, with
an `aborted` event. Steps skipped for NaN/inf do not count as trained images.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
import traceback
from collections import defaultdict

import numpy as np
import torch
from tqdm import tqdm

from gan_explorer.core.data import open_dataset
from gan_explorer.core.data.conditions import dataset_condition
from gan_explorer.core.data.loader import make_loader
from gan_explorer.core.devices import resolve_device
from gan_explorer.core.errors import ConfigError, GanExplorerError, Terminated
from gan_explorer.core.io.checkpoint import save_model
from gan_explorer.core.io.images import save_image
from gan_explorer.core.training.distributed import Distributed
from gan_explorer.core.training.options import TrainingOptions
from gan_explorer.core.training.run_dir import RunDirectory, StateError, load_run_options
from gan_explorer.core.training.trainers import TRAINERS, NonFiniteStep

FINISHED, ABORTED = "finished", "aborted"
log = logging.getLogger(__name__)


class TrainingError(GanExplorerError):
    """Training cannot go on (e.g. losses stay NaN after every rollback)."""


def _raise_terminated(signum, frame):
    raise Terminated()


def training_loop(run_dir, options: TrainingOptions, abort_fn=None, progress_fn=None,
                  dataset=None, dataset_b=None, restart: bool = False) -> str:
    """Train until options.kimg, a stop request or an error. Returns 'finished' or 'aborted'.

    abort_fn() -> bool is polled each step like control/stop; progress_fn(cur_kimg, total_kimg)
    is called each tick; dataset / dataset_b replace what options.data names (tests);
    restart moves an existing run aside (RUN.old-N) and starts afresh.
    """
    device = resolve_device(options.device)
    dist = Distributed.from_env(device)
    if device.type == "cuda" and dist.enabled:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    run = RunDirectory(run_dir, writer=dist.is_main)
    run.acquire()
    previous_handler = None
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        moved = None
        if restart and dist.is_main and (run.has_state() or run.has_history() or run.options_path.exists()):
            moved = run.move_aside()
        return _train(run, options, device, dist, abort_fn, progress_fn, dataset, dataset_b, moved)
    except KeyboardInterrupt:
        _last_event(run, ABORTED, reason="interrupted")
        raise
    except Terminated:
        _last_event(run, ABORTED, reason="terminated (SIGTERM)")
        raise
    except GanExplorerError as exc:  # TrainingError, a bad dataset, a full disk: the one-line reason
        _last_event(run, "error", message=str(exc))
        raise
    except Exception as exc:
        message = _oom_message(exc) or f"{type(exc).__name__}: {exc}"
        _last_event(run, "error", message=message, traceback=traceback.format_exc()[-4000:])
        raise
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
        run.release()
        dist.close()


def _last_event(run, kind, **data):
    """The closing event, if it can be written at all: on a full disk the original error is what
    the user must see, not a second failure while reporting it."""
    try:
        run.event(kind, **data)
    except (OSError, GanExplorerError):
        pass


def _oom_message(exc) -> str | None:
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return "out of memory: lower --batch or the model size (--model-option channel_max=...)"
    return None


def _resolve_options(run: RunDirectory, options: TrainingOptions) -> tuple[TrainingOptions, bool]:
    saved = load_run_options(run.path)
    resuming = saved is not None and run.has_state()
    if not run.has_state() and run.has_history():
        raise ConfigError(f"{run.path} holds a run (events, stats or snapshots) but no training state to resume "
                          f"from (deleted?); --restart moves the old run aside and starts over, or use a new "
                          f"--run-dir")
    if saved is None or not resuming:
        return options.resolved(), False
    asked = options.resolved()
    changed = saved.differences(asked)
    if changed:
        detail = ", ".join(f"{k}={getattr(saved, k)!r} (asked {getattr(asked, k)!r})" for k in changed[:4])
        raise ConfigError(f"{run.path} was started with other options: {detail}; "
                          f"resume with the same options or use a new --run-dir")
    return saved.replace(kimg=asked.kimg, device=asked.device, workers=asked.workers,
                         progress=asked.progress, tick_kimg=asked.tick_kimg,
                         snapshot_ticks=asked.snapshot_ticks, metrics=asked.metrics,
                         metrics_num=asked.metrics_num), resuming


def _run_shape(opts: TrainingOptions) -> tuple:
    """What a resume may change and a later resume must remember."""
    return opts.kimg, opts.tick_kimg, opts.snapshot_ticks


def _rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "python": random.getstate(),
    }


def _restore_rng(state: dict):
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0))
    random.setstate(state["python"])


def _seed_all(seed: int):
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class _Progress:
    """Where the run stands; saved in the training state."""

    def __init__(self):
        self.cur_nimg = 0  # images trained on (steps skipped for NaN/inf do not count)
        self.data_nimg = 0  # images drawn from the data (where a resumed loader continues)
        self.tick = 0
        self.total_sec = 0.0
        self.rollbacks = 0


def _train(run, options, device, dist, abort_fn, progress_fn, dataset, dataset_b, moved=None) -> str:
    opts, resuming = _resolve_options(run, options)
    if opts.batch % dist.world_size:
        raise ConfigError(f"--batch {opts.batch}: must be divisible by the {dist.world_size} processes")
    if not resuming or _run_shape(opts) != _run_shape(load_run_options(run.path)):
        # A resume that lengthens the run keeps its new length: a later plain resume must not stop early.
        run.write_options(opts.to_json())
    _seed_all(opts.seed * 1000 + dist.rank)
    condition = None
    if opts.condition:
        # The condition's width and names come from the data (its sub-folders, or the chosen face
        # factors), so the data is opened before the model is built; options.json keeps only the
        # --condition text, and a resume derives the same fields from the same data.
        dataset = dataset or open_dataset(opts.data, opts.resolution, opts.channels, hflip=opts.hflip,
                                          seed=opts.seed)
        condition = dataset_condition(dataset, opts.condition)
        trainer = TRAINERS[opts.family](opts.replace(model={**opts.model, **condition.model_fields()}), device, dist)
    else:
        trainer = TRAINERS[opts.family](opts, device, dist)
    progress = _Progress()
    if resuming:
        _load_state(run, trainer, progress, dist)
        if run.state_warning:
            run.event("state_refused", message=run.state_warning)
            log.warning("%s", run.state_warning)
        run.event("resumed", kimg=progress.cur_nimg / 1000, tick=progress.tick)
    else:
        trainer.broadcast_initial_weights()
        # The first state exists before the `started` event: a run killed right after starting
        # always resumes, and a run with events but no state can only mean a deleted state.
        _save_state(run, trainer, progress, dist)
        if moved is not None:
            run.event("restarted", previous_run=str(moved))
        run.event("started", family=opts.family, data=opts.data, kimg=opts.kimg, batch=opts.batch,
                  world_size=dist.world_size, device=str(device))

    dataset = dataset or open_dataset(opts.data, opts.resolution, opts.channels, hflip=opts.hflip, seed=opts.seed)
    if trainer.needs_second_dataset:
        dataset_b = dataset_b or open_dataset(opts.data_b, opts.resolution, opts.channels, hflip=opts.hflip,
                                              seed=opts.seed + 1)
    report = getattr(dataset, "report", None)
    if report is not None and dist.is_main:
        run.event("dataset", used=report.used, skipped=len(report.skipped),
                  skipped_files=[f"{n}: {r}" for n, r in report.skipped[:20]])

    def loaders(start):
        a = make_loader(dataset, trainer.batch, opts.workers, seed=opts.seed, rank=dist.rank,
                        world_size=dist.world_size, start=start)
        b = None
        if trainer.needs_second_dataset:
            b = make_loader(dataset_b, trainer.batch, opts.workers, seed=opts.seed + 1, rank=dist.rank,
                            world_size=dist.world_size, start=start)
        return iter(a), (iter(b) if b is not None else None)

    it_a, it_b = loaders(progress.data_nimg)
    total_nimg = int(opts.kimg * 1000)
    tick_nimg = max(int(opts.tick_kimg * 1000), opts.batch)
    tick_start_nimg, tick_start_time = progress.cur_nimg, time.time()
    stats_sum, stats_count = defaultdict(float), defaultdict(int)
    nan_streak = nonfinite_in_tick = 0
    bar = tqdm(total=total_nimg, initial=progress.cur_nimg, unit="img", unit_scale=True,
               disable=not (dist.is_main and opts.progress), dynamic_ncols=True, desc=opts.family)

    def end_tick(final=False):
        nonlocal tick_start_nimg, tick_start_time, nonfinite_in_tick
        now = time.time()
        sec = now - tick_start_time
        progress.total_sec += sec
        progress.tick += 1
        means = {k: stats_sum[k] / stats_count[k] for k in stats_sum}
        means = dist.mean_stats(means, device)
        kimg_in_tick = max(progress.cur_nimg - tick_start_nimg, 1) / 1000
        record = {**means, "Progress/tick": progress.tick, "Progress/kimg": progress.cur_nimg / 1000,
                  "Progress/skipped_kimg": (progress.data_nimg - progress.cur_nimg) / 1000,
                  "Progress/step": trainer.step_count, "Timing/sec_per_tick": sec,
                  "Timing/sec_per_kimg": sec / kimg_in_tick, "Timing/total_sec": progress.total_sec,
                  "Timing/img_per_sec": kimg_in_tick * 1000 / max(sec, 1e-9),
                  "Guard/nonfinite_steps": nonfinite_in_tick, "Guard/lr_scale": trainer.lr_scale,
                  **trainer.tick_stats()}
        run.append_stats(record)  # before the state: a kill in between redoes the tick on resume
        if final or progress.tick % opts.snapshot_ticks == 0:
            _snapshot(run, trainer, opts, progress)
        _save_state(run, trainer, progress, dist)
        stats_sum.clear()
        stats_count.clear()
        nonfinite_in_tick = 0
        tick_start_nimg, tick_start_time = progress.cur_nimg, time.time()
        losses = {k.split("/", 1)[1]: f"{v:.3g}" for k, v in means.items() if k.startswith("Loss/") and "scores" not in k}
        bar.set_postfix(losses, refresh=False)
        if progress_fn is not None:
            progress_fn(progress.cur_nimg / 1000, opts.kimg)

    if not resuming:
        _snapshot(run, trainer, opts, progress, model=False)  # what the untrained G draws
    try:
        while progress.cur_nimg < total_nimg:
            stop, pause = dist.broadcast_flags(
                [run.stop_requested() or bool(abort_fn and abort_fn()), run.pause_requested()], device)
            if pause and not stop:
                run.event("paused", kimg=progress.cur_nimg / 1000)
                while True:
                    time.sleep(0.2)
                    stop, pause = dist.broadcast_flags(
                        [run.stop_requested() or bool(abort_fn and abort_fn()), run.pause_requested()], device)
                    if stop or not pause:
                        break
                run.event("unpaused", kimg=progress.cur_nimg / 1000)
                tick_start_time = time.time()
            if stop:
                if progress.cur_nimg > tick_start_nimg:
                    end_tick(final=True)
                else:
                    _snapshot(run, trainer, opts, progress)
                    _save_state(run, trainer, progress, dist)
                run.event(ABORTED, reason="stop requested", kimg=progress.cur_nimg / 1000)
                run.clear_stop()
                return ABORTED
            batch = next(it_a)
            real = batch[0].to(device, non_blocking=True)
            real_b = next(it_b)[0].to(device, non_blocking=True) if it_b is not None else None
            progress.data_nimg += opts.batch
            try:
                if condition is None:
                    stats = trainer.train_step(real, real_b)
                else:  # each real image's own condition; G is asked for the same ones
                    stats = trainer.train_step(real, real_b, c=condition.vectors(batch[1]).to(device))
                nan_streak = 0
            except NonFiniteStep as exc:
                nan_streak += 1
                nonfinite_in_tick += 1
                stats = {}
                if nan_streak == 1:
                    run.event("nan", phase=exc.phase, kimg=progress.cur_nimg / 1000, step=trainer.step_count)
                trainer.step_count += 1
                if nan_streak >= opts.nan_patience:
                    _rollback(run, trainer, progress, opts, dist)
                    nan_streak = 0
                    it_a, it_b = loaders(progress.data_nimg)
                    tick_start_nimg, tick_start_time = progress.cur_nimg, time.time()
                    stats_sum.clear()
                    stats_count.clear()
                    bar.n = progress.cur_nimg
                continue  # a skipped step trained nothing: it does not count toward the run's kimg
            for k, v in stats.items():
                stats_sum[k] += v
                stats_count[k] += 1
            progress.cur_nimg += opts.batch
            bar.update(opts.batch)
            if progress.cur_nimg >= tick_start_nimg + tick_nimg or progress.cur_nimg >= total_nimg:
                end_tick(final=progress.cur_nimg >= total_nimg)
    finally:
        bar.close()
    run.event(FINISHED, kimg=progress.cur_nimg / 1000, total_sec=progress.total_sec)
    return FINISHED


def _snapshot(run, trainer, opts, progress, model=True):
    kimg = progress.cur_nimg / 1000
    if not run.writer:
        return
    fine = opts.tick_kimg * opts.snapshot_ticks < 1  # whole-kimg names would overwrite each other
    samples = run.samples_path(kimg, fine)
    save_image(samples, trainer.sample_grid())
    data = {"kimg": kimg, "samples": samples.name}
    if model:
        path = run.snapshot_path(kimg, fine)
        # What a user of the file can use; no folder of this machine (save_model keeps a data
        # path's last name only): the run directory's own options.json holds the full story.
        provenance = {"trained_by": "gan-explorer train", "objective": opts.family, "data": opts.data,
                      "kimg": kimg, "training": _objective_options(opts)}
        if opts.data_b:
            provenance["data_b"] = opts.data_b
        save_model(trainer.export_model(), path, provenance=provenance)
        data["snapshot"] = path.name
    run.event("snapshot", **data)
    if model and opts.metrics:  # issue #18: metrics.jsonl + a `metric` event per snapshot
        from gan_explorer.core.metrics.evaluate import evaluate_snapshot_in_training

        evaluate_snapshot_in_training(run, trainer.export_model(), kimg, path.name, opts.metrics, opts.metrics_num,
                                      opts.data)


def _objective_options(opts) -> dict:
    """What a snapshot's provenance records of how it was trained (its config holds the rest)."""
    knobs = {"lr": opts.lr, "batch": opts.batch, "augment": opts.augment, "seed": opts.seed}
    knobs.update({"vae": {"beta": opts.beta}, "autoencoder": {"ae_loss": opts.ae_loss},
                  "wgan-gp": {"n_critic": opts.n_critic, "gp_lambda": opts.gp_lambda},
                  "stylegan": {"r1_gamma": opts.r1_gamma, "pl_weight": opts.pl_weight,
                               "style_mixing_prob": opts.style_mixing_prob},
                  "pggan": {"start_resolution": opts.start_resolution, "phase_kimg": opts.phase_kimg,
                            "fade_kimg": opts.fade_kimg, "gp_lambda": opts.gp_lambda}}.get(opts.family, {}))
    return knobs


def _save_state(run, trainer, progress, dist):
    if not run.writer:
        return
    run.save_state({"trainer": trainer.state_dict(), "cur_nimg": progress.cur_nimg, "tick": progress.tick,
                    "total_sec": progress.total_sec, "rollbacks": progress.rollbacks, "rng": _rng_state(),
                    "data_nimg": progress.data_nimg})


def _load_state(run, trainer, progress, dist):
    state = run.load_state()
    try:
        trainer.load_state_dict(state["trainer"])
        progress.cur_nimg, progress.tick = int(state["cur_nimg"]), int(state["tick"])
        progress.data_nimg = int(state.get("data_nimg", progress.cur_nimg))  # states before NaN accounting
        progress.total_sec, progress.rollbacks = float(state["total_sec"]), int(state["rollbacks"])
        if dist.enabled:
            # Only rank 0's generator state is saved: give every rank a fresh, distinct stream.
            _seed_all(trainer.options.seed * 1000 + dist.rank + 7919 * progress.cur_nimg)
        else:
            _restore_rng(state["rng"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        text = str(exc).strip().splitlines()
        raise StateError(f"{run.state_path}: the training state does not fit this run "
                         f"({type(exc).__name__}: {text[0][:160] if text else ''})") from None
    run.truncate_stats(progress.tick)


def _rollback(run, trainer, progress, opts, dist):
    progress.rollbacks += 1
    if not run.has_state():
        raise TrainingError(f"losses were NaN/inf for {opts.nan_patience} steps in a row before any "
                            f"saved state; lower --lr (now {opts.lr})")
    if progress.rollbacks > opts.max_rollbacks:
        raise TrainingError(f"losses stayed NaN/inf after {opts.max_rollbacks} rollbacks, each halving the "
                            f"learning rate; stopped at {progress.cur_nimg / 1000:.1f} kimg")
    rollbacks = progress.rollbacks
    lr_scale = trainer.lr_scale * 0.5
    _load_state(run, trainer, progress, dist)
    progress.rollbacks = rollbacks
    trainer.set_lr_scale(lr_scale)
    run.event("rollback", kimg=progress.cur_nimg / 1000, lr_scale=lr_scale, rollbacks=rollbacks)
