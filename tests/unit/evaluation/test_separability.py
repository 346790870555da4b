"""The separability diagnostic of discovery.k auto: whether the true novel classes form clusters in the
clustering's space. Separate classes score near 1, classes that share one cloud near 0."""

import numpy as np

from ncdss_core.discovery.settings import ClusteringSettings
from ncdss_core.evaluation.separability import novel_separability, single_novel_class, write_separability
from ncdss_core.io.atomic import read_json

SETTINGS = ClusteringSettings(pca_dim=16, whiten=False, n_init=10, max_iter=300)


def classes(count: int, per: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` Gaussian classes of `per` points in 32 dimensions, centres `spread` apart in scale."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(count, 32))
    labels = np.repeat(np.arange(count), per)
    return centres[labels] + rng.normal(size=(len(labels), 32)), labels


def test_an_image_counts_for_a_class_only_when_it_shows_exactly_one_novel_class():
    image_classes = {"a": [1, 3], "b": [3, 5], "c": [2], "d": [1, 2]}
    assert single_novel_class(["a", "b", "c", "d"], image_classes, [3, 5]).tolist() == [3, -1, -1, -1]


def test_separate_classes_score_high_and_one_shared_cloud_scores_near_zero():
    points, labels = classes(4, 40, spread=6.0)
    separate = novel_separability(points, labels, 4, SETTINGS, seed=0)
    assert separate["silhouette_true"] > 0.5 and separate["ari_kmeans_true_n"] > 0.95
    cloud, _ = classes(1, 160, spread=0.0)
    mixed = novel_separability(cloud, labels, 4, SETTINGS, seed=0)
    assert abs(mixed["silhouette_true"]) < 0.05 and abs(mixed["ari_kmeans_true_n"]) < 0.1


def test_images_with_two_novel_classes_stay_out_of_the_scores_and_undefined_cases_give_none():
    points, labels = classes(3, 30, spread=6.0)
    blurred = labels.copy()
    blurred[::3] = -1
    record = novel_separability(points, blurred, 3, SETTINGS, seed=0)
    assert record["images"] == 90 and record["images_one_novel_class"] == 60 and record["classes_seen_alone"] == 3
    assert record["silhouette_true"] > 0.5
    alone = novel_separability(points, np.where(labels == 0, 0, -1), 3, SETTINGS, seed=0)
    assert alone["silhouette_true"] is None and alone["ari_kmeans_true_n"] is None


def test_the_record_is_written_beside_the_estimate_from_the_shards_prototypes(tmp_path):
    points, labels = classes(3, 20, spread=6.0)
    shard = tmp_path / "shard"
    shard.mkdir()
    ids = [f"i{n:03d}" for n in range(len(points))]
    np.savez_compressed(shard / "prototypes.npz", ids=np.array(ids), vectors=points.astype(np.float32))
    novel = [7, 9, 11]
    record = write_separability([shard], {i: [4, novel[c]] for i, c in zip(ids, labels)}, novel, SETTINGS, 0, tmp_path)
    assert read_json(tmp_path / "separability.json") == record
    assert record["true_n"] == 3 and record["ari_kmeans_true_n"] > 0.95
