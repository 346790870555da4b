"""Do the true novel classes form clusters in the space the clustering sees? A diagnostic of
`discovery.k: auto`, read by no estimator.

An estimator of the number of novel classes can only find a count that the geometry of the novel
prototypes holds. Where the ground truth is known (the dataset index's classes, from the label maps,
as the evaluation reads them), two numbers say whether it does, in the clustering's space
(`clustering.embed`) and with its pinned k-means:

- silhouette_true: the mean silhouette of the true partition, over the images with exactly one novel
  class (an image with two has no single true cluster). Near 1: compact, separate classes; near 0:
  the classes overlap, and no criterion of cluster shape can count them.
- ari_kmeans_true_n: the adjusted Rand index between the true classes and k-means given the true
  number (1: k-means finds the classes; 0: chance).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score, silhouette_score

from ncdss_core.discovery.cluster_count import SEPARABILITY_FILE
from ncdss_core.discovery.clustering import embed, load_prototypes, make_kmeans
from ncdss_core.discovery.settings import ClusteringSettings
from ncdss_core.io.atomic import atomic_write_json


def single_novel_class(ids: Sequence[str], image_classes: Mapping[str, Sequence[int]],
                       novel: Sequence[int]) -> np.ndarray:
    """Per image id: its novel class where it shows exactly one, else -1."""
    novel_set = set(int(c) for c in novel)
    labels = []
    for image_id in ids:
        present = novel_set.intersection(int(c) for c in image_classes[image_id])
        labels.append(present.pop() if len(present) == 1 else -1)
    return np.asarray(labels, dtype=np.int64)


def novel_separability(vectors: np.ndarray, labels: np.ndarray, true_n: int, settings: ClusteringSettings,
                       seed: int) -> dict[str, Any]:
    """silhouette_true and ari_kmeans_true_n (module docstring) of the prototypes `vectors` with
    their true labels (-1: not one novel class; left out of both scores, kept in the k-means with
    `true_n` clusters). None where undefined: fewer than two classes seen alone, or no more images
    than classes."""
    single = labels >= 0
    seen = len(np.unique(labels[single]))
    record: dict[str, Any] = {"images": int(len(labels)), "images_one_novel_class": int(single.sum()),
                              "classes_seen_alone": int(seen), "silhouette_true": None, "ari_kmeans_true_n": None}
    if seen < 2 or single.sum() <= seen or len(labels) <= true_n:
        return record
    points, _ = embed(vectors, settings, seed)
    record["silhouette_true"] = float(silhouette_score(points[single], labels[single]))
    clusters = make_kmeans(true_n, settings, seed).fit_predict(points)
    record["ari_kmeans_true_n"] = float(adjusted_rand_score(labels[single], clusters[single]))
    return record


def write_separability(shard_dirs: Sequence[str | Path], image_classes: Mapping[str, Sequence[int]],
                       novel: Sequence[int], settings: ClusteringSettings, seed: int,
                       out_dir: str | Path) -> dict[str, Any]:
    """novel_separability of a run's novel prototypes (its base_removal shards) against the fold's
    novel classes `novel` and the classes per image, written to separability.json beside the estimate."""
    ids, vectors = load_prototypes(shard_dirs)
    labels = single_novel_class(ids, image_classes, novel)
    record = {"true_n": len(novel), **novel_separability(vectors, labels, len(novel), settings, seed)}
    atomic_write_json(Path(out_dir) / SEPARABILITY_FILE, record)
    return record
