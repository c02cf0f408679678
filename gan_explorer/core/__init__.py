"""The Qt-free core: models, latent operations, data, training and file formats.

Nothing under this package may import Qt, pyqtgraph or gan_explorer.gui (tests enforce it).
"""
