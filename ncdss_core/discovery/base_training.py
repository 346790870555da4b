"""The base model of a fold: base classes only, from ground-truth masks (full) or the CRF-refined
ICD seeds (weak). A fresh model from the backbone's initial weights (reference §9.2.2), trained
through `discovery.training`, written as a model directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ncdss_core.data.files import read_ids
from ncdss_core.data.folds import label_space
from ncdss_core.data.labels import base_label_reader, image_reader
from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.discovery.losses import supervised_step
from ncdss_core.discovery.settings import BaseSettings
from ncdss_core.discovery.training import (
    TrainSettings,
    epoch_evaluation,
    new_model,
    save_model_dir,
    train_segmentation,
    uses_selection,
    with_weak_labels,
)
from ncdss_core.evaluation.evaluate import base_selection_score
from ncdss_core.models.segmodel import ModelSettings
from ncdss_core.train.loop import TrainResult
from ncdss_core.train.resume import ResumeFile


@dataclass(frozen=True)
class BaseRun:
    """One base-model job: its fold and training seed, the settings it reads, `amp` (compute.amp)
    and `per_epoch` (the evaluation after each epoch, see training.epoch_evaluation)."""

    fold: int
    seed: int
    model: ModelSettings
    base: BaseSettings
    amp: str | bool
    per_epoch: Mapping[str, Any]

    @classmethod
    def from_params(cls, params: Mapping[str, Any], fold: int) -> "BaseRun":
        """From the base_model rule's params."""
        return cls(fold=fold, seed=int(params["seed"]), model=ModelSettings.from_params(params["model"]),
                   base=BaseSettings.from_params(params["base"]), amp=params["amp"],
                   per_epoch=params["per_epoch"])


@dataclass(frozen=True)
class BaseInputs:
    """What a base-model job reads besides the dataset: the training and selection ids, and under
    weak supervision the ICD labels."""

    train_ids: Sequence[str]
    select_ids: Sequence[str]
    weak_labels: Path | None

    @classmethod
    def from_dirs(cls, splits: str | Path, weak_labels: str | Path | None) -> "BaseInputs":
        return cls(read_ids(Path(splits) / "base_train.txt"), read_ids(Path(splits) / "select_base.txt"),
                   Path(weak_labels) if weak_labels else None)


def train_base_model(dataset: Any, run: BaseRun, inputs: BaseInputs, out_dir: str | Path, device: str,
                     resume: ResumeFile | None) -> TrainResult:
    supervision = run.base.supervision
    num_base, _ = label_space(dataset.kind, run.fold)
    settings = TrainSettings.for_stage(run.base, run.model, run.seed)
    model = new_model(run.model, num_base + 1, run.seed)
    reader = base_label_reader(dataset, run.fold, supervision, inputs.weak_labels)
    train_ids = inputs.train_ids
    if supervision == "weak":
        train_ids = with_weak_labels(train_ids, inputs.weak_labels)
    size = settings.input_size
    streams = {"base": SegTrainSet(train_ids, image_reader(dataset), reader, size, run.seed, 0)}
    select = None
    if uses_selection(run.base.selection, supervision):
        select = lambda m: base_selection_score(m, dataset, inputs.select_ids, run.fold, size)
    result = train_segmentation(model, streams, supervised_step, settings, select, device=device, label="base",
                                resume=resume, amp=run.amp,
                                epoch_eval=epoch_evaluation(dataset, run.fold, size, run.per_epoch))
    save_model_dir(out_dir, model, result, {"stage": "base", "fold": run.fold, "kind": dataset.kind,
                                            "input_size": size, "k": 0, "supervision": supervision})
    return result
