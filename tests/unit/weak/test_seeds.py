from pathlib import Path

import numpy as np
import pytest

from ncdss_core.config import load_config
from ncdss_core.data.files import read_label_png, write_ids
from ncdss_core.weak.scores import ScoreStore
from ncdss_core.weak.seeds import SeedParams, cam_seed, collect_labels, icd_seed, make_seed, seed_shard, upsample

SECTION = load_config(Path(__file__).resolve().parents[3] / "config.yaml")["seeds"]
PARAMS = SeedParams.from_params({k: SECTION[k] for k in ("cam_bg_threshold", "sal_bg_threshold",
                                                          "sal_min_fraction")})


def test_single_label_icd_seed():
    z = np.array([[[2.0, 0.5, -1.0, 0.0]]])  # one class, 1x4 image
    cam = np.ones_like(z)
    seed = icd_seed(cam, z, [7], PARAMS)
    # positive -> class, negative -> bg, exactly zero -> neither fg nor bg -> ignore
    assert seed.tolist() == [[7, 7, 0, 255]]


def test_multi_label_conflict_and_first_proposal():
    # pixels: 0 only class a proposes; 1 both propose, CAM favours b; 2 both negative; 3 a<0, b>0
    z = np.array([[[1.0, 1.0, -1.0, -1.0]],
                  [[-1.0, 1.0, -2.0, 2.0]]])
    cam = np.array([[[1.0, 0.2, 0.0, 0.0]],
                    [[0.0, 0.9, 0.0, 1.0]]])
    seed = icd_seed(cam, z, [3, 5], PARAMS)
    assert seed.tolist() == [[3, 5, 0, 5]]


def test_multi_label_tie_of_cam_weights_is_ignored():
    z = np.array([[[1.0, 1.0]], [[-1.0, 1.0]]])
    cam = np.zeros_like(z)  # ReLU(CAM) all zero: every class scores equally -> 255 on fg
    seed = icd_seed(cam, z, [1, 2], PARAMS)
    assert seed.tolist() == [[255, 255]]


def test_mixed_bg_fg_is_ignored():
    # class a negative, class b zero: not all classes negative (no bg), none positive (no fg) -> 255
    z = np.array([[[-1.0, -1.0]], [[0.0, -1.0]]])
    seed = icd_seed(np.ones_like(z), z, [1, 2], PARAMS)
    assert seed.tolist() == [[255, 0]]


def test_saliency_variant_replaces_background():
    z = np.array([[[2.0, 2.0, -1.0, -1.0] * 10]])  # 1 x 40
    sal = np.array([[1.0, 0.0, 1.0, 0.0] * 10])
    seed = icd_seed(np.ones_like(z), z, [4], PARAMS, sal, use_saliency=True)
    # fg & salient -> class; fg & not salient -> 255; not fg & salient -> 255; not fg & not salient -> bg
    assert seed[0, :4].tolist() == [4, 255, 255, 0]
    # no saliency mask (dropped): falls back to the ICD background
    seed2 = icd_seed(np.ones_like(z), z, [4], PARAMS, None, use_saliency=True)
    assert seed2.tolist() == icd_seed(np.ones_like(z), z, [4], PARAMS).tolist()


def test_cam_seed_threshold_and_argmax():
    cam = np.array([[[10.0, 1.0, 0.5, -3.0]],
                    [[0.0, 4.0, 0.1, 1.0]]])
    params = SeedParams(cam_bg_threshold=0.2, sal_bg_threshold=0.01, sal_min_fraction=0.01)
    seed = cam_seed(cam, [2, 9], params)
    # normalised: a = [1, .1, .05, 0], b = [0, 1, .025, .25]
    assert seed.tolist() == [[2, 9, 0, 9]]


def test_upsample_crops_top_left():
    s = np.zeros((1, 3, 3), np.float32)
    s[0, 0, 0] = 1.0
    up = upsample(s, 17, 10, 6)
    assert up.shape == (1, 10, 6) and up[0, 0, 0] == up.max()


def test_make_seed_variants_shapes():
    scores = {"cam": np.random.default_rng(0).normal(size=(2, 3, 3)).astype(np.float32),
              "icd": np.random.default_rng(1).normal(size=(2, 3, 3)).astype(np.float32),
              "classes": [1, 4], "height": 12, "width": 17, "size": 17}
    for variant in ("cam", "icd", "icd_sal"):
        seed = make_seed(variant, scores, PARAMS, saliency=np.ones((12, 17)))
        assert seed.shape == (12, 17)
        assert set(np.unique(seed)) <= {0, 1, 4, 255}


def test_unknown_seed_key_is_named():
    with pytest.raises(ValueError, match="seeds: unknown key\\(s\\) variants"):
        SeedParams.from_params(SECTION)  # the rule passes the thresholds only


def _scores_shard(directory: Path) -> dict[str, dict]:
    """A scores shard as icd_scores writes it, with made-up scores for three images."""
    rng = np.random.default_rng(0)
    directory.mkdir()
    scores = {f"im{i}": {"cam": rng.normal(size=(2, 3, 3)).astype(np.float32),
                         "icd": rng.normal(size=(2, 3, 3)).astype(np.float32),
                         "height": 12, "width": 17, "size": 17} for i in range(3)}
    with ScoreStore(directory / "scores.h5", "w") as store:
        for image_id, entry in scores.items():
            store.write(image_id, entry, [1, 4])
    write_ids(directory / "ids.txt", list(scores))
    return {i: {**e, "classes": [1, 4]} for i, e in scores.items()}


def test_seed_shard_writes_one_seed_per_scored_image(tmp_path):
    scores = _scores_shard(tmp_path / "scores")
    saliency = tmp_path / "saliency"
    saliency.mkdir()
    mask = np.zeros((12, 17), np.uint8)
    mask[2:10, 3:12] = 255
    from PIL import Image

    Image.fromarray(mask).save(saliency / "im0.png")  # im1, im2: dropped by the saliency stage
    for variant in ("icd", "icd_sal"):
        out = tmp_path / variant
        out.mkdir()
        metrics = seed_shard(variant, tmp_path / "scores", out, PARAMS,
                             saliency if variant == "icd_sal" else None)
        assert metrics["images"] == 3 and 0 < metrics["labelled_fraction"] <= 1
        for image_id, entry in scores.items():
            sal = mask / 255.0 if variant == "icd_sal" and image_id == "im0" else None
            want = make_seed(variant, entry, PARAMS, sal)
            assert read_label_png(out / f"{image_id}.png").tolist() == want.tolist()
    with pytest.raises(ValueError, match="icd_sal needs the saliency masks"):
        seed_shard("icd_sal", tmp_path / "scores", tmp_path / "icd_sal", PARAMS)


def test_collect_labels_copies_every_shard_byte_for_byte(tmp_path):
    for shard, names in (("000", ["a", "c"]), ("001", ["b"])):
        (tmp_path / shard).mkdir()
        for name in names:
            (tmp_path / shard / f"{name}.png").write_bytes(name.encode() * 3)
    (tmp_path / "out").mkdir()
    assert collect_labels([tmp_path / "000", tmp_path / "001"], tmp_path / "out") == {"images": 3}
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == {
        "a.png": b"aaa", "b.png": b"bbb", "c.png": b"ccc"}
