"""DataLoader construction: workers, endless seeded shuffling, and (later) distributed sharding."""

from __future__ import annotations

import itertools
import sys

import torch
from torch.utils.data import DataLoader, Sampler


class EndlessSampler(Sampler):
    """Yields indices forever: a fresh seeded permutation per pass (or uniform draws for
    datasets too long to permute, like the endless faces). Shards by rank for DDP."""

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1,
                 start: int = 0):
        self.length, self.seed, self.shuffle = length, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.start = start  # samples already consumed (resume continues the same stream)

    def _stream(self):
        if self.length > 10**7:  # endless generators: draw indices, no permutation in memory
            g = torch.Generator().manual_seed(self.seed)
            while True:
                yield from torch.randint(0, self.length, (4096,), generator=g).tolist()
        for epoch in itertools.count():
            if self.shuffle:
                g = torch.Generator().manual_seed(self.seed * 100003 + epoch)
                yield from torch.randperm(self.length, generator=g).tolist()
            else:
                yield from range(self.length)

    def __iter__(self):
        stream = itertools.islice(self._stream(), self.start, None)
        return itertools.islice(stream, self.rank, None, self.world_size)

    def __len__(self):  # DataLoader asks; the stream itself is endless
        return 2**62


# Libraries whose threads do not survive a fork: once one is loaded in this process (an inference
# engine rendered here), workers start from a clean forkserver process instead of a fork of it.
FORK_UNSAFE_MODULES = ("openvino", "onnxruntime")


def worker_context():
    """The multiprocessing context for loader workers: fork (fast) unless this process holds
    threads of a library that breaks in a forked child; then forkserver, where it exists."""
    import multiprocessing

    if any(name in sys.modules for name in FORK_UNSAFE_MODULES) and \
            "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return None


def make_loader(dataset, batch_size: int, workers: int = 2, seed: int = 0, shuffle: bool = True,
                rank: int = 0, world_size: int = 1, start: int = 0) -> DataLoader:
    sampler = EndlessSampler(len(dataset), seed=seed, shuffle=shuffle, rank=rank, world_size=world_size,
                             start=start)
    # A private generator: creating an iterator must not draw from the global RNG, or a
    # resumed run (which creates a fresh iterator) would drift from an uninterrupted one.
    generator = torch.Generator().manual_seed(seed * 7 + rank + start)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      persistent_workers=workers > 0, drop_last=True, pin_memory=torch.cuda.is_available(),
                      generator=generator, multiprocessing_context=worker_context() if workers > 0 else None)
