"""Understanding a latent space (issue #19), Qt-free: the window's docks and the headless
`map` / `probe` commands are thin layers over these modules.

- latent_map:       N latents -> 2-D (PCA / t-SNE / UMAP), thumbnails, colours, project_point
- layers:           every generator layer with its shape, activations, stats, spectrum, ablation
- probe:            factor directions from the factor regressor's labels, their effects, cosines
                    with PCA / SeFa directions
- attribute:        a direction from images the user marked "has it" / "has not"
- disentanglement:  MIG, DCI, SAP from (factors, codes); a VAE / autoencoder on procedural faces
- linear:           the small numpy linear models they share (no scikit-learn needed)

Long functions take `progress(done, total)` and `should_stop()` (which may also raise
`Cancelled` itself, e.g. an explorer job's `context.check`). Each view's one-paragraph
"what am I looking at" text is in HELP.
"""

from __future__ import annotations

from gan_explorer.core.analysis import attribute, disentanglement, latent_map, layers, probe

HELP = {
    "latent_map": latent_map.WHAT_AM_I_LOOKING_AT,
    "layers": layers.WHAT_AM_I_LOOKING_AT,
    "factor_probe": probe.WHAT_AM_I_LOOKING_AT,
    "attribute": attribute.WHAT_AM_I_LOOKING_AT,
    "disentanglement": disentanglement.WHAT_AM_I_LOOKING_AT,
}

__all__ = ["HELP", "attribute", "disentanglement", "latent_map", "layers", "probe"]
