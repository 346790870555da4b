from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ncdss_core.config import load_config
from ncdss_core.data.datasets import open_dataset
from ncdss_core.weak.superpixels import (
    SuperpixelParams,
    SuperpixelReader,
    SuperpixelStore,
    compact_labels,
    felzenszwalb,
    merge_regions,
    region_means,
    superpixel_shard,
    superpixels_of,
)

SECTION = load_config(Path(__file__).resolve().parents[3] / "config.yaml")["superpixels"]


def _blocks_image(h=40, w=70):
    """Non-square image made of flat colour blocks (each block a distinct colour)."""
    rng = np.random.default_rng(0)
    img = np.zeros((h, w, 3), np.uint8)
    block = np.zeros((h, w), np.int32)
    bid = 0
    for y0 in range(0, h, 10):
        for x0 in range(0, w, 10):
            img[y0:y0 + 10, x0:x0 + 10] = rng.integers(0, 255, 3)
            block[y0:y0 + 10, x0:x0 + 10] = bid
            bid += 1
    return img, block


def test_compact_labels_raster_order():
    lab = np.array([[7, 7, 3], [3, 9, 7]])
    out = compact_labels(lab)
    assert out.tolist() == [[0, 0, 1], [1, 2, 0]]


def test_felzenszwalb_segments_follow_colour_regions():
    img = np.zeros((30, 50, 3), np.uint8)
    img[:, 25:] = (200, 30, 30)
    lab = felzenszwalb(img, sigma=0.8, k=75, min_size=20)
    assert lab.shape == (30, 50) and lab.dtype == np.int32
    assert lab.min() == 0
    # no segment crosses the colour edge
    left, right = set(np.unique(lab[:, :24])), set(np.unique(lab[:, 26:]))
    assert not left & right


def test_region_means_bincount_equals_loop():
    rng = np.random.default_rng(1)
    lab = rng.integers(0, 5, (6, 9))
    feat = rng.normal(size=(6, 9, 3))
    means, sizes = region_means(lab, feat)
    for r in range(5):
        np.testing.assert_allclose(means[r], feat[lab == r].mean(0))
        assert sizes[r] == (lab == r).sum()


def test_merge_keeps_layout_on_non_square_image():
    img, block = _blocks_image(40, 70)  # 28 blocks, non-square
    feats = img.astype(np.float64) + 1.0
    merged = merge_regions(block, feats, max_regions=10)
    assert merged.shape == (40, 70)
    assert len(np.unique(merged)) == 10
    # every input region stays whole: the label is constant on each original block
    for b in np.unique(block):
        assert len(np.unique(merged[block == b])) == 1


def test_merge_joins_most_similar_regions_first():
    lab = np.zeros((4, 8), np.int32)
    lab[:, 2:4], lab[:, 4:6], lab[:, 6:] = 1, 2, 3
    feat = np.zeros((4, 8, 2))
    feat[lab == 0] = (1, 0)
    feat[lab == 1] = (0, 1)
    feat[lab == 2] = (1, 0.01)  # nearly parallel to region 0
    feat[lab == 3] = (-1, 1)
    merged = merge_regions(lab, feat, max_regions=3)
    assert merged[0, 0] == merged[0, 4]
    assert len({merged[0, 0], merged[0, 2], merged[0, 6]}) == 3


def test_no_merge_when_already_few():
    lab = np.arange(12).reshape(3, 4)
    assert np.array_equal(merge_regions(lab, np.ones((3, 4, 2)), 64), lab)


def test_store_roundtrip(tmp_path):
    lab = np.arange(35, dtype=np.int32).reshape(5, 7)
    with SuperpixelStore(tmp_path / "a.h5", "w") as store:
        store.write("img1", lab)
    with SuperpixelStore(tmp_path / "b.h5", "w") as store:
        store.write("img2", lab.T)
    reader = SuperpixelReader([tmp_path / "a.h5", tmp_path / "b.h5"])
    assert np.array_equal(reader.read("img1"), lab)
    assert np.array_equal(reader.read("img2"), lab.T)


def test_store_bytes_are_reproducible(tmp_path):
    lab = np.arange(35, dtype=np.int32).reshape(5, 7)
    digests = []
    for name in ("x.h5", "y.h5"):
        with SuperpixelStore(tmp_path / name, "w") as store:
            store.write("img1", lab)
        digests.append((tmp_path / name).read_bytes())
    assert digests[0] == digests[1]


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match="superpixels: unknown key\\(s\\) scale"):
        SuperpixelParams.from_params({**SECTION, "scale": 75})


def test_shard_store_holds_each_image_and_merge_caps_regions(small_voc, tmp_path):
    dataset = open_dataset("voc", small_voc)
    ids = list(dataset.ids("trainaug"))[:3]
    params = SuperpixelParams.from_params(SECTION)
    metrics = superpixel_shard(dataset, ids, tmp_path, params)
    reader = SuperpixelReader.from_shards([tmp_path])
    counts = []
    for image_id in ids:
        want = felzenszwalb(dataset.read_image(image_id), params.sigma, params.k, params.min_size)
        assert np.array_equal(reader.read(image_id), want)
        counts.append(int(want.max()) + 1)
    assert metrics == {"images": 3, "mean_regions": float(np.mean(counts)), "max_regions": max(counts)}
    merged = replace(params, merge=True, max_regions=2)
    assert superpixels_of(dataset.read_image(ids[0]), merged).max() + 1 <= 2 < counts[0]
