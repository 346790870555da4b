"""Per-stage throughput and peak memory, each job rerun in a fresh process.

How: the workflow runs once on a dataset of n generated images (one shard, fold 0, one epoch of
every training, everything else as config.yaml) with `--skip-script-cleanup`, which keeps every
job's script as Snakemake ran it (the rule's workflow script behind a preamble holding that job's
inputs, outputs, params and threads). Each measured job is then rerun from that script, output
removed first, under `measure.run_measured`: the exact code, inputs and threads of the workflow's
job, in a process of its own. Nothing here repeats the library: the job calls its stage function.

The dataset of n images is a view of the generated dataset (dataset.kind voc: symlinked image,
label and saliency folders, list files with the first n trainaug and n // 4 val ids).
"""

from __future__ import annotations

import ast
import json
import pickle
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from benchmarks.dag import NoopResult, noop_rerun
from benchmarks.measure import CommandFailed, Measurement, median, run_measured

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
LAYOUT_DIRS = ("images", "SegmentationClassAug", "SegmentationClass", "saliency_supervised_model",
               "Annotations")


def _metric(key: str) -> Callable[[Path, int], int]:
    return lambda artifact, n_val: int(json.loads((artifact / "provenance.json").read_text())["metrics"][key])


def _indexed(artifact: Path, n_val: int) -> int:
    splits = json.loads((artifact / "provenance.json").read_text())["metrics"]["images"]
    return sum(int(split["images"]) for split in splits.values())


def _epoch_streams(artifact: Path, n_val: int) -> int:
    """Images in the training set of the (one) epoch: the sum of its streams."""
    history = json.loads((artifact / "history.json").read_text())
    return sum(int(v) for v in history["epochs"][0]["stream_sizes"].values())


def _every_variant(artifact: Path, n_val: int) -> int:
    """Images of the job that made `artifact` (`<stage>/<variant>/<shard>`): the sum over the
    variants, whose shards the one job writes side by side."""
    variants = artifact.parent.parent.glob(f"*/{artifact.name}/provenance.json")
    return sum(int(json.loads(path.read_text())["metrics"]["images"]) for path in variants)


def _val_images(artifact: Path, n_val: int) -> int:
    return n_val


@dataclass(frozen=True)
class StageJob:
    """One measured job: a table label, its rule, its output (fold 0, shard 000, variant icd) and
    the library function its workflow script calls (README, "Where each stage lives")."""

    label: str
    rule: str
    output: str
    function: str
    per_image: bool  # memory target applies (peak RSS flat in the number of images)
    images: Callable[[Path, int], int]


def stage_jobs(k: int) -> list[StageJob]:
    """Measured jobs in DAG order; k is the config's discovery.k."""
    weak, disc, ft = "results/weak/fold0", "results/discovery/fold0/full/rep0", "results/finetune/fold0/full/rep0"
    return [
        StageJob("index", "index_dataset", "results/dataset", "data/index.py::index_dataset", True, _indexed),
        StageJob("superpixels", "superpixels", "results/superpixels/000",
                 "weak/superpixels.py::superpixel_shard", True, _metric("images")),
        StageJob("saliency", "saliency", "results/saliency/000", "weak/saliency.py::saliency_shard", True,
                 _metric("images")),
        StageJob("trunk pretraining, 1 epoch", "pretrain_icd_trunk", "results/weak/pretrained_trunk",
                 "weak/pretrain.py::pretrain_trunk", False, _metric("images")),
        StageJob("ICD training, 1 epoch", "train_icd", f"{weak}/icd_model", "weak/trainer.py::train_icd", False,
                 _metric("train_images")),
        StageJob("ICD scores", "icd_scores", f"{weak}/scores/000", "weak/infer.py::score_shard", True,
                 _metric("images")),
        StageJob("seeds (every variant)", "seeds", f"{weak}/seeds/icd/000", "weak/seeds.py::seed_shard", True,
                 _every_variant),
        StageJob("CRF (every variant)", "crf", f"{weak}/crf/icd/000", "weak/crf.py::crf_shard", True,
                 _every_variant),
        StageJob("base training, 1 epoch", "base_model", "results/base/fold0/full/rep0/model",
                 "discovery/base_training.py::train_base_model", False, _epoch_streams),
        StageJob("base removal", "base_removal", f"{disc}/base_removal/000",
                 "discovery/base_removal.py::remove_base_shard", True, _metric("images")),
        StageJob("clustering", "clustering", f"{disc}/clusters/k{k}", "discovery/clustering.py::cluster_fold",
                 True, _metric("images")),
        StageJob("pseudo-labels", "pseudo_labels", f"{disc}/pseudo_labels/k{k}",
                 "discovery/clustering.py::write_pseudo_labels", True, _metric("images")),
        StageJob("basic training, 1 epoch", "finetune", f"{ft}/basic/model",
                 "discovery/finetuning.py::train_finetune_model", False, _epoch_streams),
        StageJob("ranking", "ranking", f"{ft}/ranking", "discovery/ranking.py::rank_novel_images", True,
                 _metric("images")),
        StageJob("EUMS training, 1 epoch", "finetune", f"{ft}/eums/model",
                 "discovery/finetuning.py::train_finetune_model", False, _epoch_streams),
        StageJob("evaluation (EUMS model)", "evaluate", "results/eval/fold0/full/rep0/eums",
                 "evaluation/evaluate.py::evaluate_model_dir", True, _val_images),
    ]


# --- the workload ---------------------------------------------------------------------------------
def subset_root(source: Path, dest: Path, n: int) -> tuple[Path, int]:
    """A VOC-layout view of the first n trainaug and n // 4 val images of `source`."""
    trainaug = (source / "sets" / "trainaug.txt").read_text().split()
    val = (source / "sets" / "val.txt").read_text().split()
    n_val = max(1, n // 4)
    if n > len(trainaug) or n_val > len(val):
        raise ValueError(f"{source} has {len(trainaug)} trainaug / {len(val)} val images; {n} / {n_val} asked")
    dest.mkdir(parents=True, exist_ok=True)
    for name in LAYOUT_DIRS:
        link = dest / name
        if (source / name).is_dir() and not link.exists():
            link.symlink_to((source / name).resolve(), target_is_directory=True)
    (dest / "sets").mkdir(exist_ok=True)
    (dest / "sets" / "trainaug.txt").write_text("".join(f"{i}\n" for i in trainaug[:n]))
    (dest / "sets" / "val.txt").write_text("".join(f"{i}\n" for i in val[:n_val]))
    return dest, n_val


def bench_overlay(root: Path, n: int, extra: dict | None = None) -> dict:
    """config.yaml as it is, but the dataset of n images in one shard, fold 0, one epoch per training."""
    overlay = {
        "dataset": {"kind": "voc", "root": str(root.resolve()), "shards": 1},
        "folds": [0],
        "weak": {"pretrain": {"images": n, "epochs": 1}, "train": {"epochs": 1}},
        "base": {"epochs": 1},
        "finetune": {"epochs": 1},
    }
    for section, values in (extra or {}).items():
        overlay.setdefault(section, {}).update(values)
    return overlay


def fixture_command(run_dir: Path, overlay_file: Path, cores: int, targets: list[str]) -> list[str]:
    # targets first: --quiet takes optional values
    return [str(SNAKEMAKE), *targets, "-s", str(REPO / "Snakefile"), "--directory", str(run_dir),
            "--cores", str(cores), "--configfile", str(REPO / "config.yaml"), str(overlay_file),
            "--skip-script-cleanup", "--quiet"]


_PICKLE = re.compile(r"""pickle\.loads\((b(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"))\)""")


def job_scripts(run_dir: Path) -> dict[str, tuple[Path, list[str]]]:
    """Output path -> the kept script of the job that wrote it (.snakemake/scripts/tmp*.<script>.py)
    and every output of that job (seeds and crf write one directory per seed variant)."""
    scripts = {}
    for path in sorted((run_dir / ".snakemake" / "scripts").glob("tmp*.py")):
        found = _PICKLE.search(path.read_text(errors="replace"))
        if found:
            outputs = [str(output) for output in pickle.loads(ast.literal_eval(found.group(1))).output]
            scripts.update({output: (path, outputs) for output in outputs})
    return scripts


# --- measuring ------------------------------------------------------------------------------------
@dataclass
class StageResult:
    job: StageJob
    images: int
    threads: int
    runs: list[Measurement]
    script: str

    @property
    def seconds(self) -> float:
        return median([m.seconds for m in self.runs])

    @property
    def peak_rss_mb(self) -> float:
        return median([m.peak_rss_mb for m in self.runs])

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("nan")


def _threads(script: Path) -> int:
    found = _PICKLE.search(script.read_text(errors="replace"))
    return int(pickle.loads(ast.literal_eval(found.group(1))).threads) if found else 1


@dataclass
class SizeResult:
    stages: list[StageResult]
    noop: NoopResult  # `snakemake -n` of the finished run, before any job was rerun


def measure_size(source: Path, work: Path, n: int, repeats: int, cores: int,
                 extra_config: dict | None = None, log=print) -> SizeResult:
    """Run the fixture workflow on n images, time its no-op rerun, then rerun each measured job
    `repeats` times (a rerun job is newer than what the workflow ran after it: no-op first)."""
    root, n_val = subset_root(source, work / "dataset", n)
    overlay = bench_overlay(root, n, extra_config)
    overlay_file = work / "bench.yaml"
    overlay_file.write_text(yaml.safe_dump(overlay, sort_keys=True))
    k = int(overlay.get("discovery", {}).get("k") or yaml.safe_load((REPO / "config.yaml").read_text())["discovery"]["k"])
    jobs = stage_jobs(k)
    run_dir = work / "run"
    log(f"  n={n}: workflow run for the inputs of every measured job")
    run_measured(fixture_command(run_dir, overlay_file, cores, [j.output for j in jobs]),
                 log=work / "fixture.log")
    targets = [j.output for j in jobs]
    noop = noop_rerun(run_dir, [overlay_file], repeats, f"the per-stage run at {n} images (real run)", targets)
    scripts = job_scripts(run_dir)
    results = []
    for job in jobs:
        if job.output not in scripts:
            raise CommandFailed(f"no kept job script wrote {job.output} (in {run_dir}/.snakemake/scripts)")
        script, outputs = scripts[job.output]
        runs = []
        for _ in range(repeats):
            for output in outputs:
                shutil.rmtree(run_dir / output, ignore_errors=True)
            runs.append(run_measured([sys.executable, script], cwd=run_dir, log=work / f"{job.rule}.log"))
        result = StageResult(job, job.images(run_dir / job.output, n_val), _threads(script), runs,
                             str(script.relative_to(run_dir)))
        log(f"  n={n}: {job.label}: {result.seconds:.2f} s, {result.peak_rss_mb:.0f} MB, {result.images} images")
        results.append(result)
    return SizeResult(results, noop)


IMPORT_BASELINE = "import ncdss_core.stage"


def import_baseline(repeats: int) -> list[Measurement]:
    """What every job pays before its stage starts: the interpreter and the stage helper's imports."""
    return [run_measured([sys.executable, "-c", IMPORT_BASELINE], cwd=REPO) for _ in range(repeats)]
