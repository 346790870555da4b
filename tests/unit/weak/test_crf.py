from pathlib import Path

import numpy as np
import pytest

from ncdss_core.config import load_config
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import read_label_png, write_label_png
from ncdss_core.weak.crf import CRFParams, crf_refine, crf_shard, refine_many, seed_unary

CRF = CRFParams.from_params(load_config(Path(__file__).resolve().parents[3] / "config.yaml")["crf"])


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
    u = seed_unary(seed, 21, CRF)
    p = np.exp(-u)
    np.testing.assert_allclose(p[1, 0], 0.512, atol=1e-3)
    np.testing.assert_allclose(p[0, 0], 0.0244, atol=1e-4)
    np.testing.assert_allclose(p[:, 1], 1 / 21, rtol=1e-5)


def test_crf_fills_object_and_keeps_labels():
    rgb, seed = _case(0)
    out = crf_refine(rgb, seed, 21, CRF)
    assert out.shape == seed.shape and out.dtype == np.uint8
    assert out[20, 20] == 1 and out[2, 2] == 0
    # the seed covers only the object's core; the CRF extends it to the whole red object, and the
    # unsure band off the object becomes background
    assert (out[10:30, 15:40] == 1).mean() > 0.95 > (seed[10:30, 15:40] == 1).mean()
    assert (out[6:9, 11:44] == 0).all()


def test_parallel_equals_serial_bit_for_bit():
    cases = {i: _case(i) for i in range(6)}
    serial = [crf_refine(*cases[i], 21, CRF) for i in range(6)]
    parallel = list(refine_many(list(range(6)), cases.__getitem__, 21, CRF, threads=2, chunksize=1))
    assert [k for k, _ in parallel] == list(range(6))
    for (_, got), want in zip(parallel, serial):
        assert got.tobytes() == want.tobytes()


def test_params_come_whole_from_the_config_section():
    section = load_config(Path(__file__).resolve().parents[3] / "config.yaml")["crf"]
    assert CRF.iterations == section["iterations"] and CRF.chunksize == section["chunksize"]
    with pytest.raises(ValueError, match="crf: unknown key\\(s\\) iteration "):
        CRFParams.from_params({**section, "iteration": 5})
    with pytest.raises(ValueError, match="crf: missing key\\(s\\) min_prob"):
        CRFParams.from_params({k: v for k, v in section.items() if k != "min_prob"})


def test_crf_shard_refines_every_seed_of_each_variant_shard(small_voc, tmp_path):
    """One pool refines the shard of every variant; each seed lands in its variant's directory."""
    dataset = open_dataset("voc", small_voc)
    ids = list(dataset.ids("trainaug"))[:4]
    seeds, outs = [tmp_path / "seeds_a", tmp_path / "seeds_b"], [tmp_path / "crf_a", tmp_path / "crf_b"]
    for directory in seeds + outs:
        directory.mkdir()
    for image_id in ids:
        label = dataset.read_label(image_id)
        write_label_png(seeds[0] / f"{image_id}.png", np.where(label == 255, 255, label).astype(np.uint8))
    for image_id in ids[:3]:  # a second variant: other seeds (everything ignored but a corner)
        seed = np.full(dataset.read_label(image_id).shape, 255, np.uint8)
        seed[:8, :8] = 0
        write_label_png(seeds[1] / f"{image_id}.png", seed)
    metrics = crf_shard(dataset, seeds, outs, CRF, threads=2)
    assert [m["images"] for m in metrics] == [4, 3]
    assert all(m["threads"] == 2 and m["images_per_second"] > 0 for m in metrics)
    for seed_dir, out, n in zip(seeds, outs, (4, 3)):
        assert sorted(p.stem for p in out.glob("*.png")) == sorted(ids[:n])
        for image_id in ids[:n]:
            want = crf_refine(dataset.read_image(image_id), read_label_png(seed_dir / f"{image_id}.png"),
                              dataset.num_classes + 1, CRF)
            assert read_label_png(out / f"{image_id}.png").tobytes() == want.tobytes()
    assert read_label_png(outs[0] / f"{ids[0]}.png").tobytes() != read_label_png(outs[1] / f"{ids[0]}.png").tobytes()
    with pytest.raises(ValueError, match="2 seed shards but 1 output"):
        crf_shard(dataset, seeds, outs[:1], CRF, threads=1)
