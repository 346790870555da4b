"""Evaluation (reference ncdss.md §7): one confusion matrix per model, never per-pixel arrays.

Predictions are made at the model's input size (fixed resize, as the reference), the logits are
upsampled bilinearly to the image's original size and compared with the original-resolution ground
truth in fine-tuning labels (0 bg, 1..B base, B+1..B+N novel; 255 ignored). The matrix has one
column per model output (0 bg, 1..B base, B+1..B+k clusters); cluster-to-class matching (Hungarian
if k == N, majority vote if k > N) is computed from that same matrix by `metrics.discovery_scores`.
Checkpoint selection during training uses the same code on the held-out `select` ids at input size.

`eval_main(argv)` is the `ncdss eval` command: checkpoints + dataset in, table out (the original
`scripts/eval.sh`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.folds import base_classes, class_names, novel_classes, to_base_labels, to_finetune_labels
from ncdss_core.evaluation.metrics import ConfusionMatrix, discovery_scores
from ncdss_core.runtime import get_logger, progress
from ncdss_core.models.segmodel import SegModel, load_checkpoint
from ncdss_core.data.transforms import resize_label, val_image


@torch.no_grad()
def predict_logits(model: SegModel, image: np.ndarray, size: int,
                   out_hw: tuple[int, int] | None = None) -> torch.Tensor:
    """Logits (C, h, w) of one RGB uint8 image: resized to size x size, then to `out_hw` if given."""
    device = next(model.parameters()).device
    logits = model(val_image(image, size).unsqueeze(0).to(device))
    if out_hw is not None and tuple(out_hw) != tuple(logits.shape[-2:]):
        logits = F.interpolate(logits, size=tuple(out_hw), mode="bilinear", align_corners=False)
    return logits[0].cpu()


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
            pred = predict_logits(model, image, size, gt.shape).argmax(0).numpy()
        else:
            pred = predict_logits(model, image, size).argmax(0).numpy()
            gt = resize_label(gt, size)
        cm.update(gt, pred)
    return cm


def label_space(kind: str, fold: int) -> tuple[int, int]:
    """(B, N): number of base and novel classes of a fold."""
    return len(base_classes(kind, fold)), len(novel_classes(kind, fold))


def base_selection_score(model: SegModel, dataset: Any, ids: Sequence[str], fold: int, size: int) -> float:
    """Base training selection: mIoU over background + base classes, base labels (reference §2.4)."""
    num_base, _ = label_space(dataset.kind, fold)
    cm = confusion(model, dataset, ids, "trainaug", lambda g: to_base_labels(g, dataset.kind, fold),
                   num_base + 1, size, at_original=False, label="select")
    return cm.miou()


def novel_selection_score(model: SegModel, dataset: Any, ids: Sequence[str], fold: int, size: int,
                          matching: str = "auto") -> float:
    """Fine-tuning selection: novel mIoU after matching (reference §4, §7.3 online)."""
    num_base, num_novel = label_space(dataset.kind, fold)
    k = model.spec.num_classes - num_base - 1
    cm = confusion(model, dataset, ids, "trainaug", lambda g: to_finetune_labels(g, dataset.kind, fold),
                   num_base + 1 + num_novel, size, at_original=False, label="select")
    return discovery_scores(cm, num_base, num_novel, k, matching).novel_miou


def scores_of(model: SegModel, dataset: Any, ids: Sequence[str], split: str, fold: int, size: int,
              matching: str = "auto", at_original: bool = True) -> dict[str, Any]:
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


def eval_main(argv: Sequence[str] | None = None) -> int:
    """`ncdss eval CHECKPOINT... --root DIR --fold F`: print novel/base/all mIoU per checkpoint."""
    parser = argparse.ArgumentParser(prog="ncdss eval", description=(
        "Evaluate segmentation checkpoints (base, basic or EUMS model.pt) on a dataset split: "
        "novel mIoU after cluster-to-class matching, base mIoU, all-class mIoU."))
    parser.add_argument("checkpoints", nargs="+", help="model.pt / last.pt files written by ncdss")
    parser.add_argument("--root", required=True, help="dataset root")
    parser.add_argument("--kind", default="generated", choices=["generated", "voc", "coco"])
    parser.add_argument("--fold", type=int, help="fold (default: the one stored in the checkpoint)")
    parser.add_argument("--split", default="val", choices=["val", "trainaug"])
    parser.add_argument("--ids", help="optional id list restricting the split")
    parser.add_argument("--input-size", type=int, help="inference size (default: the checkpoint's)")
    parser.add_argument("--matching", default="auto", choices=["auto", "hungarian", "majority"])
    parser.add_argument("--per-class", action="store_true", help="also print per-class IoU")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    dataset = open_dataset(args.kind, args.root)
    from ncdss_core.data.files import read_ids
    ids = read_ids(args.ids) if args.ids else list(dataset.ids(args.split))
    rows = []
    for path in args.checkpoints:
        model, meta = load_checkpoint(path)
        fold = args.fold if args.fold is not None else int(meta["fold"])
        size = args.input_size or int(meta["input_size"])
        s = scores_of(model, dataset, ids, args.split, fold, size, args.matching)
        rows.append((path, s))
    print(f"| checkpoint | k | matching | novel mIoU | base mIoU | all mIoU |")
    print("|---|---|---|---|---|---|")
    for path, s in rows:
        print(f"| {path} | {s['k']} | {s['method']} | {percent(s['novel_miou'])} | "
              f"{percent(s['base_miou'])} | {percent(s['all_miou'])} |")
    if args.per_class:
        for path, s in rows:
            print(f"\n{path}")
            for name, value in zip(s["class_names"], s["iou"]):
                print(f"  {name:>14s} {percent(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(eval_main())
