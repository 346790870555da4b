"""The number of novel classes, estimated from a fold's prototypes (discovery.k: auto).

NCDSS is told the number of novel classes N and clusters with k = 2N. Under `discovery.k: auto` the
workflow estimates N over the candidates of `discovery.k_range` and clusters with
k = discovery.k_factor x N. Every estimator works in the space the clustering sees (`clustering.embed`:
PCA, whitened) with the same pinned k-means, and scores every candidate:

- base_probes: labelled base-class prototypes ("probes") are clustered together with the novel
  prototypes into (number of probe classes + n) clusters. A candidate n scores the accuracy with
  which the clusters recover the probes' labels (one-to-one matching) plus the silhouette of that
  joint clustering; the best total wins. The probe accuracy is the idea of DTC (Han et al., ICCV
  2019) and GCD (Vaze et al., CVPR 2022): known classes tell which granularity of the feature space
  makes classes. The silhouette (DTC pairs its probe score with a cluster validity index in the same
  way) decides where the probes cannot: merging two novel clusters, or a novel cluster into a base
  one, leaves every probe where it was. Only the probes' labels are read: no label of a novel image
  exists here.
- silhouette: k-means on the novel prototypes alone; the candidate with the highest mean silhouette.
- gmm_bic: a Gaussian mixture with diagonal covariances on the novel prototypes; the lowest BIC.

Ties go to the smaller candidate. A candidate that needs more clusters than there are points is
skipped (criterion None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture

from ncdss_core.discovery.cluster_count import ESTIMATE_FILE, ESTIMATORS
from ncdss_core.discovery.clustering import embed, load_prototypes, make_kmeans
from ncdss_core.discovery.settings import ClusteringSettings
from ncdss_core.io.atomic import atomic_write_json


@dataclass
class KEstimate:
    """N̂ and the criterion of every candidate (None: skipped)."""

    n_hat: int
    estimator: str
    candidates: list[int]
    criterion: list[float | None]
    criterion_name: str
    higher_is_better: bool
    parts: dict[str, list[float | None]] = field(default_factory=dict)  # the criterion's components

    def as_dict(self) -> dict[str, Any]:
        return {"n_hat": self.n_hat, "estimator": self.estimator, "candidates": self.candidates,
                "criterion": self.criterion, "criterion_name": self.criterion_name,
                "higher_is_better": self.higher_is_better, "parts": self.parts}


def candidates(k_range: Sequence[int]) -> list[int]:
    """Every integer of discovery.k_range, both ends included."""
    low, high = int(k_range[0]), int(k_range[1])
    if not 1 <= low <= high:
        raise ValueError(f"discovery.k_range: [{low}, {high}] is not a range of positive counts")
    return list(range(low, high + 1))


def cluster_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Fraction of points whose cluster is matched to their label, one cluster per label at most
    (Hungarian matching on the contingency table): splitting a class or merging two both cost."""
    label_ids, label_index = np.unique(labels, return_inverse=True)
    cluster_ids, cluster_index = np.unique(clusters, return_inverse=True)
    table = np.zeros((len(label_ids), len(cluster_ids)), dtype=np.int64)
    np.add.at(table, (label_index, cluster_index), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / max(len(labels), 1))


def _silhouette(points: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """Mean silhouette; -1 (the worst) when it is undefined (one cluster, or every point its own)."""
    distinct = len(np.unique(labels))
    if distinct < 2 or distinct >= len(points):
        return -1.0
    return float(silhouette_score(points, labels, random_state=seed))


def _pick(values: list[float | None], options: list[int], higher_is_better: bool) -> int:
    scored = [(v if higher_is_better else -v, -n) for v, n in zip(values, options) if v is not None]
    if not scored:
        raise ValueError("discovery.k_range: no candidate fits the number of prototypes")
    return -max(scored)[1]


def estimate_silhouette(novel: np.ndarray, k_range: Sequence[int], settings: ClusteringSettings,
                        seed: int) -> KEstimate:
    """k-means on the novel prototypes for each candidate; the highest mean silhouette."""
    points, _ = embed(novel, settings, seed)
    options, values = candidates(k_range), []
    for n in options:
        if not 2 <= n < len(points):
            values.append(None)
            continue
        labels = make_kmeans(n, settings, seed).fit_predict(points)
        values.append(_silhouette(points, labels, seed))
    return KEstimate(_pick(values, options, True), "silhouette", options, values, "silhouette", True)


def estimate_gmm_bic(novel: np.ndarray, k_range: Sequence[int], settings: ClusteringSettings,
                     seed: int) -> KEstimate:
    """A diagonal Gaussian mixture per candidate (k-means initialised, discovery.n_init restarts);
    the lowest BIC (log-likelihood penalised by the number of parameters)."""
    points, _ = embed(novel, settings, seed)
    options, values = candidates(k_range), []
    for n in options:
        if n > len(points):
            values.append(None)
            continue
        mixture = GaussianMixture(n_components=n, covariance_type="diag", n_init=settings.n_init,
                                  max_iter=settings.max_iter, random_state=seed)
        values.append(float(mixture.fit(points).bic(points)))
    return KEstimate(_pick(values, options, False), "gmm_bic", options, values, "bic", False)


def estimate_base_probes(novel: np.ndarray, probes: np.ndarray, probe_labels: np.ndarray,
                         k_range: Sequence[int], settings: ClusteringSettings, seed: int) -> KEstimate:
    """Novel prototypes and labelled base probes clustered together into (probe classes + n)
    clusters per candidate n; criterion = probe accuracy + joint silhouette (module docstring)."""
    novel, probes = np.asarray(novel, dtype=np.float64), np.asarray(probes, dtype=np.float64)
    probe_labels = np.asarray(probe_labels)
    if len(probes) != len(probe_labels) or not len(probes):
        raise ValueError(f"base probes: {len(probes)} vectors and {len(probe_labels)} labels (need as many, > 0)")
    known = len(np.unique(probe_labels))
    points, _ = embed(np.concatenate([novel, probes]), settings, seed)
    is_probe = np.arange(len(points)) >= len(novel)
    options, values, accuracy, silhouette = candidates(k_range), [], [], []
    for n in options:
        if known + n > len(points) or n >= len(novel):
            values.append(None), accuracy.append(None), silhouette.append(None)
            continue
        clusters = make_kmeans(known + n, settings, seed).fit_predict(points)
        acc = cluster_accuracy(probe_labels, clusters[is_probe])
        sil = _silhouette(points, clusters, seed)
        accuracy.append(acc), silhouette.append(sil), values.append(acc + sil)
    return KEstimate(_pick(values, options, True), "base_probes", options, values,
                     "probe accuracy + silhouette", True,
                     {"probe_accuracy": accuracy, "silhouette": silhouette})


def estimate_novel_count(estimator: str, novel: np.ndarray, k_range: Sequence[int], settings: ClusteringSettings,
                         seed: int, probes: np.ndarray | None = None,
                         probe_labels: np.ndarray | None = None) -> KEstimate:
    """discovery.k_estimator over discovery.k_range; base_probes needs the probes and their labels."""
    if estimator == "base_probes":
        if probes is None or probe_labels is None:
            raise ValueError("discovery.k_estimator base_probes needs the base probes")
        return estimate_base_probes(novel, probes, probe_labels, k_range, settings, seed)
    if estimator == "silhouette":
        return estimate_silhouette(novel, k_range, settings, seed)
    if estimator == "gmm_bic":
        return estimate_gmm_bic(novel, k_range, settings, seed)
    raise ValueError(f"discovery.k_estimator: unknown estimator {estimator!r} ({', '.join(ESTIMATORS)})")


def estimate_run(shard_dirs: Sequence[str | Path], probes_dir: str | Path | None, estimator: str,
                 k_range: Sequence[int], settings: ClusteringSettings, seed: int, run: dict[str, Any],
                 true_n: int | None, out_dir: str | Path) -> dict[str, Any]:
    """The estimate of one run (`run`: its fold, supervision and training seed, for the tables),
    written to estimate.json: N̂, the estimator, the candidate range, the criterion per candidate;
    `true_n` (the fold's definition, for the report) is recorded beside it and read by no estimator.
    `by_estimator` holds the estimate of every estimator the run's inputs allow (the chosen one too)."""
    from ncdss_core.discovery.probes import Probes  # here: the module's probe extraction needs torch

    _, novel = load_prototypes(shard_dirs)
    probes = Probes.load(probes_dir) if probes_dir is not None else None
    vectors, labels = (None, None) if probes is None else (probes.vectors, probes.labels)
    # every estimator whose inputs the run has, on the same prototypes: which one to trust is a
    # measurement (docs/results.md), and comparing them costs seconds against the base model's minutes
    names = [estimator, *(n for n in ESTIMATORS if n != estimator and (n != "base_probes" or probes is not None))]
    results = {name: estimate_novel_count(name, novel, k_range, settings, seed, vectors, labels) for name in names}
    result = results[estimator]
    record = {**run, **result.as_dict(), "k_range": [int(k) for k in k_range], "images": int(len(novel)),
              "probes": 0 if probes is None else len(probes.ids), "true_n": true_n,
              "by_estimator": {name: other.as_dict() for name, other in results.items()}}
    atomic_write_json(Path(out_dir) / ESTIMATE_FILE, record)
    return record
