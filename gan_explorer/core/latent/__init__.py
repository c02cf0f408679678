"""Operations on latents: truncation, style mixing, interpolation (all on ws tensors), and the
latent state that names an image. The operations are imported on first use, so the state (plain
data) can be read without loading torch."""

__all__ = ["lerp", "mix_styles", "parse_layers", "slerp", "truncate"]


def __getattr__(name):
    if name in __all__:
        from gan_explorer.core.latent import ops

        return getattr(ops, name)
    raise AttributeError(f"module 'gan_explorer.core.latent' has no attribute {name!r}")
