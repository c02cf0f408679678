"""StyleGAN's lazy regularisation (Karras et al. 2020, section 3.1): the path-length penalty every
G_REG_INTERVAL minibatches on half the batch, R1 every D_REG_INTERVAL, each loss scaled by its
interval, and Adam's lr and betas scaled so the schedule matches regularising every step."""

import pytest
import torch

from gan_explorer.core.training.distributed import Distributed
from gan_explorer.core.training.trainers import TRAINERS
from gan_explorer.core.training.trainers.stylegan import D_REG_INTERVAL, G_REG_INTERVAL
from tests.core.training.conftest import tiny_options

BATCH = 4


@pytest.mark.slow
def test_regularisers_run_on_their_interval_with_the_scaled_weight():
    options = tiny_options("stylegan", batch=BATCH, augment="none").resolved()
    trainer = TRAINERS["stylegan"](options, torch.device("cpu"), Distributed())
    updates, generated = [], []
    update, generate = trainer.update, trainer._generate

    def recording_update(loss, optimizer, phase):
        updates.append((trainer.step_count, phase, float(loss.detach())))
        return update(loss, optimizer, phase)

    def recording_generate(n, update_emas=True, c=None):
        generated.append((trainer.step_count, n, update_emas))
        return generate(n, update_emas, c)

    trainer.update, trainer._generate = recording_update, recording_generate
    real = torch.rand(BATCH, 3, 16, 16) * 2 - 1
    # The steps around each interval's boundaries (the schedule reads the step count; running all
    # seventeen steps of a cycle and a half would only repeat the ones between).
    steps = [0, 1, 3, 4, 5, 8, D_REG_INTERVAL - 1, D_REG_INTERVAL]
    stats = {}
    for step in steps:
        trainer.step_count = step
        stats[step] = trainer.train_step(real)

    def steps_of(phase):
        return [step for step, p, _ in updates if p == phase]

    assert steps_of("Gmain") == steps_of("Dmain") == steps
    assert steps_of("Greg") == [0, 4, 8, D_REG_INTERVAL]
    assert steps_of("Dreg") == [0, D_REG_INTERVAL]
    for step, phase, loss in updates:
        if phase == "Greg":
            penalty = stats[step]["Loss/G/pl_penalty"]
            assert penalty > 0
            assert loss == pytest.approx(penalty * options.pl_weight * G_REG_INTERVAL, rel=1e-5)
        elif phase == "Dreg":
            r1 = stats[step]["Loss/D/r1"]
            assert r1 > 0
            assert loss == pytest.approx(r1 * trainer.r1_gamma / 2 * D_REG_INTERVAL, rel=1e-5)
    for step in steps:
        assert ("Loss/G/pl_penalty" in stats[step]) == (step % G_REG_INTERVAL == 0)
        assert ("Loss/D/r1" in stats[step]) == (step % D_REG_INTERVAL == 0)

    # The path length runs on half the batch (pl_batch_shrink 2), without moving the mapping's w average.
    path_length_batches = [(n, emas) for step, n, emas in generated if step % G_REG_INTERVAL == 0][1::3]
    assert path_length_batches == [(BATCH // 2, False)] * 4

    # Adam sees the regularised phases' extra steps: lr * k / (k + 1), beta2 ** (k / (k + 1)).
    for opt, k in ((trainer.opt_G, G_REG_INTERVAL), (trainer.opt_D, D_REG_INTERVAL)):
        group = opt.param_groups[0]
        assert group["lr"] == pytest.approx(options.lr * k / (k + 1))
        assert group["betas"] == pytest.approx((0.0, 0.99 ** (k / (k + 1))))
