"""The array store: the arrays the dataset's readers return, decoded once; the same bytes on a
rewrite; read through `StoredDataset` by the trainings, also from forked and spawned workers; a
training reads the same numbers with and without it."""

import pickle

import numpy as np
import pytest
import torch
from ncdss_fixtures import make_voc_dataset
from torch.utils.data import DataLoader, Dataset

from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.labels import base_label_reader, image_reader
from ncdss_core.data.store import STORE_FILE, ArrayStore, StoredDataset, with_stores, write_store
from ncdss_core.data.train_samples import SegTrainSet


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    dataset = open_dataset("voc", make_voc_dataset(root / "voc", n_train=10, n_val=4))
    # val labels differ from trainaug ones (SegmentationClass vs SegmentationClassAug): the store
    # must hold what the split reads
    first_val = dataset.ids("val")[0]
    label = dataset.read_label(first_val, "val")
    from ncdss_core.data.files import write_label_png
    write_label_png(root / "voc" / "SegmentationClass" / f"{first_val}.png", np.where(label > 0, 255, 0))
    metrics = {}
    for split in ("trainaug", "val"):
        (root / split).mkdir()
        metrics[split] = write_store(dataset, dataset.ids(split), root / split / STORE_FILE, split)
    return dataset, root, metrics


def test_the_store_holds_what_the_readers_return(stored):
    dataset, root, metrics = stored
    assert metrics["trainaug"]["images"] == 10 and metrics["trainaug"]["saliency_maps"] == 10
    for split in ("trainaug", "val"):
        store = ArrayStore(root / split)  # the directory or the file
        assert store.split == split and store.kind == "voc" and store.ids() == sorted(dataset.ids(split))
        for image_id in dataset.ids(split):
            assert np.array_equal(store.read_image(image_id), dataset.read_image(image_id, split))
            assert np.array_equal(store.read_label(image_id), dataset.read_label(image_id, split))
            assert np.array_equal(store.read_saliency(image_id), dataset.read_saliency(image_id))
            assert store.read_image(image_id).dtype == np.uint8
    val_id = dataset.ids("val")[0]
    assert not np.array_equal(ArrayStore(root / "val").read_label(val_id),
                              dataset.read_label(val_id, "trainaug"))
    with pytest.raises(KeyError, match="no image of image 'nope'.*split trainaug"):
        ArrayStore(root / "trainaug").read_image("nope")


def test_a_rewrite_gives_the_same_bytes(stored, tmp_path):
    dataset, root, _ = stored
    write_store(dataset, dataset.ids("trainaug"), tmp_path / "again.h5", "trainaug")
    assert (tmp_path / "again.h5").read_bytes() == (root / "trainaug" / STORE_FILE).read_bytes()


def test_the_stored_dataset_reads_stored_splits_from_the_store_and_the_rest_from_files(stored, monkeypatch):
    dataset, root, _ = stored
    through = with_stores(dataset, [root / "trainaug"])
    assert isinstance(through, StoredDataset) and with_stores(dataset, []) is dataset
    assert through.kind == "voc" and through.num_classes == dataset.num_classes
    assert through.ids("val") == dataset.ids("val")
    train_id, val_id = dataset.ids("trainaug")[0], dataset.ids("val")[0]
    expected = dataset.read_image(train_id), dataset.read_label(val_id, "val")
    monkeypatch.setattr(type(dataset), "read_image", lambda *a: pytest.fail("decoded a stored image"))
    assert np.array_equal(through.read_image(train_id), expected[0])
    assert np.array_equal(through.read_label(val_id, "val"), expected[1])  # val: no store given
    with pytest.raises(ValueError, match="holds split val"):
        StoredDataset(dataset, {"trainaug": ArrayStore(root / "val")})


class _Images(Dataset):
    def __init__(self, read, ids):
        self.read, self.ids = read, ids

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        return torch.from_numpy(self.read(self.ids[index]).astype(np.int64)).sum()


@pytest.mark.parametrize("context, workers", [("fork", 2), ("spawn", 1)])
def test_workers_read_the_store_with_handles_of_their_own(stored, context, workers):
    dataset, root, _ = stored
    through = with_stores(dataset, [root / "trainaug"])
    ids = list(dataset.ids("trainaug"))
    through.read_image(ids[0])  # the parent's handle is open before the workers start
    reader = image_reader(through)
    expected = [int(dataset.read_image(i).astype(np.int64).sum()) for i in ids]
    loader = DataLoader(_Images(reader, ids), batch_size=3, num_workers=workers,
                        multiprocessing_context=context)
    assert torch.cat(list(loader)).tolist() == expected
    assert np.array_equal(pickle.loads(pickle.dumps(reader))(ids[1]), dataset.read_image(ids[1]))


def test_training_samples_are_the_same_bytes_with_and_without_the_store(stored):
    dataset, root, _ = stored
    through = with_stores(dataset, [root / "trainaug"])
    ids = list(dataset.ids("trainaug"))
    plain = SegTrainSet(ids, image_reader(dataset), base_label_reader(dataset, 0, "full"), 32, 3, 0)
    store = SegTrainSet(ids, image_reader(through), base_label_reader(through, 0, "full"), 32, 3, 0)
    for index in range(len(ids)):
        a, b = plain[index], store[index]
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])


def test_a_rule_with_a_store_input_reads_its_dataset_through_the_store(stored, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from snakemake.iocontainers import Namedlist

    from ncdss_core.data.index import index_dataset
    from ncdss_core.provenance.record import write_provenance
    from ncdss_core.runtime import setup_logging
    from ncdss_core.stage import Stage

    dataset, root, _ = stored
    index = tmp_path / "dataset"
    index.mkdir()
    index_dataset(dataset, index)
    write_provenance(index, stage="index_dataset", params={}, inputs={})

    def stage_with(**inputs):
        named = Namedlist()
        for position, (name, value) in enumerate(inputs.items()):
            named.append(value)
            named._set_name(name, position)
        return Stage(SimpleNamespace(input=named, params=Namedlist(), wildcards=Namedlist(),
                                     output=Namedlist([str(tmp_path / "out")]), log=Namedlist(),
                                     threads=torch.get_num_threads(), rule="demo"))

    try:
        assert not isinstance(stage_with(dataset=str(index)).dataset(), StoredDataset)
        through = stage_with(dataset=str(index), store=str(root / "trainaug")).dataset()
    finally:
        setup_logging()
    assert isinstance(through, StoredDataset) and through.root == dataset.root
    image_id = dataset.ids("trainaug")[2]
    expected = dataset.read_image(image_id)
    monkeypatch.setattr(type(dataset), "read_image", lambda *a: pytest.fail("decoded a stored image"))
    assert np.array_equal(through.read_image(image_id), expected)
