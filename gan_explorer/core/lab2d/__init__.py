"""The live 2-D GAN lab (issue #21): toy distributions, tiny MLP G/D, four objectives, and the
fields the view draws (D's heat map, G's gradient arrows, the image of a z-grid), Qt-free."""

from gan_explorer.core.lab2d.config import LOSS_DEFAULTS, LOSS_TITLES, LOSSES, LabConfig
from gan_explorer.core.lab2d.coverage import Coverage, mode_coverage
from gan_explorer.core.lab2d.distributions import DATASETS, VIEW_EXTENT, Distribution, make_distribution
from gan_explorer.core.lab2d.lab import Cancelled, GanLab, LabDiverged, LabFrame

__all__ = ["DATASETS", "LOSSES", "LOSS_DEFAULTS", "LOSS_TITLES", "VIEW_EXTENT", "Cancelled", "Coverage",
           "Distribution", "GanLab", "LabConfig", "LabDiverged", "LabFrame", "make_distribution", "mode_coverage"]
