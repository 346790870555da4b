"""Novel fine-tuning: the basic framework (streams base + novel) and the EUMS family (base + clean
[+ unclean]), every ablation row of the paper's table a variant of the same runner (`variants.py`).

Each run builds a fresh model from the backbone's initial weights (reference §9.2.2: never from a
previous stage's model) or, with `finetune.backbone_init: base_model`, from the backbone of the
fold's base model with a fresh head, trains it through `discovery.training` and writes a model
directory; the EUMS family also writes the final clean split and the ids moved out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ncdss_core.data.decoded import DecodedArrays
from ncdss_core.data.files import read_ids, write_ids
from ncdss_core.data.folds import label_space
from ncdss_core.data.labels import base_label_reader, image_reader, pseudo_label_reader, truth_reader
from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.data.transforms import Jitter
from ncdss_core.discovery.eums import EUMSStep, TeacherRecord, clean_step, make_teacher, reassign, reads_pseudo_labels
from ncdss_core.discovery.losses import supervised_step
from ncdss_core.discovery.ranking import score_images
from ncdss_core.discovery.settings import FinetuneSettings, ReassignmentSettings, SelfTrainingSettings
from ncdss_core.discovery.training import (
    TrainSettings,
    epoch_evaluation,
    new_model,
    save_model_dir,
    train_segmentation,
    uses_selection,
    with_weak_labels,
)
from ncdss_core.discovery.variants import VARIANTS, Variant
from ncdss_core.evaluation.evaluate import novel_selection_score
from ncdss_core.models.segmodel import ModelSettings, copy_backbone
from ncdss_core.runtime import get_logger
from ncdss_core.settings import split_params
from ncdss_core.train.loop import TrainResult
from ncdss_core.train.resume import ResumeFile


@dataclass(frozen=True)
class FinetuneRun:
    """One fine-tuning job: fold, variant, clusters k, supervision, training seed, the settings it
    reads (self-training and reassignment only for the variants that use them), `amp`
    (compute.amp) and `per_epoch` (see training.epoch_evaluation)."""

    fold: int
    variant: Variant
    k: int
    supervision: str
    seed: int
    model: ModelSettings
    train: FinetuneSettings
    self_training: SelfTrainingSettings | None
    reassignment: ReassignmentSettings | None
    amp: str | bool
    per_epoch: Mapping[str, Any]

    def __post_init__(self) -> None:
        for name, wanted in (("self_training", self.variant.self_training),
                             ("reassignment", self.variant.reassignment)):
            if (getattr(self, name) is not None) != wanted:
                raise ValueError(f"finetune: variant {self.variant.name} {'needs' if wanted else 'reads no'} "
                                 f"{name} settings")

    @classmethod
    def from_params(cls, params: Mapping[str, Any], fold: int) -> "FinetuneRun":
        """From the finetune rule's params."""
        train, self_training, reassignment = split_params(
            params["finetune"], FinetuneSettings, SelfTrainingSettings, ReassignmentSettings, section="finetune")
        return cls(fold=fold, variant=VARIANTS[params["variant"]], k=int(params["k"]),
                   supervision=params["supervision"], seed=int(params["seed"]),
                   model=ModelSettings.from_params(params["model"]), train=train, self_training=self_training,
                   reassignment=reassignment, amp=params["amp"], per_epoch=params["per_epoch"])


@dataclass(frozen=True)
class FinetuneInputs:
    """What a fine-tuning job reads besides the dataset: the base, novel and selection ids, the
    pseudo-labels, the clean/unclean split (entropy-ranked variants), the ICD labels (weak
    supervision) and the checkpoint whose backbone it starts from (backbone_init base_model)."""

    base_ids: Sequence[str]
    novel_ids: Sequence[str]
    select_ids: Sequence[str]
    pseudo_labels: Path
    clean_ids: Sequence[str] | None
    unclean_ids: Sequence[str] | None
    weak_labels: Path | None
    base_model: Path | None

    @classmethod
    def from_dirs(cls, splits: str | Path, pseudo_labels: str | Path, ranking: str | Path | None,
                  weak_labels: str | Path | None, base_model: str | Path | None) -> "FinetuneInputs":
        """From the job's input directories (`base_model`: the base model's directory)."""
        splits, pseudo = Path(splits), Path(pseudo_labels)
        return cls(read_ids(splits / "base.txt"), read_ids(pseudo / "novel.txt"), read_ids(splits / "select.txt"),
                   pseudo, read_ids(Path(ranking) / "clean.txt") if ranking else None,
                   read_ids(Path(ranking) / "unclean.txt") if ranking else None,
                   Path(weak_labels) if weak_labels else None,
                   Path(base_model) / "model.pt" if base_model else None)


def train_finetune_model(dataset: Any, run: FinetuneRun, inputs: FinetuneInputs, out_dir: str | Path,
                         device: str, resume: ResumeFile | None) -> TrainResult:
    variant, fold, seed, cfg = run.variant, run.fold, run.seed, run.train
    num_base, num_novel = label_space(dataset.kind, fold)
    settings = TrainSettings.for_stage(cfg, run.model, seed)
    size = settings.input_size
    model = new_model(run.model, num_base + 1 + run.k, seed)
    if inputs.base_model is not None:
        copy_backbone(model, inputs.base_model)
    images = image_reader(dataset)
    base_reader = base_label_reader(dataset, fold, run.supervision, inputs.weak_labels)
    pseudo = pseudo_label_reader(inputs.pseudo_labels)
    base_ids = inputs.base_ids
    if run.supervision == "weak":
        base_ids = with_weak_labels(base_ids, inputs.weak_labels)
    decoded = DecodedArrays()  # one memory bound for the training's streams
    streams = {"base": SegTrainSet(base_ids, images, base_reader, size, seed, 0, decoded=decoded)}
    hook: Reassignment | None = None
    step: Any = supervised_step
    if not variant.entropy_ranking:
        streams["novel"] = SegTrainSet(inputs.novel_ids, images, pseudo, size, seed, 1, decoded=decoded)
    else:
        if inputs.clean_ids is None or inputs.unclean_ids is None:
            raise ValueError(f"{variant.name}: entropy ranking needs the clean and unclean splits")
        streams["clean"] = SegTrainSet(inputs.clean_ids, images, pseudo, size, seed, 1, decoded=decoded)
        step = clean_step  # without self-training: ½ (CE_base + CE_clean)
        if run.self_training is not None:
            st = run.self_training
            # the unclean images' ground truth rides along for the teacher's diagnostics only (the
            # loss never reads it); under weak supervision no pixel label is read at all
            with_truth = run.supervision == "full"
            streams["unclean"] = SegTrainSet(inputs.unclean_ids, images,
                                             truth_reader(dataset, fold) if with_truth else None,
                                             size, seed, 2, strong=Jitter(*st.strong_jitter),
                                             read_pseudo=pseudo if reads_pseudo_labels(st.self_training_classes) else None,
                                             decoded=decoded)
            teacher = make_teacher(model, reinit=st.reinit_heads).to(device)
            step = EUMSStep.from_settings(teacher, st, num_base,
                                          TeacherRecord(num_base, num_novel, run.k, cfg.matching, with_truth))
        if run.reassignment is not None:
            score = lambda ids: score_images(model, dataset, ids, inputs.pseudo_labels, num_base, size)
            hook = Reassignment(streams, set(run.reassignment.reassign_epochs), run.reassignment.reassign_keep,
                                score)
    select = None
    if uses_selection(cfg.selection, run.supervision):
        select = lambda m: novel_selection_score(m, dataset, inputs.select_ids, fold, size, cfg.matching)
    result = train_segmentation(model, streams, step, settings, select, hook, device=device, label=variant.name,
                                resume=resume, amp=run.amp,
                                epoch_eval=epoch_evaluation(dataset, fold, size, run.per_epoch))
    save_model_dir(out_dir, model, result, {"stage": variant.name, "fold": fold, "kind": dataset.kind,
                                            "input_size": size, "k": run.k, "supervision": run.supervision,
                                            "variant": variant.__dict__})
    if variant.entropy_ranking:
        write_ids(Path(out_dir) / "clean_final.txt", streams["clean"].ids)
        write_ids(Path(out_dir) / "moved_to_unclean.txt", hook.moved if hook is not None else [])
    return result


class Reassignment:
    """EUMS's dynamic reassignment, the epoch hook of the training: at the start of each listed
    epoch the student scores the clean split by entropy; the lower-entropy part stays clean, the rest
    joins the unclean split (when self-training uses it). Its state is the splits as they are now."""

    def __init__(self, streams: Mapping[str, SegTrainSet], epochs: set[int], keep: float,
                 score: Callable[[Sequence[str]], Mapping[str, float]]):
        self.streams, self.epochs, self.keep, self.score = streams, epochs, keep, score
        self.moved: list[str] = []

    def __call__(self, epoch: int) -> None:
        if epoch not in self.epochs:
            return
        clean = self.streams["clean"].ids
        keep, move = reassign(clean, self.score(clean), self.keep)
        self.streams["clean"].ids = keep
        if "unclean" in self.streams:
            self.streams["unclean"].ids = list(self.streams["unclean"].ids) + move
        self.moved.extend(move)
        get_logger("finetune").info("epoch %d: reassignment keeps %d clean, moves %d to unclean",
                                    epoch, len(keep), len(move))

    def state_dict(self) -> dict[str, list[str]]:
        return {"moved": list(self.moved),
                **{name: list(self.streams[name].ids) for name in ("clean", "unclean") if name in self.streams}}

    def load_state_dict(self, state: Mapping[str, list[str]]) -> None:
        self.moved = list(state["moved"])
        for name in ("clean", "unclean"):
            if name in self.streams:
                self.streams[name].ids = list(state[name])
