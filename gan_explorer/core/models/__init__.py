"""Model families behind one interface. Importing this package registers every family."""

from gan_explorer.core.models import autoencoder, cyclegan, dcgan, mlp_gan, stylegan, stylegan3, vae  # noqa: F401
from gan_explorer.core.models import pggan  # noqa: F401
from gan_explorer.core.models.base import Capabilities, GenerativeModel, ModelConfig, TranslationModel
from gan_explorer.core.models.registry import build_model, family_names, get_family, register_family

__all__ = [
    "Capabilities", "GenerativeModel", "ModelConfig", "TranslationModel",
    "build_model", "family_names", "get_family", "register_family",
]
