"""Training throughput: our DCGAN trainer against a plain re-implementation of the PyTorch
examples DCGAN (64 px, ngf = ndf = 64, nz = 100, batch 64), and StyleGAN at 64 px.

The reference is `examples_dcgan`, written here from the DCGAN paper's description in the
style of the PyTorch example: nn.Sequential nets, BCELoss, Adam(2e-4, 0.5), one D step on
real + fake, one G step with D frozen (as our trainer does, so both do the same work; the example
itself also computes D's unused weight gradients during G's step). Every figure is images/s and a ratio to that reference, same run.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from gan_explorer.bench import register_benchmark
from gan_explorer.core.training.distributed import Distributed
from gan_explorer.core.training.options import TrainingOptions
from gan_explorer.core.training.trainers import TRAINERS


def _examples_dcgan(nz=100, ngf=64, ndf=64, nc=3):
    g = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    return g, d


def _reference_step_fn(batch):
    g, d = _examples_dcgan()
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 3, 64, 64) * 2 - 1

    def step():
        d.zero_grad()
        out = d(real).view(-1)
        err_real = criterion(out, torch.ones_like(out))
        err_real.backward()
        fake = g(torch.randn(batch, 100, 1, 1))
        out = d(fake.detach()).view(-1)
        err_fake = criterion(out, torch.zeros_like(out))
        err_fake.backward()
        opt_d.step()
        g.zero_grad()
        d.requires_grad_(False)  # as our trainer does: G's step computes no gradients for D's weights
        out = d(fake).view(-1)
        criterion(out, torch.ones_like(out)).backward()
        d.requires_grad_(True)
        opt_g.step()
    return step


def _trainer_step_fn(family, batch, model=None):
    options = TrainingOptions(family=family, data="faces:64", resolution=64, batch=batch, device="cpu",
                              augment="none", progress=False, model=model or {}).resolved()
    trainer = TRAINERS[family](options, torch.device("cpu"), Distributed())
    real = torch.rand(batch, 3, 64, 64) * 2 - 1
    return lambda: trainer.train_step(real)


def _cycle_images_per_second(family, batch, cycles, model=None):
    """StyleGAN img/s over whole lazy-regularisation cycles: D_REG_INTERVAL steps from a step where
    both regularisers run (R1 once, the path length D_REG_INTERVAL / G_REG_INTERVAL times), so
    the figure holds the regularisation's true share however short the run."""
    from gan_explorer.core.training.trainers.stylegan import D_REG_INTERVAL

    options = TrainingOptions(family=family, data="faces:64", resolution=64, batch=batch, device="cpu",
                              augment="none", progress=False, model=model or {}).resolved()
    trainer = TRAINERS[family](options, torch.device("cpu"), Distributed())
    real = torch.rand(batch, 3, 64, 64) * 2 - 1
    trainer.train_step(real)  # warm-up (a regularised step)
    trainer.step_count = 0
    steps = cycles * D_REG_INTERVAL
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(real)
    return steps * batch / (time.perf_counter() - t0)


def _images_per_second(step, batch, seconds):
    step()  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


@register_benchmark("training")
def bench_training(quick: bool = False) -> dict:
    torch.manual_seed(0)
    seconds = 3 if quick else 20
    cases = [
        ("examples_dcgan (reference)", _reference_step_fn(64), 64),
        ("gan_explorer dcgan", _trainer_step_fn("dcgan", 64, {"z_dim": 100, "ngf": 64, "ndf": 64}), 64),
        ("gan_explorer stylegan (default 64 px config)", _trainer_step_fn("stylegan", 32), 32),
    ]
    results = {"threads": torch.get_num_threads(), "cases": []}
    for name, step, batch in cases:
        results["cases"].append({"name": name, "batch": batch, "img_per_sec": _images_per_second(step, batch, seconds)})
    # One whole regularisation cycle (16 steps); --quick at batch 8, the full run at the default 32.
    cycle_batch = 8 if quick else 32
    results["cases"].append({"name": "  ... over whole regularisation cycles", "batch": cycle_batch,
                             "img_per_sec": _cycle_images_per_second("stylegan", cycle_batch, cycles=1)})
    ref = results["cases"][0]["img_per_sec"]
    print(f"Training throughput at 64 px, CPU threads={results['threads']}, reference = examples_dcgan")
    print(f"{'case':48s} {'batch':>5} {'img/s':>8} {'x ref':>6}")
    for case in results["cases"]:
        case["ratio_to_reference"] = case["img_per_sec"] / ref
        print(f"{case['name']:48s} {case['batch']:>5} {case['img_per_sec']:>8.1f} {case['ratio_to_reference']:>6.2f}")
    return results
