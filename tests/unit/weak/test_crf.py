import numpy as np

from ncdss_core.weak.crf import CRFParams, crf_refine, refine_many, seed_unary


def _case(i, h=40, w=56):
    rng = np.random.default_rng(i)
    rgb = rng.integers(0, 40, (h, w, 3)).astype(np.uint8)
    rgb[10:30, 15:40] = (200, 60, 60)
    seed = np.zeros((h, w), np.uint8)
    seed[6:34, 11:44] = 255  # unsure band around the object
    seed[13:27, 19:36] = 1 + i % 3  # the seed covers only the object's core
    return rgb, seed


def test_unary_values():
    seed = np.array([[1, 255]], np.uint8)
    u = seed_unary(seed, 21, CRFParams())
    p = np.exp(-u)
    np.testing.assert_allclose(p[1, 0], 0.512, atol=1e-3)
    np.testing.assert_allclose(p[0, 0], 0.0244, atol=1e-4)
    np.testing.assert_allclose(p[:, 1], 1 / 21, rtol=1e-5)


def test_crf_fills_object_and_keeps_labels():
    rgb, seed = _case(0)
    out = crf_refine(rgb, seed, 21)
    assert out.shape == seed.shape and out.dtype == np.uint8
    assert out[20, 20] == 1 and out[2, 2] == 0
    # the seed covers only the object's core; the CRF extends it to the whole red object, and the
    # unsure band off the object becomes background
    assert (out[10:30, 15:40] == 1).mean() > 0.95 > (seed[10:30, 15:40] == 1).mean()
    assert (out[6:9, 11:44] == 0).all()


def test_parallel_equals_serial_bit_for_bit():
    cases = {i: _case(i) for i in range(6)}
    serial = [crf_refine(*cases[i], 21) for i in range(6)]
    parallel = list(refine_many(list(range(6)), cases.__getitem__, 21, CRFParams(), threads=2, chunksize=1))
    assert [k for k, _ in parallel] == list(range(6))
    for (_, got), want in zip(parallel, serial):
        assert got.tobytes() == want.tobytes()
