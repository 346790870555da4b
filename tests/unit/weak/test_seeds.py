import numpy as np

from ncdss_core.weak.seeds import SeedParams, cam_seed, icd_seed, make_seed, upsample


def test_single_label_icd_seed():
    z = np.array([[[2.0, 0.5, -1.0, 0.0]]])  # one class, 1x4 image
    cam = np.ones_like(z)
    seed = icd_seed(cam, z, [7])
    # positive -> class, negative -> bg, exactly zero -> neither fg nor bg -> ignore
    assert seed.tolist() == [[7, 7, 0, 255]]


def test_multi_label_conflict_and_first_proposal():
    # pixels: 0 only class a proposes; 1 both propose, CAM favours b; 2 both negative; 3 a<0, b>0
    z = np.array([[[1.0, 1.0, -1.0, -1.0]],
                  [[-1.0, 1.0, -2.0, 2.0]]])
    cam = np.array([[[1.0, 0.2, 0.0, 0.0]],
                    [[0.0, 0.9, 0.0, 1.0]]])
    seed = icd_seed(cam, z, [3, 5])
    assert seed.tolist() == [[3, 5, 0, 5]]


def test_multi_label_tie_of_cam_weights_is_ignored():
    z = np.array([[[1.0, 1.0]], [[-1.0, 1.0]]])
    cam = np.zeros_like(z)  # ReLU(CAM) all zero: every class scores equally -> 255 on fg
    seed = icd_seed(cam, z, [1, 2])
    assert seed.tolist() == [[255, 255]]


def test_mixed_bg_fg_is_ignored():
    # class a negative, class b zero: not all classes negative (no bg), none positive (no fg) -> 255
    z = np.array([[[-1.0, -1.0]], [[0.0, -1.0]]])
    seed = icd_seed(np.ones_like(z), z, [1, 2])
    assert seed.tolist() == [[255, 0]]


def test_saliency_variant_replaces_background():
    z = np.array([[[2.0, 2.0, -1.0, -1.0] * 10]])  # 1 x 40
    sal = np.array([[1.0, 0.0, 1.0, 0.0] * 10])
    seed = icd_seed(np.ones_like(z), z, [4], sal, use_saliency=True)
    # fg & salient -> class; fg & not salient -> 255; not fg & salient -> 255; not fg & not salient -> bg
    assert seed[0, :4].tolist() == [4, 255, 255, 0]
    # no saliency mask (dropped): falls back to the ICD background
    seed2 = icd_seed(np.ones_like(z), z, [4], None, use_saliency=True)
    assert seed2.tolist() == icd_seed(np.ones_like(z), z, [4]).tolist()


def test_cam_seed_threshold_and_argmax():
    cam = np.array([[[10.0, 1.0, 0.5, -3.0]],
                    [[0.0, 4.0, 0.1, 1.0]]])
    seed = cam_seed(cam, [2, 9], SeedParams(cam_bg_threshold=0.2))
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
        seed = make_seed(variant, scores, saliency=np.ones((12, 17)))
        assert seed.shape == (12, 17)
        assert set(np.unique(seed)) <= {0, 1, 4, 255}
