import numpy as np
import pytest
from PIL import Image

from ncdss_core.data.datasets import DatasetError, open_dataset, parse_voc_annotation, scan
from ncdss_core.data.folds import VOC_CLASSES
from ncdss_core.data.files import write_label_png


def test_voc_reader_reads_images_labels_and_annotation_labels(small_voc):
    ds = open_dataset("voc", small_voc)
    assert len(ds.ids("trainaug")) == 24 and len(ds.ids("val")) == 8
    image = ds.read_image("tr_000")
    label = ds.read_label("tr_000")
    assert image.dtype == np.uint8 and image.shape[2] == 3
    assert label.shape == image.shape[:2]
    # tr_000 holds class 1 and, as every third image, class 8
    assert ds.image_labels("tr_000") == [1, 8]
    assert ds.image_labels("tr_001") == [2]


def test_image_labels_fall_back_to_label_maps_without_annotations(tmp_path):
    from conftest import make_voc_dataset

    root = make_voc_dataset(tmp_path / "noann", annotations=False)
    ds = open_dataset("voc", root)
    assert ds.image_labels("tr_003") == [4, 11]


def test_annotation_difficult_objects_are_skipped_unless_alone(tmp_path):
    xml = tmp_path / "a.xml"
    xml.write_text("<annotation><object><name>cat</name><difficult>0</difficult></object>"
                   "<object><name>dog</name><difficult>1</difficult></object></annotation>")
    assert parse_voc_annotation(xml, VOC_CLASSES) == [8]
    xml.write_text("<annotation><object><name>dog</name><difficult>1</difficult></object></annotation>")
    assert parse_voc_annotation(xml, VOC_CLASSES) == [12]
    xml.write_text("<annotation><object><name>unicorn</name></object></annotation>")
    with pytest.raises(DatasetError, match="unicorn"):
        parse_voc_annotation(xml, VOC_CLASSES)


def test_missing_root_names_the_key(tmp_path):
    with pytest.raises(DatasetError, match="dataset.root"):
        open_dataset("voc", tmp_path / "nowhere")


def test_scan_clean_dataset_reports_nothing(small_voc):
    problems, summary = scan(open_dataset("voc", small_voc))
    assert problems == []
    assert summary["splits"]["trainaug"]["images"] == 24


def test_scan_reports_each_broken_file(small_voc):
    # truncated image
    jpg = small_voc / "images" / "tr_001.jpg"
    jpg.write_bytes(jpg.read_bytes()[: len(jpg.read_bytes()) // 2])
    # missing label map
    (small_voc / "SegmentationClassAug" / "tr_002.png").unlink()
    # label value that is neither a class nor 255
    image = Image.open(small_voc / "images" / "tr_004.jpg")
    bad = np.zeros((image.height, image.width), dtype=np.uint8)
    bad[0, 0] = 77
    write_label_png(small_voc / "SegmentationClassAug" / "tr_004.png", bad)
    # size mismatch
    write_label_png(small_voc / "SegmentationClassAug" / "tr_005.png", np.zeros((3, 3), dtype=np.uint8))
    # id listed with no files at all
    with open(small_voc / "sets" / "trainaug.txt", "a") as handle:
        handle.write("ghost\n")
    problems, _ = scan(open_dataset("voc", small_voc))
    text = "\n".join(map(str, problems))
    assert "tr_001.jpg: unreadable or truncated image" in text
    assert "tr_002.png: label map is missing" in text
    assert "tr_004.png: label values [77]" in text
    assert "tr_005.png: size 3x3 differs" in text
    assert "ghost.jpg: image file is missing" in text and "ghost.png: label map is missing" in text
    assert len(problems) == 6


def test_coco_layout(tmp_path):
    root = tmp_path / "coco"
    for split in ("train2014", "val2014"):
        (root / split).mkdir(parents=True)
        (root / f"masks_{split}").mkdir()
        ids = [f"COCO_{split}_{i:012d}" for i in range(3)]
        for i, image_id in enumerate(ids):
            Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8)).save(root / split / f"{image_id}.jpg")
            mask = np.zeros((20, 30), dtype=np.uint8)
            mask[5:10, 5:10] = 21 + i * 20
            Image.fromarray(mask).save(root / f"masks_{split}" / f"{image_id}.png")
        (root / f"{split}.txt").write_text("\n".join(ids) + "\n")
    ds = open_dataset("coco", root)
    assert ds.num_classes == 80
    assert ds.image_labels("COCO_train2014_000000000002") == [61]
    assert ds.read_label("COCO_val2014_000000000001", "val").max() == 41
    problems, _ = scan(ds)
    assert problems == []
