"""The dataset generator (tiny size only, so the tests stay fast)."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ncdss_core.data import generated
from ncdss_core.data.generated import composition
from ncdss_core.data.datasets import open_dataset, scan
from ncdss_core.data.folds import VOC_CLASSES, novel_classes
from ncdss_core.data.files import read_grey_png, read_ids, read_label_png

FOLDERS = ("images", "SegmentationClassAug", "SegmentationClass", "saliency_supervised_model", "Annotations")
EXT = {"images": "jpg", "Annotations": "xml"}


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def objects(root: Path, image_id: str) -> list[tuple[int, bool]]:
    """(class id, difficult) of every object of an annotation."""
    tree = ET.parse(root / "Annotations" / f"{image_id}.xml").getroot()
    return [(VOC_CLASSES.index(o.findtext("name")) + 1, o.findtext("difficult") == "1")
            for o in tree.iter("object")]


def all_ids(root: Path) -> dict[str, list[str]]:
    return {split: read_ids(root / "sets" / f"{split}.txt") for split in ("trainaug", "val")}


@pytest.fixture(scope="module")
def second_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bm_again") / "tiny"
    generated.generate(root, size="tiny", seed=0)
    return root


def test_same_seed_same_bytes_other_seed_other_bytes(tiny_dataset, second_run, tmp_path):
    first = digests(tiny_dataset)
    assert first == digests(second_run)
    other = tmp_path / "seed1"
    generated.generate(other, size="tiny", seed=1)
    second = digests(other)
    assert set(first) != set() and first != second
    changed = [k for k in first if k.startswith("images/") and first[k] != second.get(k)]
    assert len(changed) > 0.9 * sum(k.startswith("images/") for k in first)


def test_layout_is_complete(tiny_dataset):
    ids = all_ids(tiny_dataset)
    n_train, n_val = generated.SIZES["tiny"]
    assert len(ids["trainaug"]) == n_train and len(ids["val"]) == n_val
    assert not set(ids["trainaug"]) & set(ids["val"])
    every = ids["trainaug"] + ids["val"]
    assert all(i.startswith("bm_") and len(i) == 9 for i in every)
    for folder in FOLDERS:
        names = sorted(p.name for p in (tiny_dataset / folder).iterdir())
        assert names == sorted(f"{i}.{EXT.get(folder, 'png')}" for i in every), folder
    summary = json.loads((tiny_dataset / "generated.json").read_text())
    assert summary["version"] == generated.GENERATOR_VERSION
    assert summary["size"] == "tiny" and summary["seed"] == 0
    assert summary["n_trainaug"] == n_train and summary["n_val"] == n_val
    # nothing half-written is left next to the dataset
    assert [p.name for p in tiny_dataset.parent.iterdir()] == ["tiny"]
    problems, _ = scan(open_dataset("generated", tiny_dataset))
    assert problems == []


def test_labels_images_and_saliency_agree(tiny_dataset):
    non_square = 0
    band_seen = soft_seen = False
    for split, ids in all_ids(tiny_dataset).items():
        for image_id in ids:
            with Image.open(tiny_dataset / "images" / f"{image_id}.jpg") as image:
                assert image.mode == "RGB" and image.format == "JPEG"
                w, h = image.size
            assert 96 <= w <= 160 and 96 <= h <= 160
            non_square += w != h
            aug = read_label_png(tiny_dataset / "SegmentationClassAug" / f"{image_id}.png")
            plain = read_label_png(tiny_dataset / "SegmentationClass" / f"{image_id}.png")
            with Image.open(tiny_dataset / "SegmentationClassAug" / f"{image_id}.png") as png:
                assert png.mode == "P"
            assert aug.shape == (h, w) and np.array_equal(aug, plain)
            values = set(np.unique(aug).tolist())
            assert values <= set(range(21)) | {255}
            band_seen |= 255 in values
            sal = read_grey_png(tiny_dataset / "saliency_supervised_model" / f"{image_id}.png")
            assert sal.shape == (h, w)
            soft_seen |= bool(((sal > 0) & (sal < 255)).any())
            size = ET.parse(tiny_dataset / "Annotations" / f"{image_id}.xml").getroot().find("size")
            assert (int(size.findtext("width")), int(size.findtext("height")), size.findtext("depth")) == (w, h, "3")
    total = sum(len(v) for v in all_ids(tiny_dataset).values())
    assert non_square > 0.9 * total
    assert band_seen and soft_seen


def test_annotations_match_label_maps(tiny_dataset):
    ds = open_dataset("generated", tiny_dataset)
    for split, ids in all_ids(tiny_dataset).items():
        for image_id in ids:
            label = read_label_png(tiny_dataset / "SegmentationClassAug" / f"{image_id}.png")
            in_map = {int(v) for v in np.unique(label) if 1 <= v <= 20}
            objs = objects(tiny_dataset, image_id)
            assert objs, image_id
            easy = {c for c, difficult in objs if not difficult}
            everything = {c for c, _ in objs}
            # every annotated object is visible in the label map, and nothing else is there
            assert in_map == everything, image_id
            # classes missing from the non-difficult set are difficult-only classes
            assert easy <= in_map
            assert ds.image_labels(image_id, split) == sorted(easy or everything)
            for obj in ET.parse(tiny_dataset / "Annotations" / f"{image_id}.xml").getroot().iter("object"):
                box = [int(obj.find("bndbox").findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")]
                assert 1 <= box[0] <= box[2] <= label.shape[1] and 1 <= box[1] <= box[3] <= label.shape[0]


def test_single_and_multi_label_images_and_fold_splits(tiny_dataset):
    train = read_ids(tiny_dataset / "sets" / "trainaug.txt")
    present = {i: {c for c, _ in objects(tiny_dataset, i)} for i in train}
    single = sum(len(v) == 1 for v in present.values())
    multi = sum(len(v) > 1 for v in present.values())
    assert single >= 0.25 * len(train) and multi >= 0.25 * len(train)
    for fold in range(4):
        novel = set(novel_classes("voc", fold))
        with_novel = [i for i, v in present.items() if v & novel]
        base_only = [i for i, v in present.items() if not v & novel]
        assert len(with_novel) >= 5 and len(base_only) >= 5
        # novel objects beside base objects in the same image
        assert any(present[i] - novel for i in with_novel)
    # every class occurs in the training images
    assert set().union(*present.values()) == set(range(1, 21))


def test_summary_counts(tiny_dataset):
    summary = json.loads((tiny_dataset / "generated.json").read_text())
    train = read_ids(tiny_dataset / "sets" / "trainaug.txt")
    for cid, name in enumerate(VOC_CLASSES, start=1):
        n = sum(cid in {c for c, _ in objects(tiny_dataset, i)} for i in train)
        assert summary["classes"][name]["trainaug"] == n
    split = summary["splits"]["trainaug"]
    assert split["single_label"] + split["multi_label"] == len(train)


def test_refuses_non_empty_root_and_accepts_empty_one(tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generated.generate(busy, size="tiny", seed=0)
    assert (busy / "keep.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="size"):
        generated.generate(tmp_path / "x", size="huge", seed=0)


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = composition.make_image

    def failing(rng, primary):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real(rng, primary)

    monkeypatch.setattr(composition, "make_image", failing)
    with pytest.raises(KeyboardInterrupt):
        generated.generate(tmp_path / "bm", size="tiny", seed=0)
    assert calls["n"] == 6  # the replacement was the one called
    assert list(tmp_path.iterdir()) == []


def test_every_fold_group_has_five_families():
    family = {spec.id: spec.family for spec in generated.CLASSES}
    assert set(family.values()) == set(generated.FAMILIES)
    for fold in range(5):
        assert len({family[c] for c in novel_classes("voc", fold)}) == 5
    parts = {(spec.part_shape, spec.part_colour) for spec in generated.CLASSES}
    assert len(parts) == 20


def test_objects_cover_about_a_quarter_of_an_image_like_voc(tiny_dataset):
    """VOC-like object scale (docs/generated_dataset.md): version 1 covered ~13 %, which left
    ICD's zero-threshold discriminator with mostly background on the object side."""
    coverage = []
    for image_id in all_ids(tiny_dataset)["trainaug"]:
        label = read_label_png(tiny_dataset / "SegmentationClassAug" / f"{image_id}.png")
        coverage.append(((label > 0) & (label != 255)).mean())
    assert 0.18 < float(np.mean(coverage)) < 0.35
