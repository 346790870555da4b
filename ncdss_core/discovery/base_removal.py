"""The discovery stages over files: base removal per shard, clustering per fold, pseudo-labels.

Artifacts (each a directory, provenance written by the workflow script):
- base_removal/{shard}/: high_base/<id>.png (confident base classes in base labels, 0 elsewhere),
  novel/<id>.png (1 on the novel mask), prototypes.npz (ids, vectors: one per kept image),
  kept.txt, stats.json (dropped ids with the reason).
- clusters/k{k}/: assignments.csv (id,cluster), embedding.npz, summary.json.
- pseudo_labels/k{k}/: <id>.png fused labels (0 bg, 1..B base, B+1..B+k clusters), novel.txt,
  quality.json (against ground truth: novel mIoU after matching, base mIoU).
Only one vector per image is held in memory across images; label maps are streamed.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ncdss_core.discovery.clustering import (
    base_removal,
    cluster_prototypes,
    fuse,
    keep_novel,
    order_by_id,
    prototype,
)
from ncdss_core.discovery.runners import new_model
from ncdss_core.evaluation.evaluate import predict_logits
from ncdss_core.data.folds import label_space, to_finetune_labels
from ncdss_core.io.atomic import atomic_write_json, atomic_write_text
from ncdss_core.data.files import read_grey_png, read_label_png, write_ids, write_label_png
from ncdss_core.evaluation.metrics import ConfusionMatrix, discovery_scores
from ncdss_core.runtime import get_logger, progress
from ncdss_core.models.segmodel import SegModel
from ncdss_core.data.transforms import resize_label, val_image


def feature_source(features: str, model_cfg: Mapping[str, Any]) -> str:
    """discovery.features resolved: under auto, the ImageNet backbone (reference §3.3) when a
    weights file is configured, else the base model's own backbone."""
    if features == "auto":
        return "imagenet" if model_cfg["backbone_weights"] else "base"
    return features


def feature_model(source: str, base_model: SegModel, model_cfg: Mapping[str, Any], seed: int,
                  device: str) -> SegModel:
    """The model whose backbone features make the prototypes: a fresh model from the configured
    weights (imagenet) or the base model itself (base)."""
    return new_model(model_cfg, 2, seed).to(device) if source == "imagenet" else base_model


@torch.no_grad()
def remove_base_shard(base_model: SegModel, feature_model: SegModel, dataset: Any, ids: Sequence[str],
                      saliency_dir: str | Path, out_dir: str | Path, size: int, threshold: float,
                      min_fraction: float) -> dict[str, Any]:
    """Base removal, size filter and prototypes for the novel images of one shard."""
    out = Path(out_dir)
    base_model.eval()
    feature_model.eval()
    kept, vectors, dropped = [], [], {}
    for image_id in progress(ids, len(ids), "base removal", get_logger("discovery"), every_seconds=30):
        sal_path = Path(saliency_dir) / f"{image_id}.png"
        if not sal_path.is_file():  # the saliency stage drops images with almost no salient area
            dropped[image_id] = "no saliency map"
            continue
        image = dataset.read_image(image_id, "trainaug")
        saliency = read_grey_png(sal_path)
        if saliency.shape != image.shape[:2]:
            saliency = resize_label(saliency, image.shape[:2])
        probs = torch.softmax(predict_logits(base_model, image, size, image.shape[:2]), dim=0)
        removal = base_removal(probs, saliency, threshold)
        write_label_png(out / "high_base" / f"{image_id}.png", removal.high_base)
        write_label_png(out / "novel" / f"{image_id}.png", removal.novel_mask.astype(np.uint8))
        if not keep_novel(removal.novel_mask, min_fraction):
            dropped[image_id] = f"novel mask {removal.novel_mask.mean():.4f} of the image <= {min_fraction}"
            continue
        features = feature_model.features(val_image(image, size).unsqueeze(0))[0]
        mask = resize_label(removal.novel_mask.astype(np.uint8), size)
        vectors.append(prototype(features, mask))
        kept.append(image_id)
    dim = feature_model.feature_channels
    np.savez_compressed(out / "prototypes.npz", ids=np.array(kept, dtype=str),
                        vectors=np.array(vectors, dtype=np.float32).reshape(len(kept), dim))
    write_ids(out / "kept.txt", kept)
    stats = {"images": len(ids), "kept": len(kept), "dropped": dropped}
    atomic_write_json(out / "stats.json", stats)
    return stats


def load_prototypes(shard_dirs: Sequence[str | Path]) -> tuple[list[str], np.ndarray]:
    ids: list[str] = []
    blocks = []
    for directory in shard_dirs:
        with np.load(Path(directory) / "prototypes.npz") as data:
            ids.extend(str(i) for i in data["ids"])
            blocks.append(data["vectors"])
    return order_by_id(ids, np.concatenate(blocks, axis=0) if blocks else np.zeros((0, 0)))


def cluster_fold(shard_dirs: Sequence[str | Path], out_dir: str | Path, k: int, pca_dim: int,
                 whiten: bool, n_init: int, max_iter: int, seed: int) -> dict[str, Any]:
    ids, vectors = load_prototypes(shard_dirs)
    result = cluster_prototypes(vectors, k, pca_dim, whiten, n_init, max_iter, seed)
    out = Path(out_dir)
    lines = ["id,cluster\n"] + [f"{i},{int(c)}\n" for i, c in zip(ids, result.labels)]
    atomic_write_text(out / "assignments.csv", "".join(lines))
    np.savez_compressed(out / "embedding.npz", ids=np.array(ids, dtype=str), embedding=result.embedding)
    sizes = np.bincount(result.labels, minlength=k)
    summary = {"images": len(ids), "k": k, "cluster_sizes": sizes.tolist(), "inertia": result.inertia,
               "pca_explained_variance": result.explained_variance, "feature_dim": int(vectors.shape[1])}
    atomic_write_json(out / "summary.json", summary)
    return summary


def read_assignments(path: str | Path) -> dict[str, int]:
    with open(path, encoding="utf-8") as handle:
        return {row["id"]: int(row["cluster"]) for row in csv.DictReader(handle)}


def write_pseudo_labels(dataset: Any, fold: int, removal_dirs: Sequence[str | Path],
                        assignments: dict[str, int], k: int, out_dir: str | Path,
                        matching: str) -> dict[str, Any]:
    """Fuse base predictions and clusters; score the result against ground truth (quality only:
    the labels themselves never see it)."""
    num_base, num_novel = label_space(dataset.kind, fold)
    where = {}
    for directory in removal_dirs:
        for image_id in (Path(directory) / "kept.txt").read_text().split():
            where[image_id] = Path(directory)
    out = Path(out_dir)
    cm = ConfusionMatrix(num_base + 1 + num_novel, num_base + 1 + k)
    ids = sorted(assignments)
    for image_id in progress(ids, len(ids), "pseudo-labels", get_logger("discovery"), every_seconds=30):
        directory = where[image_id]
        high_base = read_label_png(directory / "high_base" / f"{image_id}.png")
        novel = read_label_png(directory / "novel" / f"{image_id}.png")
        label = fuse(high_base, novel, assignments[image_id], num_base)
        write_label_png(out / f"{image_id}.png", label)
        cm.update(to_finetune_labels(dataset.read_label(image_id, "trainaug"), dataset.kind, fold), label)
    write_ids(out / "novel.txt", ids)
    quality = discovery_scores(cm, num_base, num_novel, k, matching).as_dict()
    quality["images"] = len(ids)
    atomic_write_json(out / "quality.json", quality)
    return quality
