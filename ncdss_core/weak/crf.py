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
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ncdss_core.data.folds import IGNORE


@dataclass(frozen=True)
class CRFParams:
    confidence: float = 0.5
    gaussian_sxy: float = 3.0
    gaussian_compat: float = 3.0
    bilateral_sxy: float = 80.0
    bilateral_srgb: float = 13.0
    bilateral_compat: float = 10.0
    iterations: int = 10
    ignore_below: float = 0.1
    min_prob: float = 1.0e-5

    @classmethod
    def from_params(cls, params: dict) -> "CRFParams":
        return cls(**{k: v for k, v in params.items() if k in cls.__dataclass_fields__})


def seed_unary(seed: np.ndarray, n_labels: int, params: CRFParams) -> np.ndarray:
    """-log p of the hard-seed distribution, float32 (n_labels, h*w)."""
    flat = seed.reshape(-1).astype(np.int64)
    prob = np.full((n_labels, flat.size), params.confidence / n_labels, np.float32)
    labelled = flat < n_labels
    prob[flat[labelled], np.nonzero(labelled)[0]] = params.confidence
    prob /= prob.sum(0, keepdims=True)
    return np.ascontiguousarray(-np.log(np.maximum(prob, params.min_prob)), dtype=np.float32)


def crf_refine(rgb: np.ndarray, seed: np.ndarray, n_labels: int, params: CRFParams = CRFParams()) -> np.ndarray:
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
                params: CRFParams = CRFParams(), threads: int = 1, chunksize: int = 4) -> Iterator[tuple]:
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
