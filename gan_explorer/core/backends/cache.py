"""Cached layers: re-render a StyleGAN2 image after an edit of late layers only.

When a new ws differs from the previous one only in layers >= k (fine styles, a layer-range
direction), every layer that takes a w below k computes exactly what it computed last time.
`SynthesisCache` keeps the activations entering each step of the synthesis plan and resumes
from the first step whose w changed, so the image equals a full render bit for bit.
"""

from __future__ import annotations

import torch

from gan_explorer.core.backends.precision import precision_context
from gan_explorer.core.models.stylegan import NOISE_MODES, StyleGAN


class SynthesisCache:
    """Renders ws through a StyleGAN2 model, reusing the activations of unchanged early layers.

    ``max_bytes`` caps the memory the saved activations take (a 1024 px model at batch 1 needs
    about 0.5 GB to save every step); steps past the cap are recomputed from the last saved
    one. Call ``clear()`` after the model's weights change (a new model gets a new cache).
    """

    def __init__(self, model, max_bytes: int = 1 << 30):
        if not isinstance(model, StyleGAN):
            raise TypeError(f"SynthesisCache needs a StyleGAN2 model, not the {model.family} family")
        self.model = model
        self.max_bytes = int(max_bytes)
        self.clear()

    def clear(self):
        self._key = None
        self._ws = None
        self._states: dict[int, tuple] = {}  # plan step -> (x, img, generator state) entering it
        self._images: dict[int, torch.Tensor] = {}  # plan end -> the image that run returned
        self._bytes = 0
        self.last_start = 0  # plan step the last render started from (0: nothing was reused)

    @property
    def num_steps(self) -> int:
        return len(self.model.synthesis.plan)

    def _plan(self, ws, noise_mode, noise_seed, max_resolution, precision):
        """(cache key, plan end, first changed w index, first step that takes it) for ws, against
        what the cache holds now; changes nothing."""
        synthesis = self.model.synthesis
        synthesis.check_ws(ws)
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode={noise_mode!r}: must be one of {', '.join(NOISE_MODES)}")
        # Weights edited in place (training, a load) bump their version counters: a new key.
        weights = tuple((p.data_ptr(), p._version) for p in synthesis.parameters())
        # The precision is part of the key: a bf16 preview's activations never feed an fp32 frame.
        key = (noise_mode, int(noise_seed) if noise_mode == "random" else None, tuple(ws.shape), ws.device, weights,
               precision)
        end = synthesis.plan_end(max_resolution)
        first_changed = 0
        if key == self._key:
            changed = (ws.to(torch.float32) != self._ws).any(dim=2).any(dim=0).nonzero()
            first_changed = int(changed[0]) if len(changed) else synthesis.num_ws
        changed_step = next((k for k, (_, _, w_index) in enumerate(synthesis.plan) if w_index >= first_changed),
                            len(synthesis.plan))
        return key, end, first_changed, changed_step

    def work_share(self, ws: torch.Tensor, noise_mode: str = "const", noise_seed: int = 0,
                   max_resolution: int | None = None, precision: str = "fp32") -> float:
        """The share (0..1) of a render up to ``max_resolution`` that ``synthesize`` would compute
        for ws, counted in MACs at block granularity (a resume inside a block counts that whole
        block): what the Renderer weighs against a frame on a faster engine. Changes nothing."""
        synthesis = self.model.synthesis
        key, end, first_changed, changed_step = self._plan(ws.detach(), noise_mode, noise_seed, max_resolution,
                                                           precision)
        if key != self._key:
            return 1.0
        if first_changed == synthesis.num_ws and end in self._images:
            return 0.0
        start = max((k for k in self._states if k <= min(changed_step, end)), default=0)
        done = [res for res in synthesis.block_resolutions if synthesis.plan_end(res) <= start]
        total = synthesis.macs(max_resolution)
        return 1.0 - (synthesis.macs(done[-1]) / total if done else 0.0)

    @torch.no_grad()
    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const", noise_seed: int = 0,
                   max_resolution: int | None = None, precision: str = "fp32") -> torch.Tensor:
        """The image ``model.synthesize(ws, noise_mode, generator seeded with noise_seed,
        max_resolution)`` returns (under ``precision_context(precision)``), computing only the
        layers that the change in ws reaches."""
        synthesis = self.model.synthesis
        ws = ws.detach().to(torch.float32)
        key, end, first_changed, changed_step = self._plan(ws, noise_mode, noise_seed, max_resolution, precision)
        if key != self._key:
            self.clear()
            self._key = key
        self._ws = ws.clone()
        if first_changed == synthesis.num_ws and end in self._images:
            self.last_start = end
            return self._images[end]
        # Every state entering a step after the first changed one is stale.
        for k in [k for k in self._states if k > changed_step]:
            self._forget(k)
        if changed_step < len(synthesis.plan):
            self._images = {}
        start = max((k for k in self._states if k <= min(changed_step, end)), default=0)
        generator = None
        if noise_mode == "random":
            generator = torch.Generator(device=ws.device).manual_seed(int(noise_seed))
        state = (None, None)
        if start in self._states:
            x, img, generator_state = self._states[start]
            state = (x, img)
            if generator is not None:
                generator.set_state(generator_state)
        self.last_start = start

        def remember(k, x, img):
            if k in self._states:
                return
            size = sum(t.numel() * t.element_size() for t in (x, img) if t is not None)
            if self._bytes + size > self.max_bytes:
                return
            self._states[k] = (x, img, generator.get_state() if generator is not None else None)
            self._bytes += size

        with precision_context(precision, ws.device.type):
            image = synthesis.run(ws, noise_mode, generator, max_resolution, start=start, state=state,
                                  on_step=remember)
        self._images[end] = image
        return image

    def _forget(self, k):
        x, img, _ = self._states.pop(k)
        self._bytes -= sum(t.numel() * t.element_size() for t in (x, img) if t is not None)
