import math

import numpy as np
import pytest

from ncdss_core.evaluation.metrics import (
    error_shares,
    ConfusionMatrix,
    cluster_iou_matrix,
    discovery_scores,
    match_clusters,
    mean_iou,
)


def test_iou_hand_computed_with_ignore():
    gt = np.array([[0, 0, 1, 1], [1, 1, 255, 2]])
    pred = np.array([[0, 1, 1, 1], [1, 0, 2, 2]])
    cm = ConfusionMatrix(3)
    cm.update(gt, pred)
    iou = cm.iou()
    # class 0: tp 1 (0,0); gt0 = 2, pred0 = 2 -> union 3
    assert iou[0] == pytest.approx(1 / 3)
    # class 1: gt1 = 4 pixels, pred1 = 4 (one from gt0) -> tp 3, union 5
    assert iou[1] == pytest.approx(3 / 5)
    # class 2: gt2 = 1, pred2 = 1 (the 255 pixel is ignored) -> 1
    assert iou[2] == pytest.approx(1.0)


def test_accumulates_image_by_image_like_one_big_image():
    rng = np.random.default_rng(0)
    gts = [rng.integers(0, 4, size=(5, 7)) for _ in range(3)]
    preds = [rng.integers(0, 4, size=(5, 7)) for _ in range(3)]
    one = ConfusionMatrix(4)
    for g, p in zip(gts, preds):
        one.update(g, p)
    big = ConfusionMatrix(4)
    big.update(np.concatenate(gts), np.concatenate(preds))
    np.testing.assert_array_equal(one.matrix, big.matrix)


def test_unlabelled_prediction_is_a_miss_or_skipped():
    gt = np.array([1, 1, 1, 1])
    pred = np.array([1, 1, 255, 255])
    miss = ConfusionMatrix(2)
    miss.update(gt, pred)
    assert miss.iou()[1] == pytest.approx(0.5)
    skip = ConfusionMatrix(2)
    skip.update(gt, pred, skip_unlabelled_pred=True)
    assert skip.iou()[1] == pytest.approx(1.0)


def test_empty_class_is_nan_and_skipped_in_mean():
    cm = ConfusionMatrix(3)
    cm.update(np.array([0, 0, 1]), np.array([0, 1, 1]))
    iou = cm.iou()
    assert math.isnan(iou[2])
    assert cm.miou() == pytest.approx((0.5 + 0.5) / 2)
    assert math.isnan(mean_iou(iou, [2]))


def test_hungarian_when_k_equals_novel_count():
    # B = 1 base class, N = 2 novel classes (gt 2, 3), k = 2 clusters (pred 2, 3) swapped.
    gt = np.array([0, 1, 2, 2, 2, 3, 3, 3])
    pred = np.array([0, 1, 3, 3, 3, 2, 2, 2])
    cm = ConfusionMatrix(4, 4)
    cm.update(gt, pred)
    scores = discovery_scores(cm, num_base=1, num_novel=2, k=2)
    assert scores.method == "hungarian"
    assert scores.mapping == [1, 0]
    assert scores.novel_miou == pytest.approx(1.0)
    assert scores.all_miou == pytest.approx(1.0)


def test_hungarian_is_one_to_one_even_when_a_cluster_prefers_the_same_class():
    iou = np.array([[0.9, 0.1], [0.6, 0.2]])
    assert sorted(match_clusters(iou, "hungarian").tolist()) == [0, 1]
    assert match_clusters(iou, "majority").tolist() == [0, 0]


def test_majority_vote_with_over_clustering_and_a_cluster_that_never_appears():
    # B = 1, N = 2, k = 4: clusters 0,1 -> novel class 0; cluster 2 -> novel class 1; cluster 3 unused.
    gt = np.array([2, 2, 2, 2, 3, 3, 3, 0, 1])
    pred = np.array([2, 2, 3, 3, 4, 4, 4, 0, 1])
    cm = ConfusionMatrix(4, 6)
    cm.update(gt, pred)
    m = cluster_iou_matrix(cm.matrix, 1, 2, 4)
    assert m.shape == (4, 2)
    assert m[3].tolist() == [0.0, 0.0]
    scores = discovery_scores(cm, num_base=1, num_novel=2, k=4)
    assert scores.method == "majority"
    assert scores.mapping == [0, 0, 1, 0]  # the absent cluster falls back to the first novel class
    assert scores.novel_miou == pytest.approx(1.0)


def test_matching_ignores_pixels_outside_the_novel_set():
    # A cluster predicted on base ground truth must not sway the matching.
    gt = np.array([1, 1, 1, 1, 1, 2, 3])
    pred = np.array([2, 2, 2, 2, 2, 3, 2])
    cm = ConfusionMatrix(4, 4)
    cm.update(gt, pred)
    scores = discovery_scores(cm, num_base=1, num_novel=2, k=2)
    assert scores.mapping == [1, 0]
    assert scores.iou[1] == pytest.approx(0.0)  # base class 1 entirely mispredicted


def test_shape_mismatch_raises():
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError):
        cm.update(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError):
        discovery_scores(ConfusionMatrix(4, 4), num_base=1, num_novel=2, k=3)


def test_error_shares_split_each_union_into_its_intersection_and_the_six_errors():
    # B = 2 base classes (1, 2), N = 1 novel (3); rows ground truth, columns prediction + "no prediction"
    matrix = np.array([
        [50, 4, 0, 1, 0],   # background: 4 called base 1, 1 called novel
        [3, 10, 2, 5, 0],   # base 1: 3 missed as bg, 2 as base 2, 5 as novel
        [0, 6, 20, 0, 4],   # base 2: 6 called base 1; 4 without prediction
        [1, 1, 0, 8, 0],    # novel
    ])
    # base 1: union = 20 + (4 + 10 + 6 + 1) - 10 = 31
    shares = error_shares(matrix, 2, [1])
    expected = {"iou": 10, "missed_as_background": 3, "missed_as_base": 2, "missed_as_novel": 5,
                "false_on_background": 4, "false_on_base": 6, "false_on_novel": 1}
    assert shares == pytest.approx({key: v / 31 for key, v in expected.items()})
    assert sum(shares.values()) == pytest.approx(1.0)
    # base 2's union (30 + 22 - 20 = 32) holds 4 pixels without prediction: its shares sum to 28/32
    assert sum(error_shares(matrix, 2, [2]).values()) == pytest.approx(28 / 32)
    # the mean over classes; a class absent from ground truth and prediction is skipped
    both = error_shares(matrix, 2, [1, 2])
    assert both["iou"] == pytest.approx((10 / 31 + 20 / 32) / 2)
    empty = np.zeros((5, 6), dtype=np.int64)  # a second novel class (4) that nothing holds
    empty[:4, :4], empty[:4, 5] = matrix[:, :4], matrix[:, 4]
    assert error_shares(empty, 2, [1, 4])["iou"] == pytest.approx(10 / 31)
    assert math.isnan(error_shares(empty, 2, [4])["iou"])


def test_fewer_clusters_than_novel_classes_leave_the_unmatched_classes_at_iou_0():
    # B = 1, N = 3 novel classes (gt 2, 3, 4), k = 2 clusters (pred 2, 3): class 4 gets no cluster
    gt = np.array([0, 1, 2, 2, 3, 3, 4, 4])
    pred = np.array([0, 1, 3, 3, 2, 2, 2, 2])
    cm = ConfusionMatrix(5, 4)
    cm.update(gt, pred)
    scores = discovery_scores(cm, num_base=1, num_novel=3, k=2)
    assert scores.method == "hungarian" and len(scores.mapping) == 2
    assert len(set(scores.mapping)) == 2  # one-to-one
    iou = scores.iou[2:5]
    assert iou.count(0.0) >= 1  # the unmatched class counts, with IoU 0, not skipped as absent
    assert scores.novel_miou == pytest.approx(sum(iou) / 3)
    # cluster 1 (pred 3) is class 2, cluster 0 (pred 2) covers classes 3 and 4: one of them matched
    assert scores.mapping[1] == 0 and iou[0] == pytest.approx(1.0)
    assert scores.novel_miou == pytest.approx((1.0 + 0.5 + 0.0) / 3)


def test_more_clusters_than_novel_classes_merge_by_majority():
    # B = 1, N = 2, k = 5: clusters 0, 1, 2 -> class 0; clusters 3, 4 -> class 1
    gt = np.array([2, 2, 2, 3, 3, 1, 0])
    pred = np.array([2, 3, 4, 5, 6, 1, 0])
    cm = ConfusionMatrix(4, 7)
    cm.update(gt, pred)
    scores = discovery_scores(cm, num_base=1, num_novel=2, k=5)
    assert scores.method == "majority" and scores.mapping == [0, 0, 0, 1, 1]
    assert scores.novel_miou == pytest.approx(1.0)
