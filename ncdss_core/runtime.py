"""What every stage does the same way: logging with progress and ETA, seeding, threads, device.

Workflow scripts get all of it through `ncdss_core.stage.Stage`; library code logs through `get_logger`.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from typing import Iterable, Iterator, TypeVar

import numpy as np

T = TypeVar("T")
LOGGER_NAME = "ncdss"


def get_logger(name: str | None = None) -> logging.Logger:
    return logging.getLogger(LOGGER_NAME if name is None else f"{LOGGER_NAME}.{name}")


def setup_logging(log_path: str | None = None, level: int = logging.INFO) -> logging.Logger:
    """Log to stderr and, when given, to a file (the rule's `log:`)."""
    logger = get_logger()
    logger.setLevel(level)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    logger.propagate = False
    return logger


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and, when the process uses it, torch (its kernels made deterministic).
    A job that never imports torch does not pay its start-up (about 3 s and 800 MB here)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch = sys.modules.get("torch")
    if torch is None:
        return
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # Deterministic mode also fills every new tensor with NaN, a guard against kernels that read
    # memory before writing it; none of ours does (the same weights either way,
    # tests/unit/train/test_bit_identity.py), and the fill costs 3-8 % of a CPU training step.
    torch.utils.deterministic.fill_uninitialized_memory = False
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def set_threads(threads: int) -> None:
    """Use exactly the threads the rule was given (torch, OpenCV, BLAS through env for children)."""
    threads = max(1, int(threads))
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when it is imported later
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        import cv2
        cv2.setNumThreads(threads)
    except ImportError:
        pass


def device() -> str:
    """cuda when a GPU is visible, else cpu."""
    try:
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def progress(items: Iterable[T], total: int | None = None, label: str = "",
             logger: logging.Logger | None = None, every_seconds: float = 10.0) -> Iterator[T]:
    """Yield items, logging `label i/total, elapsed, ETA` at most every `every_seconds` and after
    the last item. Log lines, not a progress bar: a job's output goes to files (the rule's log,
    Slurm's), and parallel local jobs share one terminal."""
    logger = logger or get_logger()
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    start = last = time.monotonic()
    for index, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= every_seconds or index == total:
            last = now
            elapsed = now - start
            if total:
                eta = elapsed / index * (total - index)
                logger.info("%s %d/%d, elapsed %.0fs, ETA %.0fs", label, index, total, elapsed, eta)
            else:
                logger.info("%s %d, elapsed %.0fs", label, index, elapsed)
