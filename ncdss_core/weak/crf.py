"""Dense CRF refinement of hard seeds (reference icd.md §4.3) with pydensecrf, parallel over images.

Unary from the hard seed: the seed label gets `confidence`, every label (all of them, not only the
image's) gets confidence / n_labels, renormalised per pixel; an ignored pixel is uniform. Gaussian
(sxy 3, compat 3) and bilateral (sxy 80, srgb 13, compat 10) kernels, 10 mean-field iterations,
argmax, and 255 where the winning probability is below `ignore_below`.

Images are independent, so `refine_many` maps them over a process pool of the rule's threads; each
worker runs one single-threaded CRF at a time. Results come back in input order and are the same
bytes as the serial loop (pydensecrf is deterministic per image).
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ncdss_core.data.files import id_path, read_label_png, write_label_png
from ncdss_core.data.folds import IGNORE
from ncdss_core.settings import Settings
from ncdss_core.runtime import get_logger, progress


@dataclass(frozen=True)
class CRFParams(Settings):
    """The `crf` config section."""
    SECTION = "crf"
    confidence: float
    gaussian_sxy: float
    gaussian_compat: float
    bilateral_sxy: float
    bilateral_srgb: float
    bilateral_compat: float
    iterations: int
    ignore_below: float
    min_prob: float
    chunksize: int  # images handed to a pool worker at a time (no effect on the result)


def seed_unary(seed: np.ndarray, n_labels: int, params: CRFParams) -> np.ndarray:
    """-log p of the hard-seed distribution, float32 (n_labels, h*w)."""
    flat = seed.reshape(-1).astype(np.int64)
    prob = np.full((n_labels, flat.size), params.confidence / n_labels, np.float32)
    labelled = flat < n_labels
    prob[flat[labelled], np.nonzero(labelled)[0]] = params.confidence
    prob /= prob.sum(0, keepdims=True)
    return np.ascontiguousarray(-np.log(np.maximum(prob, params.min_prob)), dtype=np.float32)


def crf_refine(rgb: np.ndarray, seed: np.ndarray, n_labels: int, params: CRFParams) -> np.ndarray:
    """Refined label map (uint8; 0..n_labels-1, 255 where the max probability < ignore_below)."""
    import pydensecrf.densecrf as dcrf

    h, w = seed.shape
    if rgb.shape[:2] != (h, w):
        raise ValueError(f"image {rgb.shape[:2]} and seed {seed.shape} differ in size")
    crf = dcrf.DenseCRF2D(w, h, n_labels)
    crf.setUnaryEnergy(seed_unary(seed, n_labels, params))
    crf.addPairwiseGaussian(sxy=params.gaussian_sxy, compat=params.gaussian_compat)
    crf.addPairwiseBilateral(sxy=params.bilateral_sxy, srgb=params.bilateral_srgb,
                             rgbim=np.ascontiguousarray(rgb, dtype=np.uint8), compat=params.bilateral_compat)
    q = np.asarray(crf.inference(params.iterations), dtype=np.float32).reshape(n_labels, h, w)
    q /= np.maximum(q.sum(0, keepdims=True), 1e-12)
    out = q.argmax(0).astype(np.uint8)
    out[q.max(0) < params.ignore_below] = IGNORE
    return out


# --- parallel map -------------------------------------------------------------------------------
_STATE: dict = {}


def _init_worker(load: Callable, n_labels: int, params: CRFParams) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    _STATE.update(load=load, n_labels=n_labels, params=params)


def _work(key):
    rgb, seed = _STATE["load"](key)
    return key, crf_refine(rgb, seed, _STATE["n_labels"], _STATE["params"])


def refine_many(keys: Sequence, load: Callable[[object], tuple[np.ndarray, np.ndarray]], n_labels: int,
                params: CRFParams, threads: int, chunksize: int) -> Iterator[tuple]:
    """(key, refined) for every key, in order. `load(key)` -> (rgb, seed) runs in the workers, so
    decoding is parallel too. threads <= 1 runs in this process."""
    if threads <= 1 or len(keys) <= 1:
        _init_worker(load, n_labels, params)
        for key in keys:
            yield _work(key)
        return
    # fork: workers inherit `load` (closures are fine) and never touch torch
    ctx = mp.get_context("fork")
    with ctx.Pool(min(threads, len(keys)), initializer=_init_worker, initargs=(load, n_labels, params)) as pool:
        yield from pool.imap(_work, keys, chunksize=max(1, chunksize))


def crf_shard(dataset: Any, seeds_dirs: Sequence[str | os.PathLike], out_dirs: Sequence[str | os.PathLike],
              params: CRFParams, threads: int) -> list[dict[str, Any]]:
    """Every seed `<id>.png` of each seeds shard (one per seed variant) refined into the matching
    out_dir, all over one pool of `threads` processes; metrics per shard."""
    if len(seeds_dirs) != len(out_dirs):
        raise ValueError(f"{len(seeds_dirs)} seed shards but {len(out_dirs)} output directories")
    seeds = [Path(d) for d in seeds_dirs]
    keys = [(i, f.stem) for i, directory in enumerate(seeds) for f in sorted(directory.glob("*.png"))]
    logger = get_logger("crf")

    def load(key: tuple[int, str]) -> tuple[np.ndarray, np.ndarray]:
        shard, image_id = key
        return dataset.read_image(image_id), read_label_png(id_path(seeds[shard], image_id, ".png"))

    start = time.monotonic()
    results = refine_many(keys, load, dataset.num_classes + 1, params, threads, params.chunksize)
    for (shard, image_id), refined in progress(results, total=len(keys), label="crf", logger=logger):
        write_label_png(id_path(out_dirs[shard], image_id, ".png"), refined)
    seconds = time.monotonic() - start
    rate = len(keys) / seconds if seconds > 0 else 0.0
    logger.info("%d seeds in %.1fs with %d threads: %.2f images/s", len(keys), seconds, threads, rate)
    counts = Counter(shard for shard, _ in keys)
    return [{"images": counts[i], "images_per_second": rate, "threads": threads} for i in range(len(seeds))]
