"""The array store of one split: every image, label map and saliency map of the split decoded
once into an HDF5 file, so that a training reads arrays instead of decoding JPEG and PNG files
every epoch.

Format (`arrays.h5` in the store directory): one dataset per array, `image/<id>` (h, w, 3),
`label/<id>` (h, w) and, where the dataset has one, `saliency/<id>` (h, w), all uint8, each stored
as a single uncompressed chunk (the sizes vary per image; one chunk is one read). Uncompressed
because decompressing costs what decoding the JPEG does: on 500 x 375 images an uncompressed read
takes 0.4 ms, a gzip-1 one 3.1 ms, an lzf one 3.7 ms, the JPEG decode 3.2 ms (about 0.57 MB per
image on disk, 6 GB for VOC trainaug). The attributes hold the dataset kind and the split. No timestamps and a fixed write order: the same dataset gives the
same bytes.

The arrays are exactly what the dataset's readers return (labels as `read_label(id, split)` reads
them for that split), so a training gives the same bytes with the store or without it.
`StoredDataset` is the dataset seen through its stores: the same interface, the splits that have
a store read from it, the others from the files. Handles are opened lazily in the process that
reads (HDF5 handles must not cross a fork into DataLoader workers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ncdss_core.io.hdf5 import LazyFile, create_file, write_array
from ncdss_core.runtime import get_logger, progress

STORE_FILE = "arrays.h5"
KINDS = ("image", "label", "saliency")


def write_store(dataset: Any, ids: Sequence[str], path: str | os.PathLike, split: str) -> dict[str, Any]:
    """Decode the images, label maps (as read for `split`) and saliency maps of `ids` into the
    store file `path`; returns counts and bytes for the provenance record."""
    path = Path(path)
    counts = dict.fromkeys(KINDS, 0)
    with create_file(path) as handle:
        handle.attrs["kind"] = dataset.kind
        handle.attrs["split"] = split
        for image_id in progress(ids, len(ids), "array store", get_logger("store"), every_seconds=30):
            arrays = {"image": dataset.read_image(image_id, split),
                      "label": dataset.read_label(image_id, split)}
            if dataset.has_saliency(image_id):
                arrays["saliency"] = dataset.read_saliency(image_id)
            for kind, array in arrays.items():
                array = np.ascontiguousarray(array, dtype=np.uint8)
                write_array(handle, f"{kind}/{image_id}", array, gzip=False)
                counts[kind] += 1
    return {"images": counts["image"], "labels": counts["label"], "saliency_maps": counts["saliency"],
            "bytes": path.stat().st_size}


class ArrayStore:
    """Reader of one store file: `read_image(id)`, `read_label(id)`, `read_saliency(id)`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if self.path.is_dir():
            self.path = self.path / STORE_FILE
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no array store here")
        self._file = LazyFile(self.path)

    @property
    def split(self) -> str:
        return str(self._file.handle().attrs["split"])

    @property
    def kind(self) -> str:
        return str(self._file.handle().attrs["kind"])

    def _read(self, kind: str, image_id: str) -> np.ndarray:
        try:
            dataset = self._file.handle()[f"{kind}/{image_id}"]
        except KeyError:
            raise KeyError(f"{self.path}: no {kind} of image {image_id!r} in this store "
                           f"(split {self.split})") from None
        return dataset[()]

    def read_image(self, image_id: str) -> np.ndarray:
        return self._read("image", image_id)

    def read_label(self, image_id: str) -> np.ndarray:
        return self._read("label", image_id)

    def read_saliency(self, image_id: str) -> np.ndarray:
        return self._read("saliency", image_id)

    def has_saliency(self, image_id: str) -> bool:
        group = self._file.handle().get("saliency")
        return group is not None and image_id in group

    def ids(self) -> list[str]:
        return sorted(self._file.handle()["image"].keys())


class StoredDataset:
    """A dataset read through the array stores of some of its splits: `read_image(id, split)` and
    `read_label(id, split)` come from the split's store when it has one, from the files otherwise;
    saliency (which has no split) from the first store that holds the image. Everything else (kind,
    class names, ids, image labels) is the dataset's own."""

    def __init__(self, dataset: Any, stores: Mapping[str, ArrayStore]):
        for split, store in stores.items():
            if store.split != split or store.kind != dataset.kind:
                raise ValueError(f"{store.path} holds split {store.split} of a {store.kind} dataset, "
                                 f"not split {split} of this {dataset.kind} dataset")
        self.dataset, self.stores = dataset, dict(stores)

    def __getattr__(self, name: str) -> Any:
        dataset = self.__dict__.get("dataset")  # absent while unpickling
        if dataset is None:
            raise AttributeError(name)
        return getattr(dataset, name)

    def read_image(self, image_id: str, split: str = "trainaug") -> np.ndarray:
        store = self.stores.get(split)
        return store.read_image(image_id) if store is not None else self.dataset.read_image(image_id, split)

    def read_label(self, image_id: str, split: str = "trainaug") -> np.ndarray:
        store = self.stores.get(split)
        return store.read_label(image_id) if store is not None else self.dataset.read_label(image_id, split)

    def has_saliency(self, image_id: str) -> bool:
        return any(store.has_saliency(image_id) for store in self.stores.values()) or \
            self.dataset.has_saliency(image_id)

    def read_saliency(self, image_id: str) -> np.ndarray:
        for store in self.stores.values():
            if store.has_saliency(image_id):
                return store.read_saliency(image_id)
        return self.dataset.read_saliency(image_id)


def with_stores(dataset: Any, store_dirs: Sequence[str | os.PathLike]) -> Any:
    """`dataset` read through the stores in `store_dirs` (none: the dataset itself)."""
    if not store_dirs:
        return dataset
    stores = [ArrayStore(d) for d in store_dirs]
    return StoredDataset(dataset, {store.split: store for store in stores})
