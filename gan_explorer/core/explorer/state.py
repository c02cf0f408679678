"""The explorer's vocabulary: the latent state of the current image and the edits in it.

It lives in core/latent/state.py (the renderer and exports use it too); the explorer's modules and
panels name it from here.
"""

from gan_explorer.core.latent.state import LatentState, WOffset, state_from_dict, state_to_dict  # noqa: F401
