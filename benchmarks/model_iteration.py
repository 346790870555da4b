"""Training iteration time of the default segmentation model, in one process.

The model of config.yaml's `model` section (16 outputs: background and the 15 base classes of a
fold), SGD as the base training sets it up, random batches of `--batch` images at the model's
input size, trained by train/loop.py::fit with the base training's step. Epoch 0 warms up; the
time per iteration is epoch 1's wall clock over its iterations. Prints one JSON line.

    .venv/bin/python -m benchmarks.model_iteration --threads 1 --iterations 20
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NUM_CLASSES = 16


def iteration_ms(threads: int, iterations: int, batch: int, seed: int = 0) -> dict:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    from ncdss_core.config import load_config
    from ncdss_core.discovery.losses import supervised_step
    from ncdss_core.discovery.settings import BaseSettings
    from ncdss_core.discovery.training import TrainSettings, make_optimizer
    from ncdss_core.models.segmodel import ModelSettings, ModelSpec, build_model
    from ncdss_core.runtime import set_threads
    from ncdss_core.train.loop import fit
    from ncdss_core.train.schedules import StepSchedule

    set_threads(threads)
    torch.manual_seed(seed)
    config = load_config(base_dir=REPO)
    model_cfg = config["model"]
    size = int(model_cfg["input_size"])
    model = build_model(ModelSpec.from_params(model_cfg, NUM_CLASSES))
    base = BaseSettings.from_params({**config["base"], "lr": 0.01})
    optimizer = make_optimizer(model, TrainSettings.for_stage(base, ModelSettings.from_params(model_cfg), seed))
    images = torch.randn(batch, 3, size, size)
    labels = torch.randint(0, NUM_CLASSES, (batch, size, size))
    batches = lambda epoch: ({"base": {"image": images, "label": labels}} for _ in range(iterations))  # noqa: E731
    result = fit(model, optimizer, StepSchedule(0.01, [], 0.1), 2, batches, supervised_step, label="iteration",
                 amp=False)
    timed = result.history[-1]
    return {"threads": threads, "batch": batch, "input_size": size, "iterations": timed["iterations"],
            "ms_per_iteration": 1000.0 * timed["seconds"] / timed["iterations"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(iteration_ms(args.threads, args.iterations, args.batch)))


if __name__ == "__main__":
    main()
