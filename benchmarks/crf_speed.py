"""CRF stage throughput: ncdss_core.weak.crf.refine_many over a process pool vs a plain serial loop.

The serial baseline calls pydensecrf directly, image after image, with the same unary and the
same parameters (config.yaml `crf`). Both read the same images and seeds; the script checks that
the outputs are identical and prints images/s for each.

    .venv/bin/python benchmarks/crf_speed.py --root results/generated --images 200 --threads 2

The `*_images_per_s` and `speedup` figures are the best of `--repeats`, the `*_median` ones the
median (what benchmarks/run.py reports).

Seeds: `--seeds DIR` (a seeds/{variant}/{shard} folder) or, by default, the ground truth with a
band of 255 around every object (what the CRF sees is the same amount of work per pixel).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pydensecrf.densecrf as dcrf  # noqa: E402
import yaml  # noqa: E402

from ncdss_core.weak.crf import CRFParams, refine_many  # noqa: E402
from ncdss_core.data.datasets import open_dataset  # noqa: E402
from ncdss_core.data.files import read_label_png  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def plain_serial(images, seeds, n_labels, p):
    """The baseline: a plain loop over pydensecrf, nothing else."""
    out = []
    for rgb, seed in zip(images, seeds):
        h, w = seed.shape
        flat = seed.reshape(-1).astype(np.int64)
        prob = np.full((n_labels, h * w), p["confidence"] / n_labels, np.float32)
        ok = flat < n_labels
        prob[flat[ok], np.nonzero(ok)[0]] = p["confidence"]
        prob /= prob.sum(0, keepdims=True)
        unary = np.ascontiguousarray(-np.log(np.maximum(prob, p["min_prob"])), dtype=np.float32)
        crf = dcrf.DenseCRF2D(w, h, n_labels)
        crf.setUnaryEnergy(unary)
        crf.addPairwiseGaussian(sxy=p["gaussian_sxy"], compat=p["gaussian_compat"])
        crf.addPairwiseBilateral(sxy=p["bilateral_sxy"], srgb=p["bilateral_srgb"],
                                 rgbim=np.ascontiguousarray(rgb), compat=p["bilateral_compat"])
        q = np.asarray(crf.inference(p["iterations"]), np.float32).reshape(n_labels, h, w)
        q /= np.maximum(q.sum(0, keepdims=True), 1e-12)
        res = q.argmax(0).astype(np.uint8)
        res[q.max(0) < p["ignore_below"]] = 255
        out.append(res)
    return out


def gt_seed(label: np.ndarray) -> np.ndarray:
    seed = label.copy()
    edges = cv2.morphologyEx((label > 0).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((7, 7), np.uint8))
    seed[edges > 0] = 255
    return seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="results/generated")
    parser.add_argument("--kind", default="generated")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seeds", default="")
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    p = yaml.safe_load(open(args.config))["crf"]
    dataset = open_dataset(args.kind, args.root)
    if args.seeds:
        ids = sorted(f.stem for f in Path(args.seeds).glob("*.png"))[: args.images]
        seeds = [read_label_png(Path(args.seeds) / f"{i}.png") for i in ids]
    else:
        ids = list(dataset.ids("trainaug"))[: args.images]
        seeds = [gt_seed(dataset.read_label(i)) for i in ids]
    images = [dataset.read_image(i) for i in ids]
    n_labels = dataset.num_classes + 1
    pixels = sum(s.size for s in seeds)
    lookup = dict(zip(ids, zip(images, seeds)))

    serial_times, pool_times = [], []
    serial_cpu = time.process_time()
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu = children_cpu.ru_utime + children_cpu.ru_stime
    for _ in range(args.repeats):
        start = time.perf_counter()
        serial = plain_serial(images, seeds, n_labels, p)
        serial_times.append(time.perf_counter() - start)
        serial_cpu_used = time.process_time() - serial_cpu
        start = time.perf_counter()
        pooled = [r for _, r in refine_many(ids, lookup.__getitem__, n_labels, CRFParams.from_params(p),
                                            args.threads, p["chunksize"])]
        pool_times.append(time.perf_counter() - start)
        serial_cpu = time.process_time()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    pool_cpu = usage.ru_utime + usage.ru_stime - children_cpu
    identical = all(a.tobytes() == b.tobytes() for a, b in zip(serial, pooled))
    result = {
        "images": len(ids), "mean_pixels": pixels / len(ids), "threads": args.threads,
        "serial_images_per_s": len(ids) / min(serial_times),
        "pool_images_per_s": len(ids) / min(pool_times),
        "speedup": min(serial_times) / min(pool_times), "identical": identical, "repeats": args.repeats,
        "serial_images_per_s_median": len(ids) / statistics.median(serial_times),
        "pool_images_per_s_median": len(ids) / statistics.median(pool_times),
        "speedup_median": statistics.median(serial_times) / statistics.median(pool_times),
        "serial_cpu_s_last_repeat": serial_cpu_used, "pool_worker_cpu_s_all_repeats": pool_cpu,
        "cpu_count": os.cpu_count(), "load_avg_at_end": os.getloadavg(), "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
