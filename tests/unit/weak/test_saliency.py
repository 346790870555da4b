import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ncdss_core.config import load_config
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import read_grey_png
from ncdss_core.weak.saliency import PostProcess, SaliencyParams, estimate_saliency, postprocess, saliency_shard
from ncdss_core.weak.superpixels import SuperpixelParams, felzenszwalb, superpixel_shard

CONFIG = load_config(Path(__file__).resolve().parents[3] / "config.yaml")
PARAMS = SaliencyParams.from_params(CONFIG["saliency"])
POST = PARAMS.post


def test_threshold_and_small_components_removed():
    soft = np.zeros((100, 100), np.uint8)
    soft[10:40, 10:40] = 200  # 9 % of the image: kept
    soft[80:85, 80:85] = 255  # 0.25 %: removed
    soft[60:70, 60:70] = 100  # below threshold 0.5
    mask, info = postprocess(soft, POST)
    assert mask is not None and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    assert mask[20, 20] == 255 and mask[82, 82] == 0 and mask[65, 65] == 0
    assert info["components"] == 2 and info["components_removed"] == 1
    assert abs(info["salient_fraction"] - 0.09) < 1e-9


def test_float_input_and_binary_passthrough():
    soft = np.zeros((50, 50))
    soft[:20, :20] = 0.7
    mask, _ = postprocess(soft, POST)
    again, _ = postprocess(mask, POST)
    assert np.array_equal(mask, again)


def test_drop_reasons():
    empty = np.zeros((100, 100), np.uint8)
    mask, info = postprocess(empty, POST)
    assert mask is None and "threshold" in info["reason"]
    specks = np.zeros((100, 100), np.uint8)
    specks[5:10, 5:10] = specks[50:55, 50:55] = 255
    mask, info = postprocess(specks, POST)
    assert mask is None and "all 2 components" in info["reason"]
    # components large enough individually but too little in total under a stricter total threshold
    one = np.zeros((100, 100), np.uint8)
    one[0:15, 0:15] = 255  # 2.25 %
    mask, info = postprocess(one, replace(POST, min_total=0.05))
    assert mask is None and "below" in info["reason"]
    mask, _ = postprocess(one, POST)
    assert mask is not None


def test_estimator_finds_central_object():
    rng = np.random.default_rng(0)
    img = (rng.normal(0, 6, (80, 120, 3)) + (90, 140, 90)).clip(0, 255).astype(np.uint8)
    img[25:55, 40:80] = (220, 40, 40)
    sal = estimate_saliency(img, felzenszwalb(img, 0.8, 75, 75), 0.5)
    assert sal.shape == (80, 120) and 0 <= sal.min() and sal.max() <= 1
    inside, outside = sal[30:50, 45:75].mean(), sal[:10].mean()
    assert inside > 0.8 and outside < 0.2


def test_unknown_keys_are_named():
    with pytest.raises(ValueError, match="saliency: unknown key\\(s\\) treshold"):
        SaliencyParams.from_params({**CONFIG["saliency"], "treshold": 0.5})
    with pytest.raises(ValueError, match="unknown key\\(s\\) source"):
        PostProcess.from_params({"source": "import", "threshold": 0.5, "min_component": 0.01, "min_total": 0.01})
    with pytest.raises(ValueError, match="saliency.source: 'guess'"):
        SaliencyParams.from_params({**CONFIG["saliency"], "source": "guess"})


def test_imported_shard_masks_and_drop_reasons(small_voc, tmp_path):
    (small_voc / "saliency_supervised_model" / "tr_001.png").unlink()
    dataset = open_dataset("voc", small_voc)
    ids = ["tr_000", "tr_001", "tr_002"]
    metrics = saliency_shard(dataset, ids, tmp_path, PARAMS)
    assert metrics == {"images": 3, "kept": 2, "dropped": 1}
    dropped = json.loads((tmp_path / "dropped.json").read_text())
    assert dropped == {"tr_001": {"reason": "the dataset ships no saliency map for this image"}}
    want, _ = postprocess(dataset.read_saliency("tr_002"), POST)
    assert np.array_equal(read_grey_png(tmp_path / "tr_002.png"), want)


def test_estimated_shard_reads_the_superpixels_artifact(small_voc, tmp_path):
    dataset = open_dataset("voc", small_voc)
    ids = list(dataset.ids("trainaug"))[:3]
    (tmp_path / "sp").mkdir()
    (tmp_path / "sal").mkdir()
    superpixel_shard(dataset, ids, tmp_path / "sp", SuperpixelParams.from_params(CONFIG["superpixels"]))
    estimate = replace(PARAMS, source="estimate")
    metrics = saliency_shard(dataset, ids, tmp_path / "sal", estimate, tmp_path / "sp")
    assert metrics["images"] == 3 and metrics["kept"] + metrics["dropped"] == 3 and metrics["kept"] >= 1
    kept = sorted(p.stem for p in (tmp_path / "sal").glob("*.png"))
    assert len(kept) == metrics["kept"]
    assert read_grey_png(tmp_path / "sal" / f"{kept[0]}.png").shape == dataset.read_image(kept[0]).shape[:2]
    with pytest.raises(ValueError, match="works on superpixels"):
        saliency_shard(dataset, ids, tmp_path / "sal", estimate)
