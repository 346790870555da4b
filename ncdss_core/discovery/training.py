"""How the NCDSS stages (base model, basic framework, EUMS and its ablations) train: SGD with
momentum on two parameter groups, the step learning-rate decay of the reference (§2.2), the named
streams zipped per epoch, all through the one epoch loop (`train.loop.fit`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import torch

from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.models.segmodel import TRAINING_KEYS, SegModel, param_groups
from ncdss_core.params import from_section
from ncdss_core.runtime import get_logger
from ncdss_core.train.loop import EpochHook, Select, Step, TrainResult, fit
from ncdss_core.train.precision import device_type, use_amp
from ncdss_core.train.resume import ResumeFile
from ncdss_core.train.schedules import StepSchedule
from ncdss_core.train.streams import Streams

# the reference's decay: lr x 0.1 after each of the stage's decay epochs
STEP_DECAY = 0.1


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one stage: its section (base or finetune) and the `model` section's
    TRAINING_KEYS. `epoch_length` None: a single stream (base)."""

    epochs: int
    batch_size: int
    lr: float
    decay_epochs: list[int]
    epoch_length: str | None
    input_size: int
    backbone_lr_factor: float
    momentum: float
    weight_decay: float
    workers: int
    seed: int

    # keys of the stage's section these settings read
    SECTION_KEYS = ("epochs", "batch_size", "lr", "decay_epochs", "epoch_length")

    @classmethod
    def from_config(cls, section: Mapping[str, Any], model_cfg: Mapping[str, Any], seed: int,
                    name: str, stage_keys: Iterable[str]) -> "TrainSettings":
        """From the stage's section `name`, whose other keys (`stage_keys`) the stage reads itself,
        and the model section; a key nobody reads is refused."""
        others = set(stage_keys) - set(cls.SECTION_KEYS)
        own = {k: v for k, v in section.items() if k not in others}
        own.setdefault("epoch_length", None)  # sections without it train one stream
        return from_section(cls, {**own, **{k: model_cfg[k] for k in TRAINING_KEYS}, "seed": seed}, name)


def train_segmentation(model: SegModel, streams: Mapping[str, SegTrainSet], step: Step,
                       settings: TrainSettings, select: Select | None = None,
                       on_epoch_start: EpochHook | None = None, device: str = "cpu",
                       label: str = "train", resume: ResumeFile | None = None,
                       amp: str | bool = False,
                       epoch_eval: Callable[[SegModel], Mapping[str, float]] | None = None) -> TrainResult:
    """Train `model` in place on the zipped `streams`; the history records the stream sizes (after
    any reassignment of the epoch) and, with `epoch_eval`, its fields after every epoch (evaluation
    diagnostics that selection never sees). `amp`: the `compute.amp` setting (auto: on for cuda)."""
    model.to(device)
    optimizer = torch.optim.SGD(param_groups(model, settings.lr, settings.backbone_lr_factor),
                                lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    batches = Streams(streams, settings.batch_size, settings.seed, settings.workers, settings.epoch_length,
                      pin_memory=device_type(device) == "cuda")
    schedule = StepSchedule(settings.lr, settings.decay_epochs, STEP_DECAY)
    def measure(epoch: int) -> dict[str, Any]:
        return {"stream_sizes": batches.sizes(), **(epoch_eval(model) if epoch_eval is not None else {})}

    return fit(model, optimizer, schedule, settings.epochs, batches, step, select=select,
               on_epoch_start=on_epoch_start, measure=measure,
               device=device, label=label, logger=get_logger("training"), resume=resume,
               amp=use_amp(amp, device))
