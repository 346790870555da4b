import json

import numpy as np

from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import write_label_png
from ncdss_core.data.folds import novel_classes
from ncdss_core.weak.seed_eval import SeedScore, evaluate_seeds, ground_truth_for, tables


def test_hand_computed_iou_both_protocols():
    gt = np.array([[0, 0, 1, 1],
                   [0, 0, 1, 255]], np.uint8)
    pred = np.array([[0, 1, 1, 255],
                     [0, 0, 1, 1]], np.uint8)
    score = SeedScore(2)
    score.update(gt, pred)
    s = score.summary([0, 1])
    # icd protocol skips the pred-255 pixel: bg tp 3 / union 4; class 1 tp 2 / union 3
    assert abs(s["iou"][0] - 3 / 4) < 1e-12 and abs(s["iou"][1] - 2 / 3) < 1e-12
    assert abs(s["miou"] - (3 / 4 + 2 / 3) / 2) < 1e-12
    # strict: the missed class-1 pixel is a false negative: class 1 tp 2 / union 4
    assert abs(s["iou_strict"][1] - 2 / 4) < 1e-12
    assert abs(s["coverage"] - 6 / 7) < 1e-12


def test_novel_pixels_become_background():
    labels = np.array([[0, 3, 5, 255]], np.uint8)
    assert ground_truth_for(labels, [5]).tolist() == [[0, 3, 0, 255]]
    assert ground_truth_for(labels, []).tolist() == labels.tolist()


def test_tables():
    rows = [{"variant": "icd", "crf": True, "images": 2, "miou": 0.5, "miou_strict": 0.4, "coverage": 0.9,
             "iou": {0: 0.6, 1: 0.4}}]
    csv, md = tables(rows, {0: "background", 1: "aeroplane"})
    assert csv.splitlines()[1] == "icd,yes,2,50.00,40.00,90.00,60.00,40.00"
    assert "| icd | yes |" in md and "aeroplane" in md


def test_evaluate_seeds_scores_each_variant_from_its_own_shards(small_voc, tmp_path):
    """Perfect ICD seeds (the ground truth, novel pixels as background), all-background CAM seeds
    and an ICD CRF shard that lost one image's objects: the scores say so, variant by variant."""
    dataset = open_dataset("voc", small_voc)
    novel = novel_classes("voc", 0)
    ids = list(dataset.ids("trainaug"))[:6]
    damaged = next(i for i in ids[3:] if set(dataset.image_labels(i)) - set(novel))  # holds a base class
    dirs = {}
    for stage in ("seeds", "crf"):
        for variant in ("cam", "icd"):
            for shard, shard_ids in (("000", ids[:3]), ("001", ids[3:])):
                directory = tmp_path / stage / variant / shard
                directory.mkdir(parents=True)
                dirs.setdefault(stage, []).append(directory)
                for image_id in shard_ids:
                    truth = ground_truth_for(dataset.read_label(image_id), novel)
                    seed = truth if variant == "icd" else np.zeros_like(truth)
                    if stage == "crf" and variant == "icd" and image_id == damaged:
                        seed = np.zeros_like(truth)
                    write_label_png(directory / f"{image_id}.png", seed)
    out = tmp_path / "eval"
    out.mkdir()
    metrics = evaluate_seeds(dataset, "base", "0", ["cam", "icd"], dirs["seeds"], dirs["crf"], out)
    assert set(metrics) == {"cam_miou", "cam_crf_miou", "icd_miou", "icd_crf_miou"}
    assert metrics["icd_miou"] == 1.0 > metrics["icd_crf_miou"] > metrics["cam_miou"]
    rows = json.loads((out / "seed_eval.json").read_text())
    assert [(r["variant"], r["crf"], r["images"]) for r in rows] == [
        ("cam", False, 6), ("cam", True, 6), ("icd", False, 6), ("icd", True, 6)]
    assert all(int(c) not in novel for r in rows for c in r["iou"])  # novel classes are not scored
    assert (out / "seed_eval.csv").read_text().splitlines()[0].startswith("variant,crf,images,miou")
    assert "| icd | no | 6 | 100.00 |" in (out / "seed_eval.md").read_text()
