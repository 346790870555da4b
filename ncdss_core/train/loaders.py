"""Shuffled DataLoaders whose order is fixed by a seed, and the init of their worker processes.

Datasets draw their augmentation from a generator seeded per sample, so a batch is the same bytes
for any number of workers. What else makes 0 and N workers give the same training:
- the loader's own generator gives the shuffle and the workers' base seed (one draw per iterator,
  with or without workers), so the main process's global RNGs (dropout) see the same draws;
- workers are not persistent: a persistent pool keeps the copy of the dataset it started with
  (its `epoch`, which the augmentation seeds read, would stay the first one) and draws its base
  seed once, not once per epoch as a worker-less loader does;
- each worker computes with one torch thread, not to fight over the cores with the training
  process (OpenCV's thread count is left as inherited: resizing OpenCV's pool in a forked child
  waits forever on a lock of the parent's pool threads, which the child does not have).
Batches are collated into pinned memory for a cuda training, so that their copies to the device
do not block (`train.loop.to_device`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


def worker_init(worker_id: int) -> None:
    """Seed numpy's global RNG from the worker's torch seed; one thread per worker."""
    np.random.seed(torch.initial_seed() % (2**32))
    torch.set_num_threads(1)


def seeded_loader(dataset: Dataset, batch_size: int, seed: int, workers: int, drop_last: bool,
                  pin_memory: bool = False) -> DataLoader:
    """Shuffled batches in the order `seed` fixes (a torch.Generator of the loader's own);
    `pin_memory` for a training on cuda."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=drop_last,
                      num_workers=workers, generator=torch.Generator().manual_seed(seed),
                      worker_init_fn=worker_init, pin_memory=pin_memory, persistent_workers=False)


class EpochBatches:
    """`fit`'s batches from one persistent loader: each epoch sets `loader.dataset.epoch` (which
    the samples' augmentation seeds read); the shuffling generator runs on across epochs, so its
    position is part of a resumable training's state."""

    def __init__(self, loader: DataLoader):
        self.loader = loader

    def __call__(self, epoch: int) -> DataLoader:
        self.loader.dataset.epoch = epoch  # type: ignore[attr-defined]
        return self.loader

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.loader.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.loader.generator.set_state(state["generator"])


def epoch_batches(loader: DataLoader) -> EpochBatches:
    return EpochBatches(loader)
