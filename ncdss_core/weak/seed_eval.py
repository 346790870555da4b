"""Seed quality against the ground truth of the training images (reference icd.md §5).

Two protocols, both from one pass over the images with flat memory (confusion matrices):
- `icd`: ICD's compute_iou: pixels the seed leaves unlabelled (255) are skipped. This is the protocol
  of the paper's 62.2 % and flatters sparse seeds, so it is reported with the coverage;
- `strict`: unlabelled seed pixels count as misses of their ground-truth class.
In base mode the ground truth's novel pixels are background (as base training sees them) and the
mean runs over background + base classes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ncdss_core.data.files import read_label_png
from ncdss_core.data.folds import IGNORE
from ncdss_core.evaluation.metrics import ConfusionMatrix, mean_iou
from ncdss_core.io.atomic import atomic_write_json, atomic_write_text
from ncdss_core.runtime import get_logger, progress
from ncdss_core.weak.images import excluded_classes, output_classes


class SeedScore:
    def __init__(self, num_classes: int):
        self.icd = ConfusionMatrix(num_classes + 1)
        self.strict = ConfusionMatrix(num_classes + 1)
        self.valid = 0
        self.labelled = 0
        self.images = 0

    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        if gt.shape != pred.shape:
            raise ValueError(f"ground truth {gt.shape} and seed {pred.shape} differ in size")
        self.icd.update(gt, pred, skip_unlabelled_pred=True)
        self.strict.update(gt, pred)
        valid = gt != IGNORE
        self.valid += int(valid.sum())
        self.labelled += int((valid & (pred != IGNORE)).sum())
        self.images += 1

    def summary(self, classes: list[int]) -> dict:
        iou_icd, iou_strict = self.icd.iou(), self.strict.iou()
        return {
            "images": self.images,
            "miou": mean_iou(iou_icd, classes),
            "miou_strict": mean_iou(iou_strict, classes),
            "coverage": self.labelled / max(self.valid, 1),
            "iou": {int(c): float(iou_icd[c]) for c in classes},
            "iou_strict": {int(c): float(iou_strict[c]) for c in classes},
        }


def ground_truth_for(labels: np.ndarray, novel: Iterable[int]) -> np.ndarray:
    """Ground truth as the seeds' training target: novel pixels -> background (none in mode all)."""
    novel = list(novel)
    if not novel:
        return labels
    out = labels.copy()
    out[np.isin(labels, novel)] = 0
    return out


def tables(rows: list[dict], class_names: dict[int, str]) -> tuple[str, str]:
    """CSV and Markdown tables: one row per (variant, crf), mIoU, strict mIoU, coverage, per-class IoU."""
    classes = sorted({c for row in rows for c in row["iou"]})
    names = [class_names.get(c, str(c)) for c in classes]
    header = ["variant", "crf", "images", "miou", "miou_strict", "coverage"] + names
    csv_lines = [",".join(header)]
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        values = [row["variant"], "yes" if row["crf"] else "no", str(row["images"]),
                  *(f"{100 * row[k]:.2f}" for k in ("miou", "miou_strict", "coverage")),
                  *(f"{100 * row['iou'][c]:.2f}" for c in classes)]
        csv_lines.append(",".join(values))
        md.append("| " + " | ".join(values) + " |")
    return "\n".join(csv_lines) + "\n", "\n".join(md) + "\n"


def evaluate_seeds(dataset: Any, mode: str, fold: str, variants: Sequence[str],
                   seeds: Sequence[str | os.PathLike], crf: Sequence[str | os.PathLike],
                   out_dir: str | os.PathLike) -> dict[str, float]:
    """Score every variant's seed shards (`seeds/<variant>/<shard>` directories) and CRF shards
    against the training ground truth; write seed_eval.{csv,md,json}; mIoU per variant."""
    classes = [0] + output_classes(dataset.kind, mode, fold)
    excluded = excluded_classes(dataset.kind, mode, fold)
    logger = get_logger("seed_eval")
    rows = []
    for variant in variants:
        for refined, shards in ((False, seeds), (True, crf)):
            files = sorted(f for d in shards if Path(d).parent.name == variant for f in Path(d).glob("*.png"))
            score = SeedScore(dataset.num_classes)
            for path in progress(files, label=f"{variant} {'crf' if refined else 'seeds'}", logger=logger):
                score.update(ground_truth_for(dataset.read_label(path.stem, "trainaug"), excluded),
                             read_label_png(path))
            rows.append({"variant": variant, "crf": refined, **score.summary(classes)})
            logger.info("%s crf=%s: mIoU %.2f (strict %.2f, coverage %.2f)", variant, refined,
                        100 * rows[-1]["miou"], 100 * rows[-1]["miou_strict"], 100 * rows[-1]["coverage"])
    names = {0: "background", **{i + 1: n for i, n in enumerate(dataset.class_names)}}
    csv_text, md_text = tables(rows, names)
    out = Path(out_dir)
    atomic_write_text(out / "seed_eval.csv", csv_text)
    atomic_write_text(out / "seed_eval.md", md_text)
    atomic_write_json(out / "seed_eval.json", rows)
    return {f"{r['variant']}{'_crf' if r['crf'] else ''}_miou": r["miou"] for r in rows}
