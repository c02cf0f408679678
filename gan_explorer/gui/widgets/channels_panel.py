"""The Channels tab: StyleSpace channels that move a chosen part, each as a slider (units of its spread)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from gan_explorer.core.explorer.channels import FACE_PARTS
from gan_explorer.gui.session_bridge import subscribe
from gan_explorer.gui.widgets.slider_bank import SliderBank
from gan_explorer.gui.widgets.understand import JobBar

SHOWN = 24  # ranked channels offered as sliders


class ChannelsPanel(QWidget):
    def __init__(self, channels, latent, viewer, parent=None):
        super().__init__(parent)
        self.channels, self.latent = channels, latent
        self.shown: list = []  # the ChannelScores behind the sliders, in order
        layout = QVBoxLayout(self)
        hint = QLabel("S (StyleSpace): the style each convolution receives. Find the channels whose change "
                      "stays in a part of the face (locality: the share of their pixel change inside it); "
                      "each slider moves one channel, in units of its spread over sampled images.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        row = QHBoxLayout()
        self.part = QComboBox()
        for part in FACE_PARTS:
            self.part.addItem(part, part)
        self.part.setCurrentText("mouth")
        self.part.setToolTip("The part of the procedural face whose channels are listed (parts drawn from the "
                             "factors the regressor reads off each image)")
        self.images = QSpinBox()
        self.images.setRange(1, 16)
        self.images.setValue(4)
        self.images.setPrefix("images ")
        self.images.setToolTip("Rank on the current image and this many - 1 seeds after it (more: slower, steadier)")
        row.addWidget(QLabel("Part"))
        row.addWidget(self.part, 1)
        row.addWidget(self.images)
        layout.addLayout(row)
        self.job = JobBar("Find channels")
        self.job.run_btn.setToolTip("Measure every channel's effect on a few images (in the background) and "
                                    "list the most local ones for the part")
        self.job.run_btn.clicked.connect(self.find)
        layout.addWidget(self.job)
        self.bank = SliderBank()
        layout.addWidget(self.bank, 1)
        self.bank.sigValueChanged.connect(self._moved)
        self.bank.sigReleased.connect(latent.end_gesture)
        self.bank.sigReset.connect(channels.reset)
        subscribe(self, channels.events.ranked, self._ranked)
        subscribe(self, latent.events.changed, lambda _s: self._show_values())
        subscribe(self, viewer.events.model_opened, lambda _i: self.job.clear())

    def find(self):
        self.job.follow(self.channels.rank(self.part.currentData(), num_images=self.images.value()), lambda _h: None)

    def _ranked(self, ranking):
        self.shown = [] if ranking is None else ranking.top(SHOWN)
        self.bank.set_items([s.name for s in self.shown],
                            [f"{s.name}: locality {s.locality:.2f} (share of its change inside {ranking.region}), "
                             f"strength {s.strength:.3f} per pixel, overlap {s.overlap:.2f}, spread {s.spread:.3f}"
                             for s in self.shown])
        self._show_values()

    def _moved(self, index: int, value: float):
        score = self.shown[index]
        self.channels.set_value(score.layer, score.channel, value)

    def _show_values(self):
        self.bank.set_values({i: self.channels.value(s.layer, s.channel) for i, s in enumerate(self.shown)})
