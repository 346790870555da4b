import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ncdss_core.discovery.base_removal import base_removal, keep_novel, prototype, upsampling_weights
from ncdss_core.discovery.clustering import cluster_prototypes, fuse, order_by_id
from ncdss_core.discovery.settings import ClusteringSettings

PCA_KMEANS = ClusteringSettings(pca_dim=8, whiten=True, n_init=10, max_iter=300)


def _probs(classes: np.ndarray, confidence: np.ndarray, c: int = 4) -> torch.Tensor:
    """Hand-built softmax: `confidence` on the given class, the rest spread evenly."""
    h, w = classes.shape
    p = np.repeat(((1 - confidence) / (c - 1))[None], c, axis=0)
    for k in range(c):
        p[k][classes == k] = confidence[classes == k]
    return torch.from_numpy(p)


def test_base_removal_keeps_only_confident_base_and_salient_rest():
    classes = np.array([[0, 1, 2, 3]])
    conf = np.array([[0.95, 0.95, 0.85, 0.91]])
    sal = np.array([[255, 255, 255, 0]], np.uint8)
    r = base_removal(_probs(classes, conf), sal, 0.9)
    # bg is never "confident base"; class 2 at 0.85 is not confident; class 3 is confident
    assert r.high_base.tolist() == [[0, 1, 0, 3]]
    # novel = salient and not confidently base: bg pixel and the unconfident class-2 pixel
    assert r.novel_mask.tolist() == [[True, False, True, False]]
    # exactly tau is not confident (strict >)
    r = base_removal(_probs(np.array([[1]]), np.array([[0.9]])), np.array([[1]]), 0.9)
    assert r.high_base.tolist() == [[0]] and r.novel_mask.tolist() == [[True]]


def test_minimum_size_filter_is_a_fraction_of_the_image():
    small = np.zeros((100, 100), bool)
    small[:8, :10] = True                      # 80 px = 0.8 %
    assert not keep_novel(small, 0.008)        # not strictly more
    small[8, 0] = True
    assert keep_novel(small, 0.008)
    big = np.zeros((1000, 1000), bool)          # the same fraction at 10x the resolution
    big[:80, :100] = True                       # 8000 px = 0.8 %: dropped, like 80 px at 100x100
    assert not keep_novel(big, 0.008)
    big[80, :1] = True
    assert keep_novel(big, 0.008)


def test_prototype_equals_normalised_masked_mean_of_upsampled_features():
    torch.manual_seed(0)
    feats = torch.randn(7, 4, 5, dtype=torch.float64)
    mask = np.zeros((32, 40), np.uint8)
    mask[5:20, 10:33] = 1
    up = F.interpolate(feats[None], size=(32, 40), mode="bilinear", align_corners=False)[0]
    direct = (up * torch.from_numpy(mask)).sum((1, 2))
    direct = (direct / direct.norm()).numpy()
    assert np.allclose(prototype(feats.float(), mask), direct, atol=1e-5)
    assert np.isclose(np.linalg.norm(prototype(feats.float(), mask)), 1.0, atol=1e-6)
    assert upsampling_weights(torch.ones(32, 40), (4, 5)).sum().item() == pytest.approx(32 * 40)


def test_kmeans_is_identical_twice_and_finds_separated_groups():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 50)) * 5
    x = np.concatenate([c + rng.normal(size=(20, 50)) for c in centres])
    a = cluster_prototypes(x, 3, PCA_KMEANS, seed=1)
    b = cluster_prototypes(x, 3, PCA_KMEANS, seed=1)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.embedding, b.embedding)
    assert a.embedding.shape == (60, 8)
    assert np.allclose(a.embedding.std(0, ddof=1), 1.0, atol=1e-6)  # whitened
    groups = [set(a.labels[i * 20:(i + 1) * 20]) for i in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set().union(*groups)) == 3
    with pytest.raises(ValueError):
        cluster_prototypes(x[:2], 3, PCA_KMEANS, 1)


def test_fused_labels_follow_the_reference_rule():
    high_base = np.array([[0, 3, 0, 15]], np.uint8)
    novel = np.array([[1, 1, 0, 0]], np.uint8)
    # b if b > 0; else B + e (e = cluster + 1) on the novel mask; else 0; base wins conflicts
    assert fuse(high_base, novel, 4, 15).tolist() == [[20, 3, 0, 15]]
    assert fuse(high_base, novel, 0, 15).tolist() == [[16, 3, 0, 15]]
    assert 255 not in fuse(high_base, novel, 9, 15)


def test_order_by_id_makes_clusters_independent_of_shard_order():
    ids, vecs = order_by_id(["c", "a", "b"], np.array([[3.0], [1.0], [2.0]]))
    assert ids == ["a", "b", "c"] and vecs.ravel().tolist() == [1.0, 2.0, 3.0]


def test_feature_source_under_auto_follows_the_weights_file():
    from ncdss_core.discovery.base_removal import feature_source

    assert feature_source("auto", "") == "base"
    assert feature_source("auto", "imagenet.pth") == "imagenet"
    assert feature_source("base", "imagenet.pth") == "base"
