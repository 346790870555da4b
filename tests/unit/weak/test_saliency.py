import numpy as np

from ncdss_core.weak.saliency import PostProcess, estimate_saliency, postprocess
from ncdss_core.weak.superpixels import felzenszwalb


def test_threshold_and_small_components_removed():
    soft = np.zeros((100, 100), np.uint8)
    soft[10:40, 10:40] = 200  # 9 % of the image: kept
    soft[80:85, 80:85] = 255  # 0.25 %: removed
    soft[60:70, 60:70] = 100  # below threshold 0.5
    mask, info = postprocess(soft)
    assert mask is not None and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    assert mask[20, 20] == 255 and mask[82, 82] == 0 and mask[65, 65] == 0
    assert info["components"] == 2 and info["components_removed"] == 1
    assert abs(info["salient_fraction"] - 0.09) < 1e-9


def test_float_input_and_binary_passthrough():
    soft = np.zeros((50, 50))
    soft[:20, :20] = 0.7
    mask, _ = postprocess(soft)
    again, _ = postprocess(mask)
    assert np.array_equal(mask, again)


def test_drop_reasons():
    empty = np.zeros((100, 100), np.uint8)
    mask, info = postprocess(empty)
    assert mask is None and "threshold" in info["reason"]
    specks = np.zeros((100, 100), np.uint8)
    specks[5:10, 5:10] = specks[50:55, 50:55] = 255
    mask, info = postprocess(specks)
    assert mask is None and "all 2 components" in info["reason"]
    # components large enough individually but too little in total under a stricter total threshold
    one = np.zeros((100, 100), np.uint8)
    one[0:15, 0:15] = 255  # 2.25 %
    mask, info = postprocess(one, PostProcess(min_total=0.05))
    assert mask is None and "below" in info["reason"]
    mask, _ = postprocess(one)
    assert mask is not None


def test_estimator_finds_central_object():
    rng = np.random.default_rng(0)
    img = (rng.normal(0, 6, (80, 120, 3)) + (90, 140, 90)).clip(0, 255).astype(np.uint8)
    img[25:55, 40:80] = (220, 40, 40)
    sal = estimate_saliency(img, felzenszwalb(img))
    assert sal.shape == (80, 120) and 0 <= sal.min() and sal.max() <= 1
    inside, outside = sal[30:50, 45:75].mean(), sal[:10].mean()
    assert inside > 0.8 and outside < 0.2
