"""Clustering pseudo-labels for the novel images (reference ncdss.md §3.3-3.4).

Per fold: the prototypes of every shard, PCA to 32 dimensions with whitening, k-means (k-means++,
n_init and random_state pinned). Per image: fused pseudo-label = base class where confidently base,
else B + cluster + 1 on the novel mask, else background; no ignore region (§3.4).

Artifacts:
- clusters/k{k}/: assignments.csv (id,cluster), embedding.npz, summary.json.
- pseudo_labels/k{k}/: <id>.png fused labels (0 bg, 1..B base, B+1..B+k clusters), novel.txt,
  quality.json (against ground truth: novel mIoU after matching, base mIoU).
Only one vector per image is held in memory across images; label maps are streamed.
Under discovery.k auto, {k} is a label (kauto_x2): the number behind it is k_factor x the run's
estimated number of novel classes (`cluster_count`, `k_estimation`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from ncdss_core.data.files import id_path, read_label_png, write_ids, write_label_png
from ncdss_core.data.folds import label_space, to_finetune_labels
from ncdss_core.discovery.settings import ClusteringSettings
from ncdss_core.evaluation.metrics import ConfusionMatrix, discovery_scores
from ncdss_core.io.atomic import atomic_write_json, atomic_write_text
from ncdss_core.runtime import get_logger, progress


@dataclass
class Clusters:
    labels: np.ndarray       # (N,) cluster index 0..k-1 per image
    embedding: np.ndarray    # (N, d) whitened PCA vectors
    inertia: float
    explained_variance: float


def embed(prototypes: np.ndarray, settings: ClusteringSettings, seed: int) -> tuple[np.ndarray, float]:
    """PCA (full SVD: deterministic, unlike the randomized solver) to discovery.pca_dim, whitened
    per discovery.whiten: (vectors, explained variance ratio). The clustering and the estimate of
    the number of novel classes see the same space."""
    pca_dim, whiten = settings.pca_dim, settings.whiten
    x = np.asarray(prototypes, dtype=np.float64)
    dim = int(min(pca_dim, x.shape[0], x.shape[1]))
    if dim > 0 and pca_dim > 0:
        pca = PCA(n_components=dim, whiten=whiten, svd_solver="full", random_state=seed)
        reduced = pca.fit_transform(x)
        return reduced, float(pca.explained_variance_ratio_.sum())
    return x, 1.0


def make_kmeans(k: int, settings: ClusteringSettings, seed: int) -> KMeans:
    """k-means++ with n_init and random_state pinned (reference pitfall §9.2.6)."""
    return KMeans(n_clusters=k, init="k-means++", n_init=settings.n_init, max_iter=settings.max_iter, tol=1.0e-4,
                  random_state=seed)


def cluster_prototypes(prototypes: np.ndarray, k: int, settings: ClusteringSettings, seed: int) -> Clusters:
    """PCA then k-means (`embed`, `kmeans`)."""
    if len(prototypes) < k:
        raise ValueError(f"discovery.k = {k} clusters but only {len(prototypes)} novel images kept")
    reduced, explained = embed(prototypes, settings, seed)
    model = make_kmeans(k, settings, seed)
    labels = model.fit_predict(reduced)
    return Clusters(labels=labels.astype(np.int64), embedding=reduced.astype(np.float32),
                    inertia=float(model.inertia_), explained_variance=explained)


def fuse(high_base: np.ndarray, novel_mask: np.ndarray, cluster: int, num_base: int) -> np.ndarray:
    """Pseudo-label (§3.4): b where b > 0; else num_base + cluster + 1 on the novel mask; else 0.
    Base wins where both hold. No 255."""
    if not 0 <= cluster <= 254 - num_base:
        raise ValueError(f"cluster {cluster} does not fit a uint8 label after {num_base} base classes")
    novel_value = np.uint8(num_base + 1 + cluster)
    out = np.where(np.asarray(novel_mask) > 0, novel_value, np.uint8(0)).astype(np.uint8)
    return np.where(high_base > 0, high_base, out).astype(np.uint8)


def order_by_id(ids: Sequence[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Shard outputs come in shard order; sort by id so clusters do not depend on sharding."""
    order = np.argsort(np.asarray(ids, dtype=object).astype(str), kind="stable")
    return [ids[i] for i in order], np.asarray(vectors)[order]


def load_prototypes(shard_dirs: Sequence[str | Path]) -> tuple[list[str], np.ndarray]:
    ids: list[str] = []
    blocks = []
    for directory in shard_dirs:
        with np.load(Path(directory) / "prototypes.npz") as data:
            ids.extend(str(i) for i in data["ids"])
            blocks.append(data["vectors"])
    return order_by_id(ids, np.concatenate(blocks, axis=0) if blocks else np.zeros((0, 0)))


def cluster_fold(shard_dirs: Sequence[str | Path], out_dir: str | Path, k: int, settings: ClusteringSettings,
                 seed: int) -> dict[str, Any]:
    """k-means over the prototypes of every base-removal shard of the fold."""
    ids, vectors = load_prototypes(shard_dirs)
    result = cluster_prototypes(vectors, k, settings, seed)
    out = Path(out_dir)
    lines = ["id,cluster\n"] + [f"{i},{int(c)}\n" for i, c in zip(ids, result.labels)]
    atomic_write_text(out / "assignments.csv", "".join(lines))
    np.savez_compressed(out / "embedding.npz", ids=np.array(ids, dtype=str), embedding=result.embedding)
    sizes = np.bincount(result.labels, minlength=k)
    summary = {"images": len(ids), "k": k, "cluster_sizes": sizes.tolist(), "inertia": result.inertia,
               "pca_explained_variance": result.explained_variance, "feature_dim": int(vectors.shape[1])}
    atomic_write_json(out / "summary.json", summary)
    return summary


def cluster_count(clusters_dir: str | Path) -> int:
    """The k a clusters artifact was made with (its summary.json)."""
    from ncdss_core.io.atomic import read_json

    return int(read_json(Path(clusters_dir) / "summary.json")["k"])


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
        high_base = read_label_png(id_path(directory / "high_base", image_id, ".png"))
        novel = read_label_png(id_path(directory / "novel", image_id, ".png"))
        label = fuse(high_base, novel, assignments[image_id], num_base)
        write_label_png(id_path(out, image_id, ".png"), label)
        cm.update(to_finetune_labels(dataset.read_label(image_id, "trainaug"), dataset.kind, fold), label)
    write_ids(out / "novel.txt", ids)
    quality = discovery_scores(cm, num_base, num_novel, k, matching).as_dict()
    quality["images"] = len(ids)
    atomic_write_json(out / "quality.json", quality)
    return quality
