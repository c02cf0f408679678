"""Operations on latents: truncation, style mixing, interpolation (all on ws tensors)."""

from gan_explorer.core.latent.ops import lerp, mix_styles, parse_layers, slerp, truncate

__all__ = ["lerp", "mix_styles", "parse_layers", "slerp", "truncate"]
