"""Batches of several data streams trained together ("base" + "novel", or "base", "clean", "unclean").

Each stream is a dataset with the attributes `stream` (its number), `epoch` and `cycle` (the pass
over the stream within an epoch), which its samples' augmentation seeds read. Its order is shuffled
by a generator seeded per (seed, stream, epoch, pass). An epoch lasts as long as the shortest stream
(the reference, ncdss.md §9.2.13) or as long as the longest, the shorter ones reshuffled whenever
they run out (so that runs whose streams differ in size get the same number of updates).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Protocol

from torch.utils.data import DataLoader

from ncdss_core.train.loaders import seeded_loader

EPOCH_LENGTHS = ("shortest", "longest")


class StreamSet(Protocol):
    stream: int
    epoch: int
    cycle: int

    def __len__(self) -> int: ...


@dataclass
class Streams:
    """The per-epoch batches of named streams: `streams(epoch)` yields {name: batch} (for `fit`).
    `epoch_length` None: a single stream, nothing to zip."""

    sets: Mapping[str, StreamSet]
    batch_size: int
    seed: int
    workers: int
    epoch_length: str | None
    pin_memory: bool = False  # a training on cuda

    def sizes(self) -> dict[str, int]:
        return {name: len(data) for name, data in self.sets.items()}

    def loader(self, data: StreamSet, epoch: int, cycle: int = 0) -> DataLoader:
        data.epoch, data.cycle = epoch, cycle
        seed = self.seed * 7919 + data.stream * 104729 + epoch + cycle * 1_000_003
        return seeded_loader(data, self.batch_size, seed, self.workers, drop_last=True,  # type: ignore[arg-type]
                             pin_memory=self.pin_memory)

    def __call__(self, epoch: int) -> Iterator[dict[str, Any]]:
        batches = [len(data) // self.batch_size for data in self.sets.values()]
        if min(batches) == 0:
            raise ValueError(f"a stream has fewer images than one batch ({self.sizes()}, batch {self.batch_size})")
        names = list(self.sets)
        for batch in self._zipped(epoch, max(batches)):
            yield dict(zip(names, batch))

    def _zipped(self, epoch: int, longest: int) -> Iterator[tuple]:
        if self.epoch_length is None and len(self.sets) > 1:
            raise ValueError(f"streams {list(self.sets)}: epoch_length is needed to zip several streams")
        if self.epoch_length in (None, "shortest"):
            return zip(*(self.loader(data, epoch) for data in self.sets.values()))
        if self.epoch_length != "longest":
            raise ValueError(f"epoch_length: unknown value {self.epoch_length!r} ({', '.join(EPOCH_LENGTHS)})")

        def cycled(data: StreamSet) -> Iterator[Any]:
            for cycle in itertools.count():
                yield from self.loader(data, epoch, cycle)

        return itertools.islice(zip(*(cycled(data) for data in self.sets.values())), longest)
