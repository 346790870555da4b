"""Shuffled DataLoaders whose order is fixed by a seed, and the init of their worker processes.

Datasets draw their augmentation from a generator seeded per sample, so a batch is the same bytes
for any number of workers; the workers only have to leave the global RNGs alone and not fight over
cores.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


def worker_init(worker_id: int) -> None:
    """Seed numpy's global RNG from the worker's torch seed; one thread per worker."""
    np.random.seed(torch.initial_seed() % (2**32))
    torch.set_num_threads(1)


def seeded_loader(dataset: Dataset, batch_size: int, seed: int, workers: int, drop_last: bool) -> DataLoader:
    """Shuffled batches in the order `seed` fixes (a torch.Generator of the loader's own)."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=drop_last,
                      num_workers=workers, generator=torch.Generator().manual_seed(seed),
                      worker_init_fn=worker_init)


def epoch_batches(loader: DataLoader) -> Callable[[int], DataLoader]:
    """`fit`'s batches from one persistent loader: each epoch sets `loader.dataset.epoch` (which
    the samples' augmentation seeds read); the shuffling generator runs on across epochs."""
    def batches(epoch: int) -> DataLoader:
        loader.dataset.epoch = epoch  # type: ignore[attr-defined]
        return loader
    return batches
