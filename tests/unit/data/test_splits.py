from ncdss_core.data.index import build_index, write_index, class_presence
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.folds import base_classes, label_space, novel_classes
from ncdss_core.data.splits import build_fold_lists, selection_ids, write_fold_lists
from ncdss_core.data.files import read_ids


def _lists(root, tmp_path, fold):
    ds = open_dataset("voc", root)
    write_index(tmp_path / "index.csv", build_index(ds))
    train = class_presence(tmp_path / "index.csv", "trainaug")
    val = class_presence(tmp_path / "index.csv", "val")
    return ds, train, val, build_fold_lists("voc", fold, {**train, **val}, list(train), list(val), 0.1, 7)


def test_defining_properties_hold_for_every_fold(small_voc, tmp_path):
    for fold in range(5):
        ds, train, val, lists = _lists(small_voc, tmp_path, fold)
        novel = set(novel_classes("voc", fold))
        base = set(base_classes("voc", fold))
        held = set(lists["select"])
        rest = set(train) - held
        # base-only and novel partition trainaug minus the held-out selection split
        assert set(lists["base"]) | set(lists["novel"]) == rest
        assert not set(lists["base"]) & set(lists["novel"])
        assert not held & (set(lists["base_train"]) | set(lists["base"]) | set(lists["novel"]))
        for image_id in lists["base"]:  # base-only images hold no novel pixel
            assert not set(ds.read_label(image_id).ravel().tolist()) & novel
        for image_id in lists["novel"]:  # every novel image holds one
            assert set(ds.read_label(image_id).ravel().tolist()) & novel
        for image_id in lists["base_train"]:
            assert set(train[image_id]) & base
        assert set(lists["base_val"]) <= set(val)
        assert set(lists["select_base"]) <= held


def test_selection_split_is_seeded_and_order_free():
    ids = [f"id{i}" for i in range(100)]
    a = selection_ids(ids, 0.1, seed=3)
    assert len(a) == 10
    assert a == selection_ids(list(reversed(ids)), 0.1, seed=3)
    assert a != selection_ids(ids, 0.1, seed=4)


def test_write_fold_lists(small_voc, tmp_path):
    _, _, _, lists = _lists(small_voc, tmp_path, 0)
    counts = write_fold_lists(tmp_path / "fold0", lists)
    assert read_ids(tmp_path / "fold0" / "novel.txt") == lists["novel"]
    assert counts["novel"] == len(lists["novel"]) > 0


def test_label_space_counts_base_and_novel_classes():
    assert label_space("voc", 0) == (15, 5) and label_space("generated", 4) == (15, 5)
    assert label_space("coco", 3) == (60, 20)


def test_coco_folds_use_contiguous_blocks_of_twenty():
    classes = {"a": [1, 30], "b": [25], "c": [61, 79], "d": [5]}
    lists = build_fold_lists("coco", 1, classes, ["a", "b", "c", "d"], [], 0.3, 0)
    held = set(lists["select"])
    novel = {i for i in "abcd" if i not in held and set(classes[i]) & set(range(21, 41))}
    assert set(lists["novel"]) == novel
    assert set(lists["base"]) == {i for i in "abcd" if i not in held} - novel


def test_class_presence_from_image_labels_or_label_maps(tmp_path):
    from conftest import make_voc_dataset

    root = make_voc_dataset(tmp_path / "voc")
    # an annotation that omits the second object: image-level labels differ from the label map
    xml = root / "Annotations" / "tr_000.xml"
    xml.write_text(xml.read_text().split("</object>")[0] + "</object></annotation>")
    write_index(tmp_path / "index.csv", build_index(open_dataset("voc", root)))
    assert class_presence(tmp_path / "index.csv", "trainaug")["tr_000"] == [1, 8]
    assert class_presence(tmp_path / "index.csv", "trainaug", "image_labels")["tr_000"] == [1]
