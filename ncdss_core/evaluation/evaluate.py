"""Evaluation (reference ncdss.md §7): one confusion matrix per model, never per-pixel arrays.

Predictions are made at the model's input size (fixed resize, as the reference), the logits are
upsampled bilinearly to the image's original size and compared with the original-resolution ground
truth in fine-tuning labels (0 bg, 1..B base, B+1..B+N novel; 255 ignored). The matrix has one
column per model output (0 bg, 1..B base, B+1..B+k clusters); cluster-to-class matching (Hungarian
if k == N, majority vote if k > N) is computed from that same matrix by `metrics.discovery_scores`.
Checkpoint selection during training uses the same code on the held-out `select` ids at input size.
`evaluate_model_dir` scores the selected and the last checkpoint of a model directory (the
evaluate stage); the `ncdss eval` command prints `scores_of` for any checkpoints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ncdss_core.data.folds import (
    base_classes,
    class_names,
    label_space,
    novel_classes,
    to_base_labels,
    to_finetune_labels,
)
from ncdss_core.data.transforms import resize_label, val_image
from ncdss_core.evaluation.metrics import ConfusionMatrix, discovery_scores
from ncdss_core.evaluation.selection import selection_agreement
from ncdss_core.models.segmodel import SegModel, load_checkpoint
from ncdss_core.io.atomic import atomic_write_json, atomic_write_text, read_json
from ncdss_core.runtime import get_logger, progress

CHECKPOINTS = (("selected", "model.pt"), ("last", "last.pt"))


def predict_logits(model: SegModel, image: np.ndarray, size: int,
                   out_hw: tuple[int, int] | None = None) -> torch.Tensor:
    """Logits (C, h, w) of one RGB uint8 image: resized to size x size, then to `out_hw` if given."""
    return predict_logits_and_features(model, image, size, out_hw)[0]


@torch.inference_mode()
def predict_logits_and_features(model: SegModel, image: np.ndarray, size: int,
                                out_hw: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """`predict_logits` and the backbone features (D, h', w') it was computed from, one forward pass."""
    device = next(model.parameters()).device
    logits, features = model.logits_and_features(val_image(image, size).unsqueeze(0).to(device))
    return resize_logits(logits, out_hw)[0].cpu(), features[0].cpu()


def resize_logits(logits: torch.Tensor, out_hw: tuple[int, int] | None) -> torch.Tensor:
    """Logits (N, C, h, w) upsampled bilinearly to `out_hw` (as they are when None or the same)."""
    if out_hw is not None and tuple(out_hw) != tuple(logits.shape[-2:]):
        logits = F.interpolate(logits, size=tuple(out_hw), mode="bilinear", align_corners=False)
    return logits


def class_map(logits: torch.Tensor) -> np.ndarray:
    """`logits.argmax(0).numpy()` of logits (C, h, w), the classes made the innermost dimension
    first: torch's CPU argmax over the outermost one is twice as slow. The same classes (argmax
    is exact and returns the first maximum whatever the layout)."""
    return logits.permute(1, 2, 0).contiguous().argmax(-1).numpy()


def confusion(model: SegModel, dataset: Any, ids: Sequence[str], split: str,
              gt_fn: Callable[[np.ndarray], np.ndarray], n_gt: int, size: int,
              at_original: bool = True, label: str = "evaluate") -> ConfusionMatrix:
    """Accumulate ground truth (rows) x predicted output (columns) over `ids`."""
    model.eval()
    n_pred = model.spec.num_classes
    cm = ConfusionMatrix(n_gt, n_pred)
    logger = get_logger("evaluate")
    for image_id in progress(ids, len(ids), label, logger, every_seconds=30):
        image = dataset.read_image(image_id, split)
        gt = gt_fn(dataset.read_label(image_id, split))
        if at_original:
            pred = class_map(predict_logits(model, image, size, gt.shape))
        else:
            pred = class_map(predict_logits(model, image, size))
            gt = resize_label(gt, size)
        cm.update(gt, pred)
    return cm


def base_selection_score(model: SegModel, dataset: Any, ids: Sequence[str], fold: int, size: int) -> float:
    """Base training selection: mIoU over background + base classes, base labels (reference §2.4)."""
    num_base, _ = label_space(dataset.kind, fold)
    cm = confusion(model, dataset, ids, "trainaug", lambda g: to_base_labels(g, dataset.kind, fold),
                   num_base + 1, size, at_original=False, label="select")
    return cm.miou()


def novel_selection_score(model: SegModel, dataset: Any, ids: Sequence[str], fold: int, size: int,
                          matching: str) -> float:
    """Fine-tuning selection: novel mIoU after matching (reference §4, §7.3 online)."""
    num_base, num_novel = label_space(dataset.kind, fold)
    k = model.spec.num_classes - num_base - 1
    cm = confusion(model, dataset, ids, "trainaug", lambda g: to_finetune_labels(g, dataset.kind, fold),
                   num_base + 1 + num_novel, size, at_original=False, label="select")
    return discovery_scores(cm, num_base, num_novel, k, matching).novel_miou


def scores_of(model: SegModel, dataset: Any, ids: Sequence[str], split: str, fold: int, size: int,
              matching: str, at_original: bool = True) -> dict[str, Any]:
    """Novel (after matching), base and all-class mIoU of one model, plus per-class IoU.

    A base model (k = 0 novel outputs) gets novel IoU 0: it labels novel objects background."""
    num_base, num_novel = label_space(dataset.kind, fold)
    k = model.spec.num_classes - num_base - 1
    cm = confusion(model, dataset, ids, split, lambda g: to_finetune_labels(g, dataset.kind, fold),
                   num_base + 1 + num_novel, size, at_original=at_original)
    scores = discovery_scores(cm, num_base, num_novel, k, matching if k > 0 else "hungarian").as_dict()
    names = ["background"] + [class_names(dataset.kind)[c - 1]
                              for c in base_classes(dataset.kind, fold) + novel_classes(dataset.kind, fold)]
    scores.update({"k": k, "images": len(ids), "split": split, "class_names": names,
                   "confusion": cm.matrix.tolist()})
    if k == 0:
        scores["method"] = "none"
    return scores


def percent(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.2f}"


def score_cells(scores: dict[str, Any]) -> str:
    """`k | matching | novel | base | all` cells of a Markdown table row."""
    return (f"{scores['k']} | {scores['method']} | {percent(scores['novel_miou'])} | "
            f"{percent(scores['base_miou'])} | {percent(scores['all_miou'])}")


def evaluate_model_dir(model_dir: str | os.PathLike, dataset: Any, split: str, fold: int, matching: str,
                       out_dir: str | os.PathLike, device: str = "cpu") -> dict[str, Any]:
    """The selected (model.pt) and last (last.pt) checkpoint of a model directory on a split:
    metrics.json and metrics.md in out_dir; returns novel/base/all mIoU per checkpoint."""
    ids = list(dataset.ids(split))
    logger = get_logger("evaluate")
    result: dict[str, Any] = {}
    lines = ["| checkpoint | epoch | k | matching | novel mIoU | base mIoU | all mIoU |",
             "|---|---|---|---|---|---|---|"]
    for checkpoint, name in CHECKPOINTS:
        model, meta = load_checkpoint(Path(model_dir) / name)
        scores = scores_of(model.to(device), dataset, ids, split, fold, int(meta["input_size"]), matching)
        result[checkpoint] = scores
        result[f"{checkpoint}_epoch"] = meta.get("epoch")
        lines.append(f"| {checkpoint} | {meta.get('epoch')} | {score_cells(scores)} |")
        logger.info("%s (epoch %s): novel %.4f base %.4f all %.4f", checkpoint, meta.get("epoch"),
                    scores["novel_miou"], scores["base_miou"], scores["all_miou"])
    history_path = Path(model_dir) / "history.json"
    if history_path.is_file():  # per-epoch diagnostics (evaluation.per_epoch): did selection track the split?
        metric = "val_novel_miou" if result["last"]["k"] > 0 else "val_base_miou"
        agreement = selection_agreement(read_json(history_path), metric)
        if agreement is not None:
            result["selection"] = agreement
            logger.info("selection vs %s over %d epochs: Spearman %.3f, regret %.4f", metric,
                        agreement["epochs"], agreement["spearman"], agreement["regret"])
    out = Path(out_dir)
    atomic_write_json(out / "metrics.json", result)
    atomic_write_text(out / "metrics.md", "\n".join(lines) + "\n")
    return {c: {m: result[c][m] for m in ("novel_miou", "base_miou", "all_miou")} for c, _ in CHECKPOINTS}
