"""Stage runners: base model, basic framework, entropy ranking, EUMS and its ablation rows.

Each runner builds a fresh model from the backbone's initial weights (reference §9.2.2: never from a
previous stage's model) or, with `finetune.backbone_init: base_model` (the default when no ImageNet
weights are configured), from the backbone of the fold's base model with a fresh head. It trains it
through `discovery.training` and writes a model directory:
model.pt (the checkpoint selected on the held-out `select` ids; the last epoch when selection is off),
last.pt, history.json, and for EUMS the final clean/unclean splits after reassignment.

Ablation rows of the paper's table (§8.1) are variants of the same runner (`variants.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from ncdss_core.data.files import write_ids
from ncdss_core.data.folds import label_space
from ncdss_core.data.labels import base_label_reader, image_reader, pseudo_label_reader, truth_reader
from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.data.transforms import Jitter, resize_label
from ncdss_core.discovery.eums import EUMSStep, TeacherRecord, clean_step, make_teacher, reassign, reads_pseudo_labels
from ncdss_core.discovery.losses import supervised_step
from ncdss_core.discovery.ranking import entropy_score, split_clean, summary
from ncdss_core.discovery.training import TrainSettings, train_segmentation
from ncdss_core.discovery.variants import REASSIGNMENT_KEYS, SELF_TRAINING_KEYS, TRAIN_KEYS
from ncdss_core.discovery.variants import VARIANTS, Variant  # noqa: F401 (VARIANTS re-exported for scripts)
from ncdss_core.evaluation.evaluate import base_selection_score, novel_selection_score, predict_logits, scores_of
from ncdss_core.models.segmodel import (
    ModelSpec,
    SegModel,
    build_model,
    copy_backbone,
    load_checkpoint,
    save_checkpoint,
)
from ncdss_core.io.atomic import atomic_write_json
from ncdss_core.provenance.record import split_epoch_seconds
from ncdss_core.runtime import get_logger, progress
from ncdss_core.train.loop import TrainResult
from ncdss_core.train.resume import ResumeFile

# keys of the base and finetune sections the runners read besides the training settings
BASE_KEYS = ("supervision", "selection")
FINETUNE_KEYS = TRAIN_KEYS + SELF_TRAINING_KEYS + REASSIGNMENT_KEYS


def new_model(model_cfg: Mapping[str, Any], num_classes: int, seed: int) -> SegModel:
    """A fresh model; the seed fixes the random initialisation (the same backbone init every stage)."""
    torch.manual_seed(seed)
    return build_model(ModelSpec.from_config(model_cfg, num_classes), model_cfg["backbone_weights"] or None)


def write_model_dir(out: str | Path, model: SegModel, result: TrainResult, meta: Mapping[str, Any]) -> None:
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


def epoch_evaluation(dataset: Any, fold: int, size: int,
                     per_epoch: Mapping[str, Any] | None) -> Callable[[SegModel], dict[str, float]] | None:
    """`evaluation.per_epoch`: the model's novel, base and all-class mIoU on the evaluation split
    after every epoch, as the evaluate rule measures them (history fields val_*). A diagnostic of
    checkpoint selection: the selected epoch never depends on it, and no random state is drawn."""
    if not per_epoch or not per_epoch.get("per_epoch"):
        return None
    split, matching = per_epoch["split"], per_epoch["matching"]
    ids = dataset.ids(split)

    def measure(model: SegModel) -> dict[str, float]:
        scores = scores_of(model, dataset, ids, split, fold, size, matching)
        return {f"val_{metric}": scores[metric] for metric in ("novel_miou", "base_miou", "all_miou")}
    return measure


def _use_selection(cfg: Mapping[str, Any], supervision: str) -> bool:
    """Selection scores need ground-truth masks; under weak supervision no pixel label is used
    anywhere, so the last epoch is kept."""
    return cfg["selection"] == "best" and supervision == "full"


def train_base_model(dataset: Any, fold: int, train_ids: Sequence[str], select_ids: Sequence[str],
                     model_cfg: Mapping[str, Any], base_cfg: Mapping[str, Any], seed: int,
                     out_dir: str | Path, weak_labels: str | Path | None = None,
                     device: str = "cpu", resume: ResumeFile | None = None,
                     amp: str | bool = False, per_epoch: Mapping[str, Any] | None = None) -> TrainResult:
    """`per_epoch`: see epoch_evaluation."""
    supervision = base_cfg["supervision"]
    num_base, _ = label_space(dataset.kind, fold)
    settings = TrainSettings.from_config(base_cfg, model_cfg, seed, "base", BASE_KEYS)
    model = new_model(model_cfg, num_base + 1, seed)
    reader = base_label_reader(dataset, fold, supervision, weak_labels)
    if supervision == "weak":
        train_ids = with_weak_labels(train_ids, weak_labels)
    streams = {"base": SegTrainSet(train_ids, image_reader(dataset), reader, settings.input_size, seed, 0)}
    select = None
    if _use_selection(base_cfg, supervision):
        select = lambda m: base_selection_score(m, dataset, select_ids, fold, settings.input_size)
    result = train_segmentation(model, streams, supervised_step, settings, select, device=device, label="base",
                                resume=resume, amp=amp,
                                epoch_eval=epoch_evaluation(dataset, fold, settings.input_size, per_epoch))
    write_model_dir(out_dir, model, result, {"stage": "base", "fold": fold, "kind": dataset.kind,
                                             "input_size": settings.input_size, "k": 0,
                                             "supervision": supervision})
    return result


def _entropy_scores(model: SegModel, dataset: Any, ids: Sequence[str], pseudo_dir: str | Path,
                    num_base: int, size: int) -> dict[str, float]:
    """Entropy S(x) at the network input size (pseudo-labels nearest-resized), eval mode (§5)."""
    model.eval()
    read = pseudo_label_reader(pseudo_dir)
    scores = {}
    for image_id in progress(ids, len(ids), "entropy", get_logger("finetune"), every_seconds=30):
        logits = predict_logits(model, dataset.read_image(image_id, "trainaug"), size)
        scores[image_id] = entropy_score(logits, resize_label(read(image_id), size), num_base)
    return scores


def rank_novel_images(model: SegModel, dataset: Any, fold: int, ids: Sequence[str], pseudo_dir: str | Path,
                      size: int, ratio: float, out_dir: str | Path) -> dict[str, Any]:
    """Entropy ranking with the basic model: clean.txt / unclean.txt (+ scores.json)."""
    num_base, _ = label_space(dataset.kind, fold)
    scores = _entropy_scores(model, dataset, ids, pseudo_dir, num_base, size)
    clean, unclean = split_clean(scores, ratio)
    out = Path(out_dir)
    write_ids(out / "clean.txt", clean)
    write_ids(out / "unclean.txt", unclean)
    atomic_write_json(out / "scores.json", scores)
    return summary(scores, clean, unclean)


def train_finetune_model(dataset: Any, fold: int, variant: Variant, k: int, base_ids: Sequence[str],
                         novel_ids: Sequence[str], select_ids: Sequence[str], pseudo_dir: str | Path,
                         model_cfg: Mapping[str, Any], ft_cfg: Mapping[str, Any], supervision: str,
                         seed: int, out_dir: str | Path, clean_ids: Sequence[str] | None = None,
                         unclean_ids: Sequence[str] | None = None, weak_labels: str | Path | None = None,
                         base_model: str | Path | None = None, device: str = "cpu",
                         resume: ResumeFile | None = None, amp: str | bool = False,
                         per_epoch: Mapping[str, Any] | None = None) -> TrainResult:
    """Basic framework (streams base + novel) or the EUMS family (base + clean [+ unclean]).
    `base_model`: a checkpoint whose backbone the model starts from (None: the configured weights);
    `per_epoch`: see epoch_evaluation."""
    num_base, _ = label_space(dataset.kind, fold)
    settings = TrainSettings.from_config(ft_cfg, model_cfg, seed, "finetune", FINETUNE_KEYS)
    size = settings.input_size
    model = new_model(model_cfg, num_base + 1 + k, seed)
    if base_model is not None:
        copy_backbone(model, base_model)
    images = image_reader(dataset)
    base_reader = base_label_reader(dataset, fold, supervision, weak_labels)
    pseudo = pseudo_label_reader(pseudo_dir)
    if supervision == "weak":
        base_ids = with_weak_labels(base_ids, weak_labels)
    streams = {"base": SegTrainSet(base_ids, images, base_reader, size, seed, 0)}
    hook: Reassignment | None = None
    step: Any = supervised_step
    if not variant.entropy_ranking:
        streams["novel"] = SegTrainSet(novel_ids, images, pseudo, size, seed, 1)
    else:
        if clean_ids is None or unclean_ids is None:
            raise ValueError(f"{variant.name}: entropy ranking needs the clean and unclean splits")
        streams["clean"] = SegTrainSet(clean_ids, images, pseudo, size, seed, 1)
        step = clean_step  # without self-training: ½ (CE_base + CE_clean)
        if variant.self_training:
            # the unclean images' ground truth rides along for the teacher's diagnostics only (the
            # loss never reads it); under weak supervision no pixel label is read at all
            with_truth = supervision == "full"
            classes = ft_cfg["self_training_classes"]
            streams["unclean"] = SegTrainSet(unclean_ids, images, truth_reader(dataset, fold) if with_truth else None,
                                             size, seed, 2, strong=Jitter(*ft_cfg["strong_jitter"]),
                                             read_pseudo=pseudo if reads_pseudo_labels(classes) else None)
            teacher = make_teacher(model, reinit=bool(ft_cfg["reinit_heads"])).to(device)
            _, num_novel = label_space(dataset.kind, fold)
            step = EUMSStep(teacher=teacher, momentum=float(ft_cfg["ema_momentum"]),
                            threshold=float(ft_cfg["confidence_threshold"]),
                            rampup_coefficient=float(ft_cfg["rampup_coefficient"]),
                            rampup_length=int(ft_cfg["rampup_length"]),
                            num_base=num_base, classes=classes,
                            record=TeacherRecord(num_base, num_novel, k, ft_cfg["matching"], with_truth))
        if variant.reassignment:
            score = lambda ids: _entropy_scores(model, dataset, ids, pseudo_dir, num_base, size)
            hook = Reassignment(streams, {int(e) for e in ft_cfg["reassign_epochs"]},
                                float(ft_cfg["reassign_keep"]), score)
    select = None
    if _use_selection(ft_cfg, supervision):
        select = lambda m: novel_selection_score(m, dataset, select_ids, fold, size, ft_cfg["matching"])
    result = train_segmentation(model, streams, step, settings, select, hook, device=device, label=variant.name,
                                resume=resume, amp=amp, epoch_eval=epoch_evaluation(dataset, fold, size, per_epoch))
    write_model_dir(out_dir, model, result, {"stage": variant.name, "fold": fold, "kind": dataset.kind,
                                             "input_size": size, "k": k, "supervision": supervision,
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


def read_model(path: str | Path) -> SegModel:
    return load_checkpoint(path)[0]
