"""Which images and labels the ICD stages see, read from the dataset index."""

import pytest

from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import write_ids
from ncdss_core.data.folds import base_classes
from ncdss_core.data.index import index_dataset
from ncdss_core.weak.images import fold_images, output_classes


@pytest.fixture
def index(small_voc, tmp_path):
    out = tmp_path / "dataset"
    out.mkdir()
    index_dataset(open_dataset("voc", small_voc), out)
    return out


def test_mode_all_sees_every_trainaug_image_with_its_labels(index, small_voc):
    ids, labels = fold_images(index, "all", [])
    dataset = open_dataset("voc", small_voc)
    assert ids == list(dataset.ids("trainaug"))
    assert labels["tr_000"] == dataset.image_labels("tr_000") and "va_000" not in labels


def test_mode_base_sees_the_fold_list(index, tmp_path):
    splits = tmp_path / "splits"
    write_ids(splits / "base_train.txt", ["tr_007", "tr_003"])
    ids, labels = fold_images(index, "base", [splits])
    assert ids == ["tr_007", "tr_003"] and len(labels) == 24
    with pytest.raises(ValueError, match="needs the fold's splits"):
        fold_images(index, "base", [])


def test_output_classes_and_mode_must_agree_with_the_fold():
    assert output_classes("voc", "all", "all") == list(range(1, 21))
    assert output_classes("voc", "base", "2") == base_classes("voc", 2)
    with pytest.raises(ValueError, match="weak.mode all and fold '0' do not match"):
        output_classes("voc", "all", "0")
    with pytest.raises(ValueError, match="weak.mode base and fold 'all' do not match"):
        output_classes("voc", "base", "all")
