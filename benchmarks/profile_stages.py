"""Where the time of every training and inference stage goes, part by part.

The default config's model and input size on the default generated dataset (fold 0, its real
split sizes): one iteration of each training (EUMS, the basic framework, the base model, ICD, the
trunk pretraining) and one image of each inference stage (base removal, ranking, evaluation, ICD
scores, and the per-epoch selection and EUMS reassignment the trainings run). Every stage runs the
library's own code: its datasets, readers, steps and stage functions, with timers put around the
functions it calls (module attributes and the model's methods, put back afterwards), so a part's
time is what that call costs inside the real code path. Parts are exclusive: a part's time leaves
out the parts timed inside it; the `other` rows are what is left (Python, glue, small ops).

The process is set up as a workflow job: one torch thread (`--threads`) and `seed_everything`
(deterministic algorithms on, as every network job). Time is the process's CPU time by default
(`--clock wall` for wall clock): on a shared machine it moves less with the other load. Per stage:
`--repeats` rounds of `--iterations` iterations (`--images` images for inference) after
`--warmup`; a part's figure is the median over the rounds of its mean per iteration (or image),
and its share is of the sum of those medians.

Stand-ins where the real input comes from earlier stages: randomly initialised models of the
right shapes (the cost of a network does not depend on its weights), pseudo-labels made from the
ground truth (novel classes split into discovery.k clusters), the dataset's own saliency maps, and
superpixels computed here. Inputs are cached in `--work` (default results/profile_stages).
Trainings are measured as in a later epoch, most of theirs: decoded images and label maps already
kept where the code keeps them (`data.decoded`), after one pass over the stream's ids.

    .venv/bin/python -m benchmarks.profile_stages                      # every stage, table
    .venv/bin/python -m benchmarks.profile_stages --stages eums --ops  # + torch.profiler op table
    .venv/bin/python -m benchmarks.profile_stages --json after.json --compare before.json
    .venv/bin/python -m benchmarks.profile_stages --merge after1.json after2.json after3.json --compare before.json

`--compare FILE` prints the figures of an earlier `--json` run beside these (before / after), and
whether the stage made the same output (a digest of the weights after the same iterations, or of
what the inference stage wrote). `--merge` measures nothing: it reports the median of several
`--json` runs, e.g. before and after runs interleaved on a shared machine (benchmarks/RESULTS_profile.md).
The last table estimates each rule's CPU seconds in `make run` from these figures and the
default config's epochs and split sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

REPO = Path(__file__).resolve().parent.parent
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
TRAININGS = ("eums", "basic", "base", "icd", "pretrain")
INFERENCE = ("selection", "reassignment", "base_removal", "ranking", "evaluation", "icd_scores")
STAGES = TRAININGS + INFERENCE


# --- timers -------------------------------------------------------------------------------------

class Parts:
    """Exclusive time per named part: a part's time leaves out the parts timed inside it."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[list[Any]] = []  # [name, time of the parts inside]

    def reset(self) -> None:
        self.totals = defaultdict(float)

    def inside(self, name: str) -> bool:
        return any(frame[0] == name for frame in self._stack)

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        self._stack.append([name, 0.0])
        start = self.clock()
        try:
            yield
        finally:
            elapsed = self.clock() - start
            _, children = self._stack.pop()
            self.totals[name] += elapsed - children
            if self._stack:
                self._stack[-1][1] += elapsed

    def wrap(self, name: str | Callable[[], str], fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            with self.part(name() if callable(name) else name):
                return fn(*args, **kwargs)
        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed


@contextlib.contextmanager
def patched(parts: Parts, targets: list[tuple[Any, str, Any]]) -> Iterator[None]:
    """Replace `owner.attr` by a timed wrapper named `name` for the duration (module functions,
    methods of one object, or of a class); a target `(owner, attr, name, "factory")` times the
    calls of the object the function returns instead (a reader built inside the stage)."""
    saved = []
    try:
        for owner, attr, name, *mode in targets:
            original = getattr(owner, attr)
            saved.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
            if mode == ["factory"]:  # time the calls of what the function returns
                setattr(owner, attr, lambda *a, _f=original, _n=name, **k: parts.wrap(_n, _f(*a, **k)))
            else:
                setattr(owner, attr, parts.wrap(name, original))
        yield
    finally:
        for owner, attr, value in reversed(saved):
            if value is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, value)


_MISSING = object()


def model_parts(model: Any, who: str) -> list[tuple[Any, str, str]]:
    """A segmentation model's forward split into backbone, head and the upsampling (the rest of
    forward), on this one object."""
    return [(model, "forward", f"{who} forward: upsample to input size"),
            *([(model, "logits_and_features", f"{who} forward: upsample to input size")]
              if hasattr(model, "logits_and_features") else []),
            (model, "features", f"{who} forward: backbone"),
            (model.classifier, "forward", f"{who} forward: head")]


# --- inputs -------------------------------------------------------------------------------------

class Inputs:
    """The default config, the default generated dataset, fold 0's lists and the stand-ins."""

    def __init__(self, root: str | None, work: Path, fold: int = 0):
        from ncdss_core.config import load_config
        from ncdss_core.data.datasets import open_dataset

        self.cfg = load_config(base_dir=REPO)
        self.work, self.fold = work, fold
        work.mkdir(parents=True, exist_ok=True)
        self.root = Path(root) if root else self._generated()
        self.dataset = open_dataset("generated", self.root)
        self.lists, self.presence = self._lists()

    def _generated(self) -> Path:
        root = self.work / "generated"
        if not (root / "generated.json").is_file():
            from ncdss_core.data.generated import generate

            print(f"generating the default generated dataset in {root}", file=sys.stderr, flush=True)
            generate(root, size=self.cfg["dataset"]["generated_size"], seed=self.cfg["dataset"]["generated_seed"])
        return root

    def _lists(self) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
        from ncdss_core.data.datasets import labels_in_map
        from ncdss_core.data.splits import build_fold_lists

        cache = self.work / f"lists_fold{self.fold}.json"
        if cache.is_file():
            saved = json.loads(cache.read_text())
            return saved["lists"], saved["presence"]
        trainaug, val = self.dataset.ids("trainaug"), self.dataset.ids("val")
        presence = {i: labels_in_map(self.dataset.read_label(i, split), self.dataset.num_classes)
                    for split, ids in (("trainaug", trainaug), ("val", val)) for i in ids}
        lists = build_fold_lists(self.dataset.kind, self.fold, presence, trainaug, val,
                                 float(self.cfg["splits"]["selection_fraction"]), int(self.cfg["seed"]))
        cache.write_text(json.dumps({"lists": lists, "presence": presence}))
        return lists, presence

    def pseudo_dir(self) -> Path:
        """Stand-in clustering pseudo-labels of the novel images: the fine-tuning ground truth with
        each novel class split into clusters, 255 made background (pseudo-labels have no 255)."""
        import numpy as np

        from ncdss_core.data.files import write_label_png
        from ncdss_core.data.folds import label_space, to_finetune_labels

        k = int(self.cfg["discovery"]["k"])
        out = self.work / f"pseudo_fold{self.fold}_k{k}"
        if (out / "done").is_file():
            return out
        num_base, num_novel = label_space(self.dataset.kind, self.fold)
        for n, image_id in enumerate(self.lists["novel"]):
            label = to_finetune_labels(self.dataset.read_label(image_id), self.dataset.kind, self.fold)
            novel = (label > num_base) & (label != 255)
            cluster = (label.astype(np.int64) - num_base - 1) * k // num_novel + n % max(1, k // num_novel)
            label = np.where(novel, num_base + 1 + cluster, np.where(label == 255, 0, label))
            write_label_png(out / f"{image_id}.png", label.astype(np.uint8))
        (out / "done").write_text("")
        return out

    def clean_unclean(self) -> tuple[list[str], list[str]]:
        novel = self.lists["novel"]
        count = int(float(self.cfg["finetune"]["clean_ratio"]) * len(novel))
        return novel[:count], novel[count:]

    def superpixels(self, ids: list[str]) -> Path:
        """Superpixel maps of `ids` in a shard as the superpixels rule writes it."""
        from ncdss_core.weak.superpixels import SUPERPIXELS, SuperpixelParams, superpixel_shard

        out = self.work / f"superpixels_{len(ids)}"
        if not (out / SUPERPIXELS).is_file():
            out.mkdir(parents=True, exist_ok=True)
            superpixel_shard(self.dataset, ids, out, SuperpixelParams.from_params(self.cfg["superpixels"]))
        return out


# --- training stages ------------------------------------------------------------------------------

def _seg_streams(inputs: Inputs, parts: Parts, names: tuple[str, ...], seed: int) -> dict[str, Any]:
    """SegTrainSet streams as the runners build them (base_training, finetuning), readers timed."""
    from ncdss_core.data.labels import base_label_reader, image_reader, pseudo_label_reader, truth_reader
    from ncdss_core.data.train_samples import SegTrainSet
    from ncdss_core.data.transforms import Jitter

    ds, fold, size = inputs.dataset, inputs.fold, int(inputs.cfg["model"]["input_size"])
    images = parts.wrap("data: decode image", image_reader(ds))
    base = parts.wrap("data: decode label", base_label_reader(ds, fold, "full"))
    pseudo = parts.wrap("data: decode label", pseudo_label_reader(inputs.pseudo_dir()))
    clean, unclean = inputs.clean_unclean()
    jitter = Jitter(*inputs.cfg["finetune"]["strong_jitter"])
    make = {
        "base_train": lambda: SegTrainSet(inputs.lists["base_train"], images, base, size, seed, 0),
        "base": lambda: SegTrainSet(inputs.lists["base"], images, base, size, seed, 0),
        "novel": lambda: SegTrainSet(inputs.lists["novel"], images, pseudo, size, seed, 1),
        "clean": lambda: SegTrainSet(clean, images, pseudo, size, seed, 1),
        "unclean": lambda: SegTrainSet(unclean, images, parts.wrap("data: decode label", truth_reader(ds, fold)),
                                       size, seed, 2, strong=jitter, read_pseudo=pseudo),
    }
    return {name: make[name]() for name in names}


def _keep_decoded(data: Any) -> None:
    """Fill a training dataset's store of decoded arrays (`data.decoded`, where the code has one) as
    its first epoch does: the iterations measured are those of a later epoch, as most are."""
    store = getattr(data, "decoded", None)
    if store is None:
        return
    readers = [getattr(data, name, None) for name in ("read_image", "read_label", "read_pseudo", "read_superpixels")]
    for image_id in data.ids:
        for reader in readers:
            if reader is not None:
                store.read(reader, image_id)


def _data_parts(parts: Parts) -> list[tuple[Any, str, str]]:
    import ncdss_core.data.train_samples as samples

    return [(samples, "train_pair", "data: augment (flip, warp, resize)"),
            (samples, "normalize_image", "data: to tensor, normalise"),
            (samples, "color_jitter", "data: strong view (colour jitter)")]


def _train_settings(cfg: dict, section: str, seed: int) -> Any:
    """The optimisation settings a `section` (base or finetune) training of the workflow uses."""
    from ncdss_core.discovery.settings import BaseSettings, FinetuneSettings
    from ncdss_core.discovery.training import TrainSettings
    from ncdss_core.models.segmodel import ModelSettings

    stage = {"base": BaseSettings, "finetune": FinetuneSettings}[section]
    own = stage.from_params({key: cfg[section][key] for key in stage.keys()})
    return TrainSettings.for_stage(own, ModelSettings.from_params(cfg["model"]), seed)


def _iterate(parts: Parts, model: Any, optimizer: Any, batches: Iterator[Any], step: Callable, epoch: int,
             count: int) -> None:
    """`count` iterations of train/loop.py::fit's inner loop (CPU: no device copy, no autocast)."""
    import math

    model.train()
    for _ in range(count):
        with parts.part("data: loader, collation (other)"):
            batch = next(batches)
        with parts.part("step: other"):
            output = step(model, batch, epoch)
        loss = output[0] if isinstance(output, tuple) else output
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError("non-finite loss")
        with parts.part("backward"):
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        with parts.part("optimizer step"):
            optimizer.step()


def training_stage(name: str, inputs: Inputs, parts: Parts) -> tuple[Callable[[int], None], list, int, Any]:
    """(run `count` iterations, patch targets, images per iteration, the model) of one training stage."""
    import torch

    import ncdss_core.discovery.eums as eums
    import ncdss_core.discovery.losses as losses
    from ncdss_core.data.folds import label_space
    from ncdss_core.discovery.settings import SelfTrainingSettings
    from ncdss_core.discovery.training import make_optimizer, new_model
    from ncdss_core.models.segmodel import ModelSettings
    from ncdss_core.train.streams import Streams

    cfg, seed = inputs.cfg, int(inputs.cfg["seed"])
    if name in ("icd", "pretrain"):
        return _weak_stage(name, inputs, parts)
    num_base, num_novel = label_space(inputs.dataset.kind, inputs.fold)
    k = int(cfg["discovery"]["k"])
    model_settings = ModelSettings.from_params(cfg["model"])
    targets = _data_parts(parts)
    if name == "base":
        model = new_model(model_settings, num_base + 1, seed)
        streams, step, section = _seg_streams(inputs, parts, ("base_train",), seed), losses.supervised_step, "base"
        targets += [(losses, "cross_entropy", "loss: cross-entropy")]
    elif name == "basic":
        model = new_model(model_settings, num_base + 1 + k, seed)
        streams, step, section = _seg_streams(inputs, parts, ("base", "novel"), seed), losses.supervised_step, "finetune"
        targets += [(losses, "cross_entropy", "loss: cross-entropy")]
    else:  # eums
        ft = cfg["finetune"]
        self_training = SelfTrainingSettings.from_params({key: ft[key] for key in SelfTrainingSettings.keys()})
        model = new_model(model_settings, num_base + 1 + k, seed)
        teacher = eums.make_teacher(model, reinit=self_training.reinit_heads)
        record = eums.TeacherRecord(num_base, num_novel, k, ft["matching"], True)
        step = eums.EUMSStep.from_settings(teacher, self_training, num_base, record)
        streams, section = _seg_streams(inputs, parts, ("base", "clean", "unclean"), seed), "finetune"
        targets += [(eums, "cross_entropy", "loss: cross-entropy"), (eums, "ema_update", "EMA update"),
                    (eums, "teacher_labels", "teacher: softmax, max"),
                    (eums, "self_training_target", "self-training target"),
                    (record, "add", "teacher record (counts, confusion)")]
        targets += model_parts(teacher, "teacher")
    targets += model_parts(model, "student" if name == "eums" else "model")
    settings = _train_settings(cfg, section, seed)
    optimizer = make_optimizer(model, settings)
    batch_size = settings.batch_size
    for data in streams.values():
        _keep_decoded(data)
    batches = Streams(streams, batch_size, seed, settings.workers, settings.epoch_length)
    # epoch 6 of EUMS: past the ramp-up's start and the reassignment, as most of its epochs
    epoch = 6 if name == "eums" else 0

    def forever() -> Iterator[Any]:
        e = epoch
        while True:
            yield from batches(e)
            e += 1
    iterator = forever()
    torch.manual_seed(seed)
    return (lambda count: _iterate(parts, model, optimizer, iterator, step, epoch, count), targets,
            batch_size * len(streams), model)


def _weak_stage(name: str, inputs: Inputs, parts: Parts) -> tuple[Callable[[int], None], list, int, Any]:
    import numpy as np
    import torch

    import ncdss_core.weak.operators as ops
    import ncdss_core.weak.pretrain as pretrain
    import ncdss_core.weak.trainer as trainer
    from ncdss_core.data.folds import base_classes
    from ncdss_core.models.trunks import small_trunk
    from ncdss_core.train.loaders import epoch_batches, seeded_loader
    from ncdss_core.weak.images import label_matrix
    from ncdss_core.weak.superpixels import SuperpixelReader

    cfg, seed = inputs.cfg, int(inputs.cfg["seed"])
    weak = cfg["weak"]
    if name == "icd":
        tc = trainer.TrainConfig.from_params({**weak["model"], **weak["train"], "weights": ""})
        ids = inputs.lists["base_train"][: tc.batch_size * 12]
        sp_dir = inputs.superpixels(ids)
        ids, labels = label_matrix(ids, inputs.presence, base_classes(inputs.dataset.kind, inputs.fold))
        torch.manual_seed(seed)
        model = trainer.build_icd_net(tc, labels.shape[1])
        reader = SuperpixelReader.from_shards([sp_dir])
        data = trainer.ICDTrainData(ids, labels, parts.wrap("data: decode image", inputs.dataset.read_image),
                                    parts.wrap("data: read superpixels (HDF5)", reader.read), tc, seed)
        _keep_decoded(data)
        optimizer, step = trainer.make_optimizer(model, tc), trainer.ICDStep(tc, 10**9)
        batch_size = tc.batch_size
        targets = [(trainer, "augment", "data: augment (scale, flip, pad, crop)"),
                   (trainer, "compact_ids", "data: compact superpixel ids"),
                   (trainer, "normalize_image", "data: to tensor, normalise"),
                   (model, "forward", "forward"), (ops, "cam_loss", "loss: CAM"),
                   (ops, "bottom_up_loss", "loss: bottom-up"),
                   (ops, "sign_statistics", "sign state"), (ops, "update_sign_state", "sign state"),
                   (ops, "sp_refine", "superpixel refinement"), (ops, "top_down_targets", "top-down targets"),
                   (ops, "top_down_loss", "loss: top-down")]
    else:
        from ncdss_core.data.generated import pretraining_images

        pc = pretrain.PretrainConfig.from_params(weak["pretrain"])
        cache = inputs.work / f"pretrain_images_{pc.batch_size * 12}.npz"
        if not cache.is_file():
            images, labels = pretraining_images(pc.batch_size * 12, seed)
            np.savez(cache, labels=labels, **{f"i{n}": image for n, image in enumerate(images)})
        with np.load(cache) as saved:
            labels = saved["labels"]
            images = [saved[f"i{n}"] for n in range(len(labels))]
        torch.manual_seed(seed)
        model = pretrain.PretrainNet(small_trunk(int(weak["model"]["width"]), 0), labels.shape[1])
        data = pretrain.PretrainData(images, labels, pc, seed)
        decay = [p for p in model.parameters() if p.ndim > 1]
        no_decay = [p for p in model.parameters() if p.ndim <= 1]
        optimizer = torch.optim.Adam([{"params": decay, "weight_decay": pc.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=pc.lr)
        step, batch_size = pretrain.PretrainStep(), pc.batch_size
        targets = [(pretrain, "augment", "data: augment (scale, flip, pad, crop)"),
                   (pretrain, "normalize_image", "data: to tensor, normalise"),
                   (model, "forward", "forward"), (step, "loss", "loss: BCE")]
    batches = epoch_batches(seeded_loader(data, batch_size, seed, 0, drop_last=True))

    def forever() -> Iterator[Any]:
        epoch = 0
        while True:
            yield from batches(epoch)
            epoch += 1
    iterator = forever()
    return lambda count: _iterate(parts, model, optimizer, iterator, step, 0, count), targets, batch_size, model


# --- inference stages -----------------------------------------------------------------------------

def inference_stage(name: str, inputs: Inputs, parts: Parts, images: int) -> tuple[Callable[[int], Any], list]:
    """(run the stage function over `count` images and return what it made, patch targets) of one
    inference stage."""
    import tempfile

    import torch

    import ncdss_core.discovery.base_removal as removal
    import ncdss_core.discovery.ranking as ranking
    import ncdss_core.evaluation.evaluate as evaluate
    import ncdss_core.weak.infer as infer
    from ncdss_core.data.folds import base_classes, label_space
    from ncdss_core.discovery.settings import BaseRemovalSettings
    from ncdss_core.discovery.training import new_model
    from ncdss_core.evaluation.metrics import ConfusionMatrix
    from ncdss_core.models.segmodel import ModelSettings

    cfg, seed, ds, fold = inputs.cfg, int(inputs.cfg["seed"]), inputs.dataset, inputs.fold
    size = int(cfg["model"]["input_size"])
    num_base, _ = label_space(ds.kind, fold)
    k = int(cfg["discovery"]["k"])
    settings = ModelSettings.from_params(cfg["model"])
    decode = [(ds, "read_image", "decode image"), (ds, "read_label", "decode label")]
    predict = [(evaluate, "val_image", "resize, normalise"), (evaluate, "resize_label", "resize label"),
               (evaluate, "predict_logits", "predict: upsample to image size, copy (other)")]
    tmp = Path(tempfile.mkdtemp(dir=inputs.work))
    if name == "icd_scores":
        tc = infer.TrainConfig.from_params({**cfg["weak"]["model"], **cfg["weak"]["train"], "weights": ""})
        classes = base_classes(ds.kind, fold)
        torch.manual_seed(seed)
        model = infer.build_icd_net(tc, len(classes)).eval()
        ids = inputs.lists["base_train"]
        targets = [(ds, "read_image", "decode image"), (infer, "normalize_image", "canvas to tensor, normalise"),
                   (model, "forward", "forward"), (infer.ScoreStore, "write", "write scores (HDF5)")]

        def run(count: int) -> Path:
            out = tmp / f"s{time.monotonic_ns()}"
            out.mkdir()
            infer.score_shard(model, classes, ds, ids[:count], inputs.presence, out)
            return out
        return run, targets
    model = new_model(settings, num_base + 1 + (0 if name == "base_removal" else k), seed).eval()
    targets = decode + predict + model_parts(model, "model")
    if name == "selection":
        ids = inputs.lists["select"]
        targets += [(ConfusionMatrix, "update", "confusion update")]
        return (lambda count: evaluate.novel_selection_score(model, ds, ids[:count], fold, size, "auto"), targets)
    if name == "evaluation":
        ids = list(ds.ids(cfg["evaluation"]["split"]))
        targets += [(ConfusionMatrix, "update", "confusion update")]
        return (lambda count: evaluate.scores_of(model, ds, ids[:count], cfg["evaluation"]["split"], fold, size,
                                                 cfg["evaluation"]["matching"]), targets)
    pseudo = inputs.pseudo_dir()
    if name in ("ranking", "reassignment"):
        ids = inputs.lists["novel"] if name == "ranking" else inputs.clean_unclean()[0]
        targets += [(ranking, "predict_logits", "predict: upsample to image size, copy (other)"),
                    (ranking, "entropy_score", "entropy score"), (ranking, "resize_label", "resize pseudo-label"),
                    (ranking, "pseudo_label_reader", "decode pseudo-label", "factory")]
        return lambda count: ranking.score_images(model, ds, ids[:count], pseudo, num_base, size), targets
    # base removal: the base model, features from its own backbone (discovery.features auto, no weights)
    known = BaseRemovalSettings.__dataclass_fields__
    removal_settings = BaseRemovalSettings.from_params({k: v for k, v in cfg["discovery"].items() if k in known})
    ids = inputs.lists["novel"]
    sal = ds.root / "saliency_supervised_model"
    targets = [t for t in targets if t[1] != "features"]
    targets += [(model, "features", lambda: "model forward: backbone" if parts.inside("model forward: upsample to input size")
                 else "prototype features: backbone (second pass)"),
                (removal, "predict_logits", "predict: upsample to image size, copy (other)"),
                (removal, "val_image", "resize, normalise"),
                (removal, "read_grey_png", "decode saliency"), (removal, "base_removal", "base removal (softmax > tau)"),
                (removal, "write_label_png", "write PNGs"), (removal, "prototype", "prototype (masked mean)"),
                (removal, "resize_label", "resize mask")]
    if hasattr(model, "logits_and_features"):  # the one-pass code: its forward and its upsampling
        targets += [(model, "logits_and_features", "model forward: upsample to input size")]
    if hasattr(removal, "resize_logits"):
        targets += [(removal, "resize_logits", "predict: upsample to image size, copy (other)")]

    def run(count: int) -> Path:
        out = tmp / f"r{time.monotonic_ns()}"
        out.mkdir()
        removal.remove_base_shard(model, model, ds, ids[:count], sal, out, size, removal_settings)
        return out
    return run, targets


# --- measurement ----------------------------------------------------------------------------------

def measure_stage(name: str, inputs: Inputs, clock: str, iterations: int, images: int, warmup: int,
                  repeats: int, ops: bool, weights: Path | None = None) -> dict[str, Any]:
    import torch

    parts = Parts(CLOCKS[clock])
    if name in TRAININGS:
        run, targets, per_iteration, model = training_stage(name, inputs, parts)
        count, unit = iterations, "iteration"
    else:
        (run, targets), model = inference_stage(name, inputs, parts, images), None
        count, unit, per_iteration = images, "image", 1
    rounds = []
    with patched(parts, targets):
        if warmup:
            run(warmup)
        for _ in range(repeats):
            parts.reset()
            with parts.part("other"):
                made = run(count)
            rounds.append({part: 1000.0 * seconds / count for part, seconds in parts.totals.items()})
        # what the stage made: the weights after every iteration so far, or the last run's output
        output_digest = digest(model.state_dict() if model is not None else made)
        if weights is not None and model is not None:
            weights.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), weights / f"{name}.pt")
        table = None
        if ops:
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
                run(count)
            table = prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=25)
    names = sorted({p for r in rounds for p in r})
    ms = {p: statistics.median(r.get(p, 0.0) for r in rounds) for p in names}
    return {"stage": name, "unit": unit, "count": count, "repeats": repeats, "clock": clock,
            "images_per_unit": per_iteration, "threads": torch.get_num_threads(), "ms": ms,
            "total_ms": sum(ms.values()), "digest": output_digest, "ops_table": table}


def digest(made: Any) -> str:
    """sha256 of what a stage made: tensors, arrays, JSON-able values, or the files of an output
    directory (PNG and JSON bytes, the arrays of .npz and HDF5 files)."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()

    def add(value: Any) -> None:
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            h.update(f"{value.dtype}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, dict):
            for key in sorted(value):
                h.update(str(key).encode())
                add(value[key])
        elif isinstance(value, Path):
            for path in sorted(p for p in value.rglob("*") if p.is_file()):
                h.update(str(path.relative_to(value)).encode())
                if path.suffix == ".npz":
                    with np.load(path) as arrays:
                        add({key: arrays[key] for key in arrays.files})
                elif path.suffix == ".h5":
                    import h5py

                    with h5py.File(path, "r") as handle:
                        handle.visititems(lambda key, item: add({key: item[()]}) if hasattr(item, "shape") else None)
                else:
                    h.update(path.read_bytes())
        else:
            h.update(json.dumps(value, sort_keys=True, default=str).encode())
    add(made)
    return h.hexdigest()[:16]


def format_stage(result: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    total = result["total_ms"]
    images = f" ({result['images_per_unit']} images)" if result["unit"] == "iteration" else ""
    head = (f"### {result['stage']}: ms per {result['unit']}{images}, "
            f"{result['clock']} clock, {result['threads']} thread(s), median of {result['repeats']} x "
            f"{result['count']}; output digest {result['digest']}\n\n")
    if before is None:
        lines = ["| part | ms | share |", "|---|---|---|"]
        for part, value in sorted(result["ms"].items(), key=lambda kv: -kv[1]):
            lines.append(f"| {part} | {value:.2f} | {100 * value / total:.1f}% |")
        lines.append(f"| **total** | **{total:.2f}** | 100% |")
    else:
        old_total = before["total_ms"]
        lines = ["| part | before ms | before share | after ms | after share |", "|---|---|---|---|---|"]
        names = sorted(set(result["ms"]) | set(before["ms"]),
                       key=lambda p: -max(result["ms"].get(p, 0.0), before["ms"].get(p, 0.0)))
        for part in names:
            b, a = before["ms"].get(part), result["ms"].get(part)
            cells = [f"{b:.2f} | {100 * b / old_total:.1f}%" if b is not None else "- | -",
                     f"{a:.2f} | {100 * a / total:.1f}%" if a is not None else "- | -"]
            lines.append(f"| {part} | {cells[0]} | {cells[1]} |")
        lines.append(f"| **total** | **{old_total:.2f}** | 100% | **{total:.2f}** | "
                     f"{100 * total / old_total:.0f}% of before |")
        same = "identical" if before.get("digest") == result["digest"] else "**DIFFERENT**"
        lines.append(f"\nOutput digest before {before.get('digest')}, after {result['digest']}: {same}.")
    return head + "\n".join(lines) + "\n"


def merge_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several --json runs as one: per stage and part the median over the runs (a part missing from
    a run counts 0); the digests must agree."""
    merged: dict[str, Any] = {"stages": {}, "argv": [run["argv"] for run in runs]}
    for stage in runs[0]["stages"]:
        results = [run["stages"][stage] for run in runs if stage in run["stages"]]
        digests = {r["digest"] for r in results}
        if len(digests) > 1:
            raise ValueError(f"{stage}: runs made different outputs ({sorted(digests)})")
        parts = sorted({p for r in results for p in r["ms"]})
        ms = {p: statistics.median(r["ms"].get(p, 0.0) for r in results) for p in parts}
        merged["stages"][stage] = {**results[0], "ms": ms, "total_ms": sum(ms.values()),
                                   "repeats": sum(r["repeats"] for r in results)}
    return merged


def job_estimates(results: dict[str, dict[str, Any]], inputs: Inputs) -> list[tuple[str, str, float]]:
    """(rule, how, CPU s) of `make run`'s network jobs from the profile and the default config:
    iterations per epoch x epochs x ms per iteration, plus the per-epoch selection (and EUMS's
    reassignment), or images x ms per image. Process start, imports and writes are not in it."""
    cfg, lists = inputs.cfg, inputs.lists
    ms = lambda stage: results[stage]["total_ms"] if stage in results else None  # noqa: E731
    out = []

    def add(rule: str, how: str, *terms: tuple[float, str | None]) -> None:
        if all(ms(stage) is not None for _, stage in terms if stage):
            out.append((rule, how, sum(n * ms(stage) for n, stage in terms if stage) / 1000.0))

    base_iters = len(lists["base_train"]) // int(cfg["base"]["batch_size"])
    add("base_model", f"{cfg['base']['epochs']} x ({base_iters} it + {len(lists['select_base'])} select)",
        (int(cfg["base"]["epochs"]) * base_iters, "base"),
        (int(cfg["base"]["epochs"]) * len(lists["select_base"]), "selection"))
    ft_iters = max(len(lists["base"]), len(lists["novel"])) // int(cfg["finetune"]["batch_size"])
    epochs = int(cfg["finetune"]["epochs"])
    variants = 1 + len(cfg["finetune"]["ablations"])  # basic and each ablation (same cost, k aside)
    add("finetune basic (x%d)" % variants, f"{variants} x {epochs} x ({ft_iters} it + {len(lists['select'])} select)",
        (variants * epochs * ft_iters, "basic"), (variants * epochs * len(lists["select"]), "selection"))
    clean = len(inputs.clean_unclean()[0])
    add("finetune eums", f"{epochs} x ({ft_iters} it + {len(lists['select'])} select) + {clean} reassign",
        (epochs * ft_iters, "eums"), (epochs * len(lists["select"]), "selection"), (clean, "reassignment"))
    weak = cfg["weak"]
    icd_iters = len(lists["base_train"]) // int(weak["train"]["batch_size"])
    add("train_icd", f"{weak['train']['epochs']} x {icd_iters} it", (int(weak["train"]["epochs"]) * icd_iters, "icd"))
    images = int(weak["pretrain"]["images"])
    train_images = images - int(round(images * float(weak["pretrain"]["holdout"])))
    pre_iters = train_images // int(weak["pretrain"]["batch_size"])
    add("pretrain_icd_trunk", f"{weak['pretrain']['epochs']} x {pre_iters} it (no image generation, no mAP)",
        (int(weak["pretrain"]["epochs"]) * pre_iters, "pretrain"))
    add("icd_scores", f"{len(lists['base_train'])} images", (len(lists["base_train"]), "icd_scores"))
    add("base_removal", f"{len(lists['novel'])} images", (len(lists["novel"]), "base_removal"))
    add("ranking", f"{len(lists['novel'])} images", (len(lists["novel"]), "ranking"))
    models = 2 * len(cfg["evaluation"]["models"])
    n_val = len(inputs.dataset.ids(cfg["evaluation"]["split"]))
    add("evaluate", f"{models} checkpoints x {n_val} images", (models * n_val, "evaluation"))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, of {', '.join(STAGES)}")
    parser.add_argument("--root", help="the default generated dataset (generated into --work when not given)")
    parser.add_argument("--work", default=str(REPO / "results" / "profile_stages"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ops", action="store_true", help="also print torch.profiler's op table per stage")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--weights", help="save each training's weights after its iterations in this directory "
                                          "(to compare runs, e.g. at --threads 1 and 2)")
    parser.add_argument("--compare", help="an earlier --json file: print before / after columns")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="measure nothing: report the median per part of these --json runs (interleaved "
                             "repeats), with --compare beside an earlier (merged) run")
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, str(REPO))
    import torch  # noqa: F401  (before seed_everything, which sets torch's determinism as a job does)

    from ncdss_core.runtime import seed_everything, set_threads

    set_threads(args.threads)
    inputs = Inputs(args.root, Path(args.work))
    seed_everything(int(inputs.cfg["seed"]))
    before = json.loads(Path(args.compare).read_text())["stages"] if args.compare else {}
    results: dict[str, dict[str, Any]] = {}
    if args.merge:
        merged = merge_runs([json.loads(Path(f).read_text()) for f in args.merge])["stages"]
        stages = [stage for stage in STAGES if stage in merged]
    for stage in stages:
        result = merged[stage] if args.merge else measure_stage(
            stage, inputs, args.clock, args.iterations, args.images, args.warmup, args.repeats, args.ops,
            Path(args.weights) if args.weights else None)
        results[stage] = result
        print(format_stage(result, before.get(stage)), flush=True)
        if result.get("ops_table"):
            print("```\n" + result["ops_table"] + "\n```\n", flush=True)
    estimates = job_estimates(results, inputs)
    old = dict((rule, seconds) for rule, _, seconds in job_estimates(before, inputs)) if before else {}
    if estimates:
        print("### Estimated CPU s per rule of `make run` (network work only)\n")
        print("| rule | work | " + ("before s | after s | change |" if old else "CPU s |"))
        print("|---|---|" + ("---|---|---|" if old else "---|"))
        for rule, how, seconds in estimates:
            print(f"| {rule} | {how} | " + (f"{old[rule]:.0f} | {seconds:.0f} | {seconds - old[rule]:+.0f} |"
                                            if rule in old else f"{seconds:.0f} |"))
        if old:
            total_old, total = sum(old.values()), sum(s for _, _, s in estimates)
            print(f"| **all** | | **{total_old:.0f}** | **{total:.0f}** | **{total - total_old:+.0f}** |")
        print()
    if args.json:  # (merged: the medians, to --compare against later)
        Path(args.json).write_text(json.dumps(
            {"stages": {k: {kk: vv for kk, vv in v.items() if kk != "ops_table"} for k, v in results.items()},
             "argv": sys.argv[1:]}, indent=1))


if __name__ == "__main__":
    main()
