import numpy as np

from ncdss_core.weak.seed_eval import SeedScore, ground_truth_for, tables


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
