"""Confusion-matrix metrics and cluster-to-class matching (reference ncdss.md §7).

Everything is computed from confusion matrices accumulated image by image, so memory stays flat
however large the evaluation set: one (classes x predictions) integer matrix, never per-pixel arrays
of the whole dataset. Cluster-to-class matching needs nothing more than that matrix either: the
novel-ground-truth rows and novel-cluster columns hold exactly the pixel set S of §7.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ncdss_core.data.folds import IGNORE


class ConfusionMatrix:
    """Rows: ground-truth classes 0..n_gt-1. Columns: predicted classes 0..n_pred-1, plus a last
    column for "no prediction" (prediction 255 or out of range), which counts as a miss for the
    ground-truth class. Ground truth 255 (or out of range) is ignored."""

    def __init__(self, n_gt: int, n_pred: int | None = None):
        self.n_gt = int(n_gt)
        self.n_pred = int(n_pred if n_pred is not None else n_gt)
        self.matrix = np.zeros((self.n_gt, self.n_pred + 1), dtype=np.int64)

    def update(self, gt: np.ndarray, pred: np.ndarray, skip_unlabelled_pred: bool = False) -> None:
        """Add one image. `skip_unlabelled_pred` drops pixels whose prediction is 255 instead of
        counting them as misses (ICD's compute_iou convention for seeds; flatters sparse seeds)."""
        gt = np.asarray(gt).ravel().astype(np.int64)
        pred = np.asarray(pred).ravel().astype(np.int64)
        if gt.shape != pred.shape:
            raise ValueError(f"ground truth and prediction differ in size: {gt.size} vs {pred.size}")
        valid = (gt >= 0) & (gt < self.n_gt)
        unlabelled = (pred < 0) | (pred >= self.n_pred)
        if skip_unlabelled_pred:
            valid &= ~unlabelled
        pred = np.where(unlabelled, self.n_pred, pred)
        width = self.n_pred + 1
        counts = np.bincount(gt[valid] * width + pred[valid], minlength=self.n_gt * width)
        self.matrix += counts.reshape(self.n_gt, width)

    def merge(self, other: "ConfusionMatrix") -> None:
        if other.matrix.shape != self.matrix.shape:
            raise ValueError("cannot merge confusion matrices of different shapes")
        self.matrix += other.matrix

    def iou(self) -> np.ndarray:
        """Per-class IoU for a square labelling (n_gt == n_pred); NaN where the class appears in
        neither ground truth nor prediction."""
        if self.n_gt != self.n_pred:
            raise ValueError("iou() needs the same classes in ground truth and prediction; "
                             "match clusters first (discovery_scores)")
        return iou_from_matrix(self.matrix)

    def miou(self, classes: list[int] | None = None) -> float:
        return mean_iou(self.iou(), classes)


def iou_from_matrix(matrix: np.ndarray) -> np.ndarray:
    """IoU per class of a (n, n+1) matrix whose last column is "no prediction"."""
    n = matrix.shape[0]
    tp = np.diag(matrix[:, :n]).astype(np.float64)
    gt_total = matrix.sum(axis=1).astype(np.float64)
    pred_total = matrix[:, :n].sum(axis=0).astype(np.float64)
    union = gt_total + pred_total - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def mean_iou(iou: np.ndarray, classes: list[int] | None = None) -> float:
    """Mean over the given classes, skipping classes that appear nowhere (NaN)."""
    values = iou if classes is None else iou[list(classes)]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def cluster_iou_matrix(matrix: np.ndarray, num_base: int, num_novel: int, k: int) -> np.ndarray:
    """M[i, j] = IoU of cluster i and novel class j over S = {gt novel and pred a novel cluster}.

    `matrix` has rows 0..B+N (ground truth in fine-tuning labels) and columns 0..B+k (+ miss)."""
    first = num_base + 1
    inter = matrix[first:first + num_novel, first:first + k].T.astype(np.float64)  # (k, N)
    pred_in_s = inter.sum(axis=1, keepdims=True)
    gt_in_s = inter.sum(axis=0, keepdims=True)
    union = pred_in_s + gt_in_s - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def match_clusters(iou: np.ndarray, method: str = "auto") -> np.ndarray:
    """Map each of k clusters to one of N novel classes (indices 0..N-1).

    hungarian: one-to-one, maximising the summed IoU (k == N, the paper's non-over-clustered rows);
    majority: each cluster to its best class, many-to-one (k > N, over-clustering). A cluster that
    never meets a novel ground-truth pixel maps to the first novel class, as in the reference.
    """
    k, n = iou.shape
    if method == "auto":
        method = "hungarian" if k <= n else "majority"
    if method == "hungarian":
        rows, cols = linear_sum_assignment(iou, maximize=True)
        mapping = np.zeros(k, dtype=np.int64)
        mapping[rows] = cols
        return mapping
    if method == "majority":
        return iou.argmax(axis=1).astype(np.int64)
    raise ValueError(f"evaluation.matching: unknown method {method!r} (auto, hungarian, majority)")


def remap_matrix(matrix: np.ndarray, num_base: int, num_novel: int, k: int,
                 mapping: np.ndarray) -> np.ndarray:
    """Merge cluster columns into their matched novel classes: (B+N+1) x (B+N+1 + miss)."""
    n = num_base + 1 + num_novel
    out = np.zeros((matrix.shape[0], n + 1), dtype=np.int64)
    out[:, :num_base + 1] = matrix[:, :num_base + 1]
    for cluster in range(k):
        out[:, num_base + 1 + mapping[cluster]] += matrix[:, num_base + 1 + cluster]
    out[:, n] = matrix[:, -1]
    return out


@dataclass
class DiscoveryScores:
    mapping: list[int]           # cluster i -> novel class index
    iou: list[float]             # per class 0..B+N after matching (NaN: class absent)
    novel_miou: float
    base_miou: float
    all_miou: float
    method: str

    def as_dict(self) -> dict:
        return {"mapping": self.mapping, "iou": self.iou, "novel_miou": self.novel_miou,
                "base_miou": self.base_miou, "all_miou": self.all_miou, "method": self.method}


def discovery_scores(cm: ConfusionMatrix, num_base: int, num_novel: int, k: int,
                     method: str = "auto") -> DiscoveryScores:
    """Novel mIoU after matching, base mIoU (classes 1..B) and all-class mIoU (0..B+N)."""
    if cm.n_gt != num_base + 1 + num_novel or cm.n_pred != num_base + 1 + k:
        raise ValueError(f"confusion matrix {cm.n_gt}x{cm.n_pred} does not fit B={num_base}, "
                         f"N={num_novel}, k={k}")
    iou_matrix = cluster_iou_matrix(cm.matrix, num_base, num_novel, k)
    chosen = method if method != "auto" else ("hungarian" if k <= num_novel else "majority")
    mapping = match_clusters(iou_matrix, chosen)
    iou = iou_from_matrix(remap_matrix(cm.matrix, num_base, num_novel, k, mapping))
    novel = list(range(num_base + 1, num_base + 1 + num_novel))
    base = list(range(1, num_base + 1))
    return DiscoveryScores(
        mapping=[int(m) for m in mapping],
        iou=[float(v) for v in iou],
        novel_miou=mean_iou(iou, novel),
        base_miou=mean_iou(iou, base),
        all_miou=mean_iou(iou),
        method=chosen,
    )


# Where a class's IoU goes: its union split into the intersection and six kinds of error
ERROR_SHARES = ("iou", "missed_as_background", "missed_as_base", "missed_as_novel",
                "false_on_background", "false_on_base", "false_on_novel")


def error_shares(matrix: np.ndarray, num_base: int, classes: list[int]) -> dict[str, float]:
    """Mean over `classes` (those present) of each class's union split into: the intersection (its
    IoU); its pixels predicted background, another base class or another novel class (missed); the
    background, other base and other novel pixels predicted as it (false). `matrix` is matched
    (remap_matrix: rows and columns 0 bg, 1..B base, B+1.. novel, last column "no prediction"); the
    shares sum to 1 less the share left without prediction (none for a model's output)."""
    n = matrix.shape[0]
    m = matrix.astype(np.float64)
    groups = {"background": [0], "base": list(range(1, num_base + 1)), "novel": list(range(num_base + 1, n))}
    per_class = []
    for c in classes:
        tp = m[c, c]
        union = m[c].sum() + m[:, c].sum() - tp
        if union <= 0:
            continue
        shares = {"iou": tp}
        for name, members in groups.items():
            own = tp if c in members else 0.0
            shares[f"missed_as_{name}"] = m[c, members].sum() - own
            shares[f"false_on_{name}"] = m[members, c].sum() - own
        per_class.append([shares[key] / union for key in ERROR_SHARES])
    values = np.mean(per_class, axis=0) if per_class else np.full(len(ERROR_SHARES), np.nan)
    return {key: float(v) for key, v in zip(ERROR_SHARES, values)}
