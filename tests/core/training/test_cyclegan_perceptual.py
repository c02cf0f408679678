"""CycleGAN's optional perceptual loss: off by default (the paper's objective), finite, and
its gradient reaches both generators through the discriminator's features."""

import pytest
import torch

from gan_explorer.core.errors import ConfigError
from gan_explorer.core.training.distributed import Distributed
from gan_explorer.core.training.trainers import TRAINERS
from gan_explorer.core.training.trainers.cyclegan import PerceptualLoss
from tests.core.training.conftest import tiny_options


@pytest.fixture(autouse=True)
def _one_intra_op_thread():
    """Tiny nets: two intra-op threads spin against each other on a busy 2-core machine (40x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _trainer(**changes):
    options = tiny_options("cyclegan", augment="none", **changes).resolved()
    torch.manual_seed(0)
    return TRAINERS["cyclegan"](options, torch.device("cpu"), Distributed())


def _batch(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, 32, 32, generator=g) * 2 - 1


def test_weight_zero_is_the_papers_objective():
    plain, zero = _trainer(), _trainer(perceptual_weight=0.0)
    assert plain.perceptual is None and zero.perceptual is None
    a, b = _batch(1), _batch(2)
    torch.manual_seed(5)
    stats_plain = plain.train_step(a, b)
    torch.manual_seed(5)
    stats_zero = zero.train_step(a, b)
    assert stats_plain == stats_zero and "Loss/G/perceptual" not in stats_zero
    for (name, p), q in zip(plain.model.named_parameters(), zero.model.parameters()):
        assert torch.equal(p, q), name


@pytest.mark.parametrize("target", ["cycle", "translation"])
def test_perceptual_loss_is_finite_and_reaches_both_generators(target):
    trainer = _trainer(perceptual_weight=2.0, perceptual_layers="1,3", perceptual_target=target)
    a, b = _batch(1), _batch(2)
    G_AB, G_BA = trainer.model.G_AB, trainer.model.G_BA
    for d in (trainer.D_A, trainer.D_B):
        d.requires_grad_(False)  # as in the G phase: only the generators learn from this term
    fake_b, fake_a = G_AB(a), G_BA(b)
    loss = trainer.perceptual_loss(a, b, fake_a, fake_b, G_BA(fake_b), G_AB(fake_a))
    assert loss.ndim == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    for name, g in (("G_AB", G_AB), ("G_BA", G_BA)):
        grads = [p.grad for p in g.parameters() if p.grad is not None]
        assert grads and sum(float(x.abs().sum()) for x in grads) > 0, name
    assert all(p.grad is None for d in (trainer.D_A, trainer.D_B) for p in d.parameters())
    # A whole training step reports it and folds it into G's loss.
    trainer.model.zero_grad(set_to_none=True)
    for d in (trainer.D_A, trainer.D_B):
        d.requires_grad_(True)
    stats = trainer.train_step(a, b)
    parts = stats["Loss/G/gan"] + stats["Loss/G/cycle"] + stats["Loss/G/identity"] + stats["Loss/G/perceptual"]
    assert stats["Loss/G/perceptual"] > 0 and stats["Loss/G/loss"] == pytest.approx(parts, rel=1e-5)


def test_identical_images_are_at_distance_zero():
    trainer = _trainer(perceptual_weight=1.0)
    a = _batch(3)
    assert float(trainer.perceptual(a, a, "A").detach()) == 0.0
    assert float(trainer.perceptual(a, _batch(4), "A").detach()) > 0.0


@pytest.mark.parametrize("changes,match", [
    ({"perceptual_layers": "0,1"}, "perceptual-layers"),
    ({"perceptual_layers": "one"}, "perceptual-layers"),
    ({"perceptual_target": "style"}, "perceptual-target"),
    ({"perceptual_network": "vgg"}, "perceptual-network"),
])
def test_bad_perceptual_options_are_one_line_errors(changes, match):
    with pytest.raises(ConfigError, match=match):
        _trainer(perceptual_weight=1.0, **changes)


def test_too_deep_a_layer_names_the_available_ones():
    trainer = _trainer(perceptual_weight=1.0, perceptual_layers="9")  # the tiny PatchGAN has 4 maps
    with pytest.raises(ConfigError, match="1 to 4"):
        trainer.perceptual(_batch(1), _batch(2), "A")


def test_the_project_feature_network_is_a_perceptual_space_too():
    """--perceptual-network features: the shipped faces network's maps (frozen: only G learns)."""
    trainer = _trainer(perceptual_weight=1.0, perceptual_network="features", perceptual_layers="2,4")
    a, b = _batch(1), _batch(2)
    fake_b = trainer.model.G_AB(a)
    loss = trainer.perceptual(fake_b, a, "B")
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.model.G_AB.parameters())
    assert float(trainer.perceptual(a, a, "A").detach()) == 0.0
    with pytest.raises(ConfigError, match="1 to 5"):  # stem + 4 stages
        PerceptualLoss("features", "6", {"A": trainer.D_A})(a, a, "A")
