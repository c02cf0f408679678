"""The Parts panel's work without Qt: samples to paint part masks on, training the per-pixel part
classifier from them (core/analysis/parts.py), segmenting the current image, and dissecting the
generator's units against the parts (core/analysis/dissection.py). Long work is a job; the
panel shows results and forwards clicks and brush strokes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_explorer.core.errors import ConfigError, GanExplorerError
from gan_explorer.core.explorer.events import EventGroup
from gan_explorer.core.explorer.handles import JobHandle
from gan_explorer.core.explorer.jobs import Job, SampleForAttribute

UNLABELLED = 255  # as core.analysis.parts.UNLABELLED (not imported: that module pulls in torch's nn)
DEFAULT_PARTS = ("background", "skin", "hair", "eyes", "mouth")  # a start; the user adds their own


@dataclass(frozen=True)
class TrainedParts:
    classifier: object           # a core.analysis.parts.PartClassifier: passed back to jobs, never used by the GUI
    part_names: tuple
    train_iou: np.ndarray        # [K] IoU on the painted pixels themselves (NaN: part never painted)
    labelled_pixels: int


@dataclass(frozen=True)
class TrainPartClassifier(Job):
    """A part classifier from painted masks -> TrainedParts."""

    ws: np.ndarray = None        # [n, num_ws, w_dim] of the painted samples
    masks: np.ndarray = None     # [n, H, W] uint8 part indices, UNLABELLED where unpainted
    part_names: tuple = ()
    steps: int = 300             # Adam steps of the classifier

    def run(self, context) -> TrainedParts:
        from gan_explorer.core.analysis.parts import PartsConfig, feature_layers, pixel_features, train_classifier

        if self.ws is None or not len(self.ws):
            raise GanExplorerError("no samples to train on: sample some and paint their parts")
        layers = feature_layers(context.model)
        context.progress(0, self.steps, "features")
        features, _ = pixel_features(context.model, self.ws, layers, should_stop=lambda: context.check())
        classifier = train_classifier(features, self.masks, self.part_names, layers, PartsConfig(steps=self.steps),
                                      progress=lambda d, t: context.progress(d, t, "training"),
                                      should_stop=lambda: context.check())
        predicted = classifier.predict(features)
        known = self.masks != UNLABELLED
        iou = np.full(len(self.part_names), np.nan)
        for k in range(len(self.part_names)):
            p, t = (predicted == k) & known, self.masks == k
            union = (p | t).sum()
            if union:
                iou[k] = (p & t).sum() / union
        return TrainedParts(classifier, tuple(self.part_names), iou, int(known.sum()))


@dataclass(frozen=True)
class SegmentImage(Job):
    """The part map of one ws -> [H, W] uint8."""

    ws: np.ndarray = None        # [num_ws, w_dim]
    classifier: object = None

    def run(self, context) -> np.ndarray:
        from gan_explorer.core.analysis.parts import segment

        parts, _ = segment(context.model, self.classifier, np.asarray(self.ws)[None])
        return parts[0]


@dataclass(frozen=True)
class DissectUnits(Job):
    """Every unit of the classifier's feature layers scored against its parts -> DissectionReport."""

    classifier: object = None
    samples: int = 100
    seed: int = 0
    top: float = 0.01            # fraction of each unit's values kept as 'on'

    def run(self, context):
        import torch

        from gan_explorer.core.analysis.dissection import dissect

        model = context.model
        with torch.no_grad():
            z = torch.cat([model.sample_z(1, s) for s in range(self.seed, self.seed + self.samples)])
            ws = model.map(z.to(next(model.parameters()).device)).cpu().numpy()
        return dissect(model, self.classifier, ws, top=self.top, progress=context.progress,
                       should_stop=lambda: context.check())


class PartsModel:
    """Painted masks on samples, the classifier trained from them, and the latest dissection."""

    def __init__(self, viewer, latent, analyses=None):
        self.viewer, self.latent, self.analyses = viewer, latent, analyses
        self.events = EventGroup("samples_changed", "mask_changed", "parts_changed", "classifier_changed",
                                 "dissection_changed")
        self.unlabelled = UNLABELLED  # a mask pixel not painted
        self.part_names: list[str] = list(DEFAULT_PARTS)
        self.samples = None          # AttributeSamples (seeds, ws, images)
        self.masks: list[np.ndarray] = []
        self.trained: TrainedParts | None = None
        self.dissection = None       # DissectionReport
        viewer.events.model_opened.connect(self._model_opened)

    def _model_opened(self, _info):
        self.samples, self.masks, self.trained, self.dissection = None, [], None, None
        for event in (self.events.samples_changed, self.events.classifier_changed, self.events.dissection_changed):
            event.emit(None)

    # --- parts --------------------------------------------------------------------------------
    def add_part(self, name: str) -> int:
        name = str(name).strip()
        if not name:
            raise ConfigError("a part needs a name")
        if name in self.part_names:
            raise ConfigError(f"part {name!r} is already in the list")
        if len(self.part_names) >= UNLABELLED:
            raise ConfigError(f"at most {UNLABELLED} parts")
        self.part_names.append(name)
        self.trained = None  # its outputs no longer match the list
        self.events.parts_changed.emit(tuple(self.part_names))
        return len(self.part_names) - 1

    def use_face_parts(self):
        """The procedural faces' own part list (core.data.faces.PART_NAMES)."""
        from gan_explorer.core.data.faces import PART_NAMES

        self.part_names = list(PART_NAMES)
        self.masks = [np.full_like(m, UNLABELLED) for m in self.masks]
        self.trained = None
        self.events.parts_changed.emit(tuple(self.part_names))

    # --- samples and painting -------------------------------------------------------------------
    def sample(self, count: int = 4, seed: int | None = None) -> JobHandle:
        seed = self.latent.state.seed if seed is None else seed
        handle = self.viewer.submit(SampleForAttribute(count=int(count), seed=int(seed),
                                                       truncation_psi=self.latent.state.truncation_psi))
        handle.on_done(self._sampled)
        return handle

    def _sampled(self, handle: JobHandle):
        if handle.ok and handle.model_token == self.viewer.token:
            self.samples = handle.result
            h, w = self.samples.images.shape[1:3]
            self.masks = [np.full((h, w), UNLABELLED, np.uint8) for _ in range(len(self.samples.images))]
            self.events.samples_changed.emit(self.samples)

    def paint(self, index: int, x: float, y: float, radius: float, part: int | None):
        """A round brush dab at pixel (x, y) of sample `index`: `part` (an index), or None to erase."""
        if not 0 <= index < len(self.masks):
            raise ConfigError(f"sample {index}: there are {len(self.masks)} samples")
        if part is not None and not 0 <= part < len(self.part_names):
            raise ConfigError(f"part {part}: the list has {len(self.part_names)} parts")
        mask = self.masks[index]
        ys, xs = np.ogrid[:mask.shape[0], :mask.shape[1]]
        inside = (xs - x) ** 2 + (ys - y) ** 2 <= max(radius, 0.5) ** 2
        mask[inside] = UNLABELLED if part is None else part
        self.events.mask_changed.emit(index)

    def fill_unpainted(self, index: int, part: int):
        """Every pixel of sample `index` not painted yet becomes `part` (e.g. the background)."""
        mask = self.masks[index]
        mask[mask == UNLABELLED] = part
        self.events.mask_changed.emit(index)

    def clear(self, index: int):
        self.masks[index][:] = UNLABELLED
        self.events.mask_changed.emit(index)

    def painted_count(self) -> int:
        return sum(int((m != UNLABELLED).any()) for m in self.masks)

    # --- classifier and dissection ---------------------------------------------------------------
    def train(self, steps: int = 300) -> JobHandle:
        painted = [i for i, m in enumerate(self.masks) if (m != UNLABELLED).any()]
        if not painted:
            raise ConfigError("paint at least one part on one sample first")
        job = TrainPartClassifier(ws=self.samples.ws[painted], masks=np.stack([self.masks[i] for i in painted]),
                                  part_names=tuple(self.part_names), steps=int(steps))
        handle = self.viewer.submit(job)
        handle.on_done(self._trained)
        return handle

    def _trained(self, handle: JobHandle):
        if handle.ok and handle.model_token == self.viewer.token:
            self.trained = handle.result
            self.dissection = None
            self.events.classifier_changed.emit(self.trained)

    def load_classifier(self, path) -> TrainedParts:
        from gan_explorer.core.analysis.parts import load_classifier

        classifier = load_classifier(path)
        self.part_names = list(classifier.part_names)
        self.trained = TrainedParts(classifier, tuple(classifier.part_names),
                                    np.full(len(classifier.part_names), np.nan), 0)
        self.events.parts_changed.emit(tuple(self.part_names))
        self.events.classifier_changed.emit(self.trained)
        return self.trained

    def save_classifier(self, path):
        from gan_explorer.core.analysis.parts import save_classifier

        if self.trained is None:
            raise ConfigError("no classifier to save: train one first")
        return save_classifier(self.trained.classifier, path)

    def segment_current(self) -> JobHandle | None:
        ws = self.viewer.current_ws
        if ws is None or self.trained is None:
            return None
        return self.viewer.submit(SegmentImage(ws=ws, classifier=self.trained.classifier))

    def dissect(self, samples: int = 100, top: float = 0.01) -> JobHandle:
        if self.trained is None:
            raise ConfigError("train (or load) a part classifier first: dissection scores units against its parts")
        handle = self.viewer.submit(DissectUnits(classifier=self.trained.classifier, samples=int(samples),
                                                 seed=int(self.latent.state.seed), top=float(top)))
        handle.on_done(self._dissected)
        return handle

    def _dissected(self, handle: JobHandle):
        if handle.ok and handle.model_token == self.viewer.token:
            self.dissection = handle.result
            self.events.dissection_changed.emit(self.dissection)

    def ablate_top_units(self, layer: str, part: str, count: int) -> JobHandle | None:
        """The current image with `part`'s `count` best units of `layer` switched off."""
        if self.dissection is None or self.analyses is None:
            return None
        units = [u for u, _ in self.dissection.top_units(layer, part, count)]
        return self.analyses.ablate(layer, units, 0.0)
