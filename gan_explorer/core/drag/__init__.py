"""Point-based editing (DragGAN, Pan et al. 2023): move handle points of a generated image to
targets by optimising the first W+ rows, with motion supervision on an intermediate feature map
and point tracking by nearest-neighbour search in it. No Qt here (the window drives it through
core/explorer/drag.py)."""

from gan_explorer.core.drag.backbone import FeatureBackbone, backbone_for  # noqa: F401
from gan_explorer.core.drag.method import (  # noqa: F401
    DragConfig, DragStep, Dragger, check_points, run_drag, track_points,
)
