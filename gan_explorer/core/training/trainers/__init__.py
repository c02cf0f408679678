"""One trainer per objective; each owns its networks, optimisers and losses."""

from gan_explorer.core.training.trainers.base import NonFiniteStep, Trainer
from gan_explorer.core.training.trainers.codec import AutoencoderTrainer, VAETrainer
from gan_explorer.core.training.trainers.cyclegan import CycleGANTrainer
from gan_explorer.core.training.trainers.gan import GANTrainer, WGANGPTrainer
from gan_explorer.core.training.trainers.pggan import PGGANTrainer
from gan_explorer.core.training.trainers.stylegan import StyleGANTrainer

TRAINERS = {
    "gan": GANTrainer,
    "dcgan": GANTrainer,
    "wgan-gp": WGANGPTrainer,
    "stylegan": StyleGANTrainer,
    "pggan": PGGANTrainer,
    "vae": VAETrainer,
    "autoencoder": AutoencoderTrainer,
    "cyclegan": CycleGANTrainer,
}

__all__ = ["NonFiniteStep", "TRAINERS", "Trainer"]
