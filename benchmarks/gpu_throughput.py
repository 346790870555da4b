"""Training throughput of a segmentation model through the workflow's own epoch loop, with the
data path on and with synthetic in-memory batches, each with and without mixed precision, so
that the data path's share of a training step shows.

The data path is the one the trainings run: `SegTrainSet` (read, train augmentation,
normalisation) over a VOC-sized dataset written to a temporary directory (500 x 375 JPEGs and
their label maps), through `Streams` with `--workers` worker processes and pinned memory on cuda,
read from the JPEG files and from the array store (`data.store`). The synthetic batches are
tensors made once and kept in (pinned) host memory: the same copy to the device, no data path.
The step is the base model's (`supervised_step`) inside `train.loop.fit`.

    .venv/bin/python benchmarks/gpu_throughput.py                        # cuda: resnet50, 512 px, batch 8
    .venv/bin/python benchmarks/gpu_throughput.py --device cpu --arch small --size 64 --iterations 2

images/s counts the iterations after `--warmup` ones (cudnn's algorithm search, allocator
growth), from the first timed step to the end of the loop.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ncdss_core.config import load_config
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import write_ids, write_label_png
from ncdss_core.data.labels import base_label_reader, image_reader
from ncdss_core.data.store import STORE_FILE, with_stores, write_store
from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.discovery.losses import supervised_step
from ncdss_core.models.segmodel import ModelSpec, build_model, param_groups
from ncdss_core.train.loop import fit
from ncdss_core.train.precision import device_type
from ncdss_core.train.schedules import StepSchedule
from ncdss_core.train.streams import Streams

REPO = Path(__file__).resolve().parent.parent
FOLD = 0  # base classes of PASCAL-5^0: 15 + background
NUM_CLASSES = 16
VOC_SIZE = (375, 500)  # height, width of a typical PASCAL VOC image


def write_voc_sized_dataset(root: Path, images: int, seed: int = 0) -> Path:
    """`images` VOC-layout samples of VOC size: smooth colour noise with a few objects of base
    classes (JPEG quality 90, like VOC), label maps with a 255 band on object borders."""
    rng = np.random.default_rng(seed)
    h, w = VOC_SIZE
    for folder in ("images", "SegmentationClassAug"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    ids = [f"img_{i:05d}" for i in range(images)]
    for image_id in ids:
        noise = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
        image = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
        image = np.clip(image.astype(np.int16) + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
        label = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            cls = int(rng.integers(6, 21))  # a base class of fold 0
            cy, cx = int(rng.integers(60, h - 60)), int(rng.integers(60, w - 60))
            axes = (int(rng.integers(30, 120)), int(rng.integers(30, 90)))
            mask = cv2.ellipse(np.zeros((h, w), np.uint8), (cx, cy), axes, float(rng.uniform(0, 180)),
                               0, 360, 1, -1).astype(bool)
            image[mask] = (0.5 * image[mask] + 0.5 * rng.integers(0, 256, 3)).astype(np.uint8)
            label[mask] = cls
        border = cv2.dilate((label > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) - \
            cv2.erode((label > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
        label[border > 0] = 255
        Image.fromarray(image).save(root / "images" / f"{image_id}.jpg", quality=90)
        write_label_png(root / "SegmentationClassAug" / f"{image_id}.png", label)
    write_ids(root / "sets" / "trainaug.txt", ids)
    write_ids(root / "sets" / "val.txt", ids[:1])
    return root


def model_config(arch: str, size: int) -> dict:
    """The workflow's `model` section (config.yaml) at `arch` and `size`."""
    model = load_config(REPO / "config.yaml", base_dir=REPO)["model"]
    model.update(arch=arch, input_size=size)
    if arch == "resnet50":
        model["atrous_rates"] = [12, 24, 36]  # the paper's rates at output stride 8
    return model


class TimedStep:
    """`supervised_step` that notes when each iteration starts (after its batch reached the device)."""

    def __init__(self, device: str):
        self.device, self.starts = device, []

    def __call__(self, model, batch, epoch):
        if device_type(self.device) == "cuda":
            torch.cuda.synchronize()
        self.starts.append(time.perf_counter())
        return supervised_step(model, batch, epoch)


def train_rate(model_cfg: dict, batches, iterations: int, warmup: int, batch: int, device: str,
               amp: bool) -> float:
    """Images/s of `fit` over one epoch of `batches` (warm-up iterations not counted)."""
    torch.manual_seed(0)
    model = build_model(ModelSpec.from_params(model_cfg, NUM_CLASSES)).to(device)
    optimizer = torch.optim.SGD(param_groups(model, 1e-3, 1.0), lr=1e-3, momentum=0.9)
    step = TimedStep(device)
    fit(model, optimizer, StepSchedule(1e-3, [], 0.1), 1, batches, step, device=device, amp=amp,
        logger=logging.getLogger("gpu_throughput.quiet"))
    if device_type(device) == "cuda":
        torch.cuda.synchronize()
    ended = time.perf_counter()
    if len(step.starts) != warmup + iterations:
        raise RuntimeError(f"expected {warmup + iterations} iterations, ran {len(step.starts)}")
    return iterations * batch / (ended - step.starts[warmup])


def synthetic_batches(count: int, batch: int, size: int, pin: bool):
    """`count` batches made once: normalised-image-like floats and labels of the base classes."""
    generator = torch.Generator().manual_seed(0)
    made = []
    for _ in range(count):
        image = torch.randn(batch, 3, size, size, generator=generator)
        label = torch.randint(0, NUM_CLASSES, (batch, size, size), generator=generator)
        if pin:
            image, label = image.pin_memory(), label.pin_memory()
        made.append({"base": {"image": image, "label": label}})
    return lambda epoch: iter(made)


def loader_rate(streams: Streams, iterations: int, warmup: int, batch: int) -> float:
    """Images/s of the data path alone (the loader iterated, no model)."""
    started = None
    for index, _ in enumerate(streams(0)):
        if index == warmup:
            started = time.perf_counter()
    return iterations * batch / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda when available)")
    parser.add_argument("--arch", default="resnet50", choices=["resnet50", "small"])
    parser.add_argument("--size", type=int, default=512, help="square input size (px)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="iterations before the timing starts")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="DataLoader worker processes of the data path")
    parser.add_argument("--amp", default="both", choices=["both", "off", "on"],
                        help="mixed precision settings to measure (on CPU: bfloat16, slow on most CPUs)")
    parser.add_argument("--work", type=Path, default=None, help="where the dataset is written (default: a temp dir)")
    args = parser.parse_args(argv)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if device_type(device) == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no GPU is visible to torch")
    if device_type(device) == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input size: let cudnn pick its kernels
    steps = args.warmup + args.iterations
    images = steps * args.batch
    with tempfile.TemporaryDirectory(dir=args.work) as temp:
        root = Path(temp)
        started = time.perf_counter()
        dataset = open_dataset("voc", write_voc_sized_dataset(root / "voc", images))
        (root / "store").mkdir()
        write_store(dataset, dataset.ids("trainaug"), root / "store" / STORE_FILE, "trainaug")
        prepared = time.perf_counter() - started
        model_cfg = model_config(args.arch, args.size)
        pin = device_type(device) == "cuda"

        def streams(data) -> Streams:
            sample = SegTrainSet(list(data.ids("trainaug")), image_reader(data), base_label_reader(data, FOLD, "full"),
                                 args.size, 0, 0)
            return Streams({"base": sample}, args.batch, 0, args.workers, None, pin_memory=pin)

        sources = {"JPEG files": streams(dataset), "array store": streams(with_stores(dataset, [root / "store"])),
                   "synthetic batches": synthetic_batches(steps, args.batch, args.size, pin)}
        name = torch.cuda.get_device_name() if device_type(device) == "cuda" else "CPU"
        print(f"device {device} ({name}), model {args.arch} DeepLab, {args.size} px, batch {args.batch}, "
              f"{args.iterations} timed iterations after {args.warmup}, data workers {args.workers}, "
              f"torch threads {torch.get_num_threads()}")
        print(f"dataset: {images} VOC-size images ({VOC_SIZE[1]}x{VOC_SIZE[0]} JPEG) and their array store, "
              f"written in {prepared:.1f}s")
        print(f"{'data':<20} {'amp':<4} {'images/s':>9}")
        amps = {"both": (False, True), "off": (False,), "on": (True,)}[args.amp]
        rates = {}
        for amp in amps:
            for source, batches in sources.items():
                rates[source, amp] = train_rate(model_cfg, batches, args.iterations, args.warmup, args.batch,
                                                device, amp)
                print(f"{source:<20} {'on' if amp else 'off':<4} {rates[source, amp]:>9.1f}", flush=True)
        for source in ("JPEG files", "array store"):
            print(f"{source + ' alone':<20} {'-':<4} "
                  f"{loader_rate(sources[source], args.iterations, args.warmup, args.batch):>9.1f}  "
                  f"(the data path without a model)")
        for amp in amps:
            share = 1 - rates["JPEG files", amp] / rates["synthetic batches", amp]
            print(f"amp {'on' if amp else 'off'}: the data path (JPEG files) costs {100 * share:.0f}% of the "
                  f"synthetic-batch throughput")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
