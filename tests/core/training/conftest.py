import pytest

from gan_explorer.core.training.options import TrainingOptions

TINY_MODELS = {
    "gan": {"g_hidden": [32, 64], "d_hidden": [64, 32], "z_dim": 16},
    "dcgan": {"ngf": 8, "ndf": 8, "z_dim": 16},
    "wgan-gp": {"ngf": 8, "ndf": 8, "z_dim": 16},
    "stylegan": {"channel_base": 256, "channel_max": 16, "z_dim": 16, "w_dim": 16, "mapping_layers": 2},
    "vae": {"base_channels": 8, "channel_max": 16, "z_dim": 8},
    "autoencoder": {"base_channels": 8, "channel_max": 16, "z_dim": 8},
    "cyclegan": {"ngf": 4, "ndf": 4, "n_blocks": 1},
}


def tiny_options(family, **changes) -> TrainingOptions:
    resolution = 32 if family == "cyclegan" else 16
    base = dict(family=family, data=f"faces:{resolution}", resolution=resolution, kimg=0.064, batch=8,
                tick_kimg=0.016, snapshot_ticks=2, workers=0, progress=False, device="cpu",
                model=dict(TINY_MODELS[family]))
    if family == "cyclegan":
        base.update(data_b="digits", batch=2, kimg=0.008, tick_kimg=0.004)
    base.update(changes)
    return TrainingOptions(**base)


@pytest.fixture
def tiny():
    return tiny_options
