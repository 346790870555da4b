"""How the NCDSS stages (base model, basic framework, EUMS and its ablations) train: SGD with
momentum on two parameter groups, the step learning-rate decay of the reference (§2.2), the named
streams zipped per epoch, all through the one epoch loop (`train.loop.fit`); and what the base and
fine-tuning runners share: a fresh model, the model directory, the evaluation after each epoch.

A model directory holds model.pt (the checkpoint selected on the held-out `select` ids; the last
epoch when selection is off), last.pt and history.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.discovery.settings import BaseSettings, FinetuneSettings
from ncdss_core.evaluation.evaluate import scores_of
from ncdss_core.io.atomic import atomic_write_json
from ncdss_core.models.segmodel import ModelSettings, ModelSpec, SegModel, build_model, load_checkpoint, param_groups, save_checkpoint
from ncdss_core.provenance.record import split_epoch_seconds
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
    """Optimisation settings of one training: its stage's settings (base or finetune) and the
    `model` section's. `epoch_length` None: a single stream (base)."""

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

    @classmethod
    def for_stage(cls, stage: BaseSettings | FinetuneSettings, model: ModelSettings, seed: int) -> "TrainSettings":
        return cls(epochs=stage.epochs, batch_size=stage.batch_size, lr=stage.lr,
                   decay_epochs=list(stage.decay_epochs),
                   epoch_length=stage.epoch_length if isinstance(stage, FinetuneSettings) else None,
                   input_size=model.input_size, backbone_lr_factor=model.backbone_lr_factor,
                   momentum=model.momentum, weight_decay=model.weight_decay, workers=model.workers, seed=seed)


def make_optimizer(model: SegModel, settings: TrainSettings) -> torch.optim.SGD:
    """SGD with momentum on the head and the trained backbone stages, the backbone at
    `lr * backbone_lr_factor` (reference §2.2)."""
    return torch.optim.SGD(param_groups(model, settings.lr, settings.backbone_lr_factor),
                           lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)


def train_segmentation(model: SegModel, streams: Mapping[str, SegTrainSet], step: Step,
                       settings: TrainSettings, select: Select | None = None,
                       on_epoch_start: EpochHook | None = None, *, amp: str | bool, device: str = "cpu",
                       label: str = "train", resume: ResumeFile | None = None,
                       epoch_eval: Callable[[SegModel], Mapping[str, float]] | None = None) -> TrainResult:
    """Train `model` in place on the zipped `streams`; the history records the stream sizes (after
    any reassignment of the epoch) and, with `epoch_eval`, its fields after every epoch (evaluation
    diagnostics that selection never sees). `amp`: the `compute.amp` setting (auto: on for cuda)."""
    model.to(device)
    optimizer = make_optimizer(model, settings)
    batches = Streams(streams, settings.batch_size, settings.seed, settings.workers, settings.epoch_length,
                      pin_memory=device_type(device) == "cuda")
    schedule = StepSchedule(settings.lr, settings.decay_epochs, STEP_DECAY)
    def measure(epoch: int) -> dict[str, Any]:
        return {"stream_sizes": batches.sizes(), **(epoch_eval(model) if epoch_eval is not None else {})}

    return fit(model, optimizer, schedule, settings.epochs, batches, step, select=select,
               on_epoch_start=on_epoch_start, measure=measure,
               device=device, label=label, logger=get_logger("training"), resume=resume,
               amp=use_amp(amp, device))


def new_model(model: ModelSettings, num_classes: int, seed: int) -> SegModel:
    """A fresh model; the seed fixes the random initialisation (the same backbone init every stage)."""
    torch.manual_seed(seed)
    return build_model(ModelSpec.from_params(model, num_classes), model.backbone_weights or None)


def read_model(path: str | Path) -> SegModel:
    return load_checkpoint(path)[0]


def save_model_dir(out: str | Path, model: SegModel, result: TrainResult, meta: Mapping[str, Any]) -> None:
    """last.pt (the model as trained), model.pt (the selected epoch's weights), history.json; the
    model is left with the selected weights."""
    out = Path(out)
    save_checkpoint(out / "last.pt", model, {**meta, "epoch": len(result.history) - 1})
    if result.selected_state is not None:
        model.load_state_dict(result.selected_state)
    save_checkpoint(out / "model.pt", model, {**meta, "epoch": result.selected_epoch})
    history, _ = split_epoch_seconds(result.history)  # wall-clock seconds: provenance only
    atomic_write_json(out / "history.json", {"selected_epoch": result.selected_epoch, "epochs": history})


def with_weak_labels(ids: Sequence[str], weak_labels: str | Path | None) -> list[str]:
    """The ids that have a weak label map (ICD drops images it cannot seed)."""
    if weak_labels is None:
        raise ValueError("base.supervision weak needs the weak labels directory")
    available = {p.stem for p in Path(weak_labels).glob("*.png")}
    return [i for i in ids if i in available]


def uses_selection(selection: str, supervision: str) -> bool:
    """Selection scores need ground-truth masks; under weak supervision no pixel label is used
    anywhere, so the last epoch is kept."""
    return selection == "best" and supervision == "full"


def epoch_evaluation(dataset: Any, fold: int, size: int,
                     per_epoch: Mapping[str, Any]) -> Callable[[SegModel], dict[str, float]] | None:
    """`evaluation.per_epoch`: the model's novel, base and all-class mIoU on the evaluation split
    after every epoch, as the evaluate rule measures them (history fields val_*). A diagnostic of
    checkpoint selection: the selected epoch never depends on it, and no random state is drawn."""
    if not per_epoch["per_epoch"]:
        return None
    split, matching = per_epoch["split"], per_epoch["matching"]
    ids = dataset.ids(split)

    def measure(model: SegModel) -> dict[str, float]:
        scores = scores_of(model, dataset, ids, split, fold, size, matching)
        return {f"val_{metric}": scores[metric] for metric in ("novel_miou", "base_miou", "all_miou")}
    return measure
