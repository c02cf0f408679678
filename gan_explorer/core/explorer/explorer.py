"""The explorer without Qt: small models composed around one session (napari's ViewerModel).

    explorer = Explorer(ExplorerSession(sync=True))
    explorer.viewer.open_model("model.pkl")
    explorer.latent.set_seed(3)                    # the image re-renders
    explorer.directions.find("pca").on_done(...)   # jobs return handles

Each part is a small model with its own events, and each panel of the window is handed only the
models it shows:

- `viewer`      the open model, the image shown, jobs and the status line (viewer.py)
- `latent`      the latent state, its history and its edits (latent.py)
- `directions`  PCA / SeFa directions and the model's direction library (directions.py)
- `bookmarks`, `keyframes`   saved latents and interpolation (collections.py)
- `mixing`, `breeding`       grids around the current latent (grids.py)
- `pictures`    encode, project, translate, save and restore pictures and latents (pictures.py)
- `analyses`    the Understand dock's jobs (analyses.py)
- `perform`     OSC / MIDI control from outside and presets (core/perform/control.py)
- `animation`   sound-driven animation and loops: plan, preview, export (animation.py)
- `network`     a blend with another model and bends of the feature maps (network.py)
- `drag`        point-based editing: handles, targets, a mask, the running drag (drag.py)

The session reports on its worker thread unless it was given a `deliver` function; the Qt bridge
passes one that queues everything to the GUI thread.
"""

from __future__ import annotations

from gan_explorer.core.explorer.analyses import AnalysesModel
from gan_explorer.core.explorer.channels import ChannelsModel
from gan_explorer.core.explorer.animation import AnimationModel
from gan_explorer.core.explorer.collections import BookmarksModel, KeyframesModel
from gan_explorer.core.explorer.directions import DirectionsModel
from gan_explorer.core.explorer.drag import DragModel
from gan_explorer.core.explorer.grids import BreedingModel, MixingModel
from gan_explorer.core.explorer.latent import LatentModel
from gan_explorer.core.explorer.network import NetworkModel
from gan_explorer.core.explorer.pictures import PicturesModel
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.explorer.viewer import Viewer
from gan_explorer.core.perform.control import PerformModel


class Explorer:
    """The explorer's models, composed; see the module docstring."""

    def __init__(self, session: ExplorerSession, data_dir=None):
        self.session = session
        self.latent = LatentModel()
        self.viewer = Viewer(session, self.latent)
        self.directions = DirectionsModel(self.viewer, self.latent, data_dir)
        self.bookmarks = BookmarksModel(self.viewer, self.latent, data_dir)
        self.keyframes = KeyframesModel(self.viewer, self.latent, self.bookmarks)
        self.mixing = MixingModel(self.viewer, self.latent)
        self.breeding = BreedingModel(self.viewer, self.latent)
        self.pictures = PicturesModel(self.viewer, self.latent)
        self.analyses = AnalysesModel(self.viewer, self.latent)
        self.channels = ChannelsModel(self.viewer, self.latent)  # StyleSpace channels of a part
        self.perform = PerformModel(self.viewer, self.latent, self.directions, self.keyframes, data_dir)
        self.animation = AnimationModel(self.viewer, self.latent, self.keyframes)
        self.network = NetworkModel(self.viewer, self.latent)
        self.perform.follow_network(self.network)   # OSC /blend/<i> needs the partner it opened
        self.drag = DragModel(self.viewer, self.latent)  # point-based editing (DragGAN)
        self.drag.events.message.connect(self.viewer.events.message.emit)
        for model in (self.directions, self.bookmarks, self.keyframes, self.pictures, self.perform, self.animation,
                      self.network):
            model.events.message.connect(self.viewer.events.message.emit)  # one status line for all
