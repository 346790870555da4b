"""The estimate of the number of novel classes (discovery.k auto): each estimator finds the count of
well-separated synthetic clusters; base_probes reads the probes' labels and nothing else."""

import inspect

import numpy as np
import pytest

from ncdss_core.discovery.cluster_count import auto_factor, k_label, resolve_k
from ncdss_core.discovery.k_estimation import (
    ESTIMATORS,
    candidates,
    cluster_accuracy,
    estimate_base_probes,
    estimate_novel_count,
    estimate_run,
)
from ncdss_core.discovery.probes import Probes
from ncdss_core.discovery.settings import ClusteringSettings
from ncdss_core.io.atomic import read_json

# unwhitened PCA: whitening would give the noise directions beyond the clusters' span the same weight
SETTINGS = ClusteringSettings(pca_dim=32, whiten=False, n_init=10, max_iter=300)
K_RANGE = [2, 12]
BASE_CLASSES = 6


def blobs(count: int, per: int = 30, dim: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` Gaussian clusters, centres ~8.5 apart against a within-cluster spread of ~1.7."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count, dim))
    centres *= 6.0 * np.sqrt(2) / np.linalg.norm(centres, axis=1, keepdims=True)
    points = np.concatenate([c + 0.15 * rng.normal(size=(per, dim)) for c in centres])
    return points, np.repeat(np.arange(count), per)


def novel_and_probes(true_n: int):
    """Novel prototypes of `true_n` classes and labelled probes of BASE_CLASSES base classes."""
    points, labels = blobs(true_n + BASE_CLASSES)
    novel = labels < true_n
    return points[novel], points[~novel], labels[~novel] - true_n + 1


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("true_n", [3, 5, 8])
def test_each_estimator_recovers_the_number_of_clusters(estimator, true_n):
    novel, probes, probe_labels = novel_and_probes(true_n)
    result = estimate_novel_count(estimator, novel, K_RANGE, SETTINGS, seed=0, probes=probes,
                                  probe_labels=probe_labels)
    assert result.n_hat == true_n
    assert result.candidates == list(range(2, 13)) and len(result.criterion) == 11
    best = max if result.higher_is_better else min
    assert result.criterion[result.candidates.index(true_n)] == best(v for v in result.criterion if v is not None)


def test_the_same_seed_gives_the_same_estimate():
    novel, probes, labels = novel_and_probes(5)
    first = estimate_base_probes(novel, probes, labels, K_RANGE, SETTINGS, seed=3).as_dict()
    assert estimate_base_probes(novel, probes, labels, K_RANGE, SETTINGS, seed=3).as_dict() == first


def test_base_probes_reads_the_probe_labels_given_to_it_and_no_other_label():
    # its only labels are the probes': the signature takes no label of a novel prototype
    assert [p for p in inspect.signature(estimate_base_probes).parameters] == [
        "novel", "probes", "probe_labels", "k_range", "settings", "seed"]
    novel, probes, labels = novel_and_probes(5)
    result = estimate_base_probes(novel, probes, labels, K_RANGE, SETTINGS, seed=0)
    # renaming the base classes changes nothing: only the partition the labels make counts
    renamed = estimate_base_probes(novel, probes, labels * 7 + 100, K_RANGE, SETTINGS, seed=0)
    assert renamed.as_dict() == result.as_dict()
    # labels that no longer follow the clusters: the probe accuracy (read from them) falls everywhere
    scrambled = np.random.default_rng(0).permutation(labels)
    noisy = estimate_base_probes(novel, probes, scrambled, K_RANGE, SETTINGS, seed=0)
    assert all(a < b for a, b in zip(noisy.parts["probe_accuracy"], result.parts["probe_accuracy"]))


def test_base_probes_needs_probes_with_one_label_each():
    novel, probes, labels = novel_and_probes(3)
    with pytest.raises(ValueError, match="needs the base probes"):
        estimate_novel_count("base_probes", novel, K_RANGE, SETTINGS, seed=0)
    with pytest.raises(ValueError, match="vectors and"):
        estimate_base_probes(novel, probes, labels[:-1], K_RANGE, SETTINGS, seed=0)
    with pytest.raises(ValueError, match="unknown estimator 'elbow'"):
        estimate_novel_count("elbow", novel, K_RANGE, SETTINGS, seed=0)


def test_candidates_beyond_the_number_of_prototypes_are_skipped():
    novel, _ = blobs(3, per=2)  # 6 prototypes
    result = estimate_novel_count("silhouette", novel, [2, 8], SETTINGS, seed=0)
    assert result.criterion[-3:] == [None, None, None] and result.n_hat == 3
    with pytest.raises(ValueError, match="k_range"):
        candidates([5, 4])


def test_cluster_accuracy_counts_merges_and_splits():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert cluster_accuracy(labels, np.array([5, 5, 5, 5, 2, 2, 2, 2])) == 1.0
    assert cluster_accuracy(labels, np.zeros(8, dtype=int)) == 0.5          # merged
    assert cluster_accuracy(labels, np.array([0, 0, 1, 1, 2, 2, 2, 2])) == 0.75  # one class split


def prototype_shard(tmp_path, novel):
    """A base_removal shard holding the novel prototypes `novel`."""
    shard = tmp_path / "shard"
    shard.mkdir()
    np.savez_compressed(shard / "prototypes.npz", ids=np.array([f"i{n:03d}" for n in range(len(novel))]),
                        vectors=novel.astype(np.float32))
    return shard


def test_the_estimate_artifact_records_the_run_the_range_and_every_candidate(tmp_path):
    novel, probes, labels = novel_and_probes(3)
    shard = prototype_shard(tmp_path, novel)
    Probes([f"b{n}" for n in range(len(probes))], labels, probes.astype(np.float32)).save(tmp_path)
    out = tmp_path / "estimate"
    out.mkdir()
    run = {"fold": 10, "supervision": "weak", "seed": 7}
    estimate_run([shard], tmp_path, "base_probes", [2, 6], SETTINGS, 0, run, 3, out)
    record = read_json(out / "estimate.json")
    assert {k: record[k] for k in ("fold", "supervision", "seed", "n_hat", "estimator", "k_range", "true_n")} == {
        "fold": 10, "supervision": "weak", "seed": 7, "n_hat": 3, "estimator": "base_probes", "k_range": [2, 6],
        "true_n": 3}
    assert record["candidates"] == [2, 3, 4, 5, 6] and len(record["criterion"]) == 5
    assert record["probes"] == len(probes) and record["images"] == len(novel)
    assert resolve_k("auto_x2", out) == 6 and resolve_k("auto_x1", out) == 3 and resolve_k(10, None) == 10
    # every estimator on the same prototypes beside the chosen one, which the record's top level is
    assert set(record["by_estimator"]) == {"base_probes", "silhouette", "gmm_bic"}
    assert record["by_estimator"]["base_probes"]["criterion"] == record["criterion"]
    assert all(other["n_hat"] == 3 for other in record["by_estimator"].values())


def test_without_probes_the_record_holds_the_estimators_that_need_none(tmp_path):
    novel, _, _ = novel_and_probes(5)
    record = estimate_run([prototype_shard(tmp_path, novel)], None, "gmm_bic", [2, 8], SETTINGS, 0, {"fold": 12}, 5, tmp_path)
    assert record["estimator"] == "gmm_bic" and set(record["by_estimator"]) == {"gmm_bic", "silhouette"}
    assert record["by_estimator"]["gmm_bic"]["criterion"] == record["criterion"] and record["n_hat"] == 5


def test_k_labels_name_integer_k_as_before_and_auto_by_its_factor():
    assert k_label(10, 2, 5, overclustering=True) == 10 and k_label(10, 2, 5, overclustering=False) == 5
    assert k_label("auto", 3, 0, overclustering=True) == "auto_x3"
    assert k_label("auto", 3, 0, overclustering=False) == "auto_x1"
    assert auto_factor("auto_x2") == 2 and auto_factor("10") is None
    with pytest.raises(ValueError, match="auto_x"):
        auto_factor("auto")
    with pytest.raises(ValueError, match="k_estimate artifact"):
        resolve_k("auto_x2", None)
