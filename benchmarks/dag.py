"""What Snakemake itself costs before any job runs: building the DAG of a large dataset from an
empty directory, and the no-op rerun of a run where everything is up to date.

DAG build: dataset.kind voc with a dataset root that holds only its list files (a dry run opens
no image), folds 0-3, as many shards as keep about IMAGES_PER_SHARD images per job.
No-op rerun: `snakemake -n` in a directory where every output of the default config's DAG exists
(made from `snakemake --summary`: each listed output created empty, all with one mtime), and in
the finished per-stage run (a real run, real job metadata).
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.measure import CommandFailed, Measurement, median, run_measured

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
# README's VOC example: 12,031 images (10,582 trainaug + 1,449 val) in `shards: 24`, ~500 per job
# (docs/cluster.md, "Shards")
IMAGES_PER_SHARD = 500
DAG_FOLDS = [0, 1, 2, 3]
NOTHING_TO_DO = "Nothing to be done"


def fake_voc_root(dest: Path, n_images: int) -> Path:
    """A VOC root with only sets/trainaug.txt and sets/val.txt (1 in 8 images in val)."""
    n_val = n_images // 8
    ids = [f"img{i:07d}" for i in range(n_images)]
    (dest / "sets").mkdir(parents=True, exist_ok=True)
    (dest / "sets" / "trainaug.txt").write_text("".join(f"{i}\n" for i in ids[n_val:]))
    (dest / "sets" / "val.txt").write_text("".join(f"{i}\n" for i in ids[:n_val]))
    return dest


def shards_for(n_images: int) -> int:
    return max(1, math.ceil(n_images / IMAGES_PER_SHARD))


def snakemake_command(workflow: Path, run_dir: Path, configs: list[Path], *options: str) -> list[str]:
    """snakemake on `workflow` (a checkout's root), config.yaml of that checkout first."""
    return [str(SNAKEMAKE), *options, "-s", str(workflow / "Snakefile"), "--directory", str(run_dir),
            "--configfile", str(workflow / "config.yaml"), *map(str, configs)]


def shown(command: list[str]) -> str:
    """A command as the results file shows it: no path of this machine."""
    names = {str(SNAKEMAKE): "snakemake", sys.executable: "python"}
    return " ".join(names.get(str(part), str(part)) for part in command)


def count_jobs(command: list[str], cwd: Path | None = None) -> int:
    """Jobs a dry run would run (`--quiet rules` prints only the job table)."""
    out = subprocess.run([*command, "-n", "--quiet", "rules"], cwd=cwd, capture_output=True, text=True)
    found = re.search(r"^total\s+(\d+)\s*$", out.stdout + out.stderr, re.MULTILINE)
    if out.returncode != 0 or not found:
        raise CommandFailed(f"{' '.join(command)}: no job count\n{(out.stdout + out.stderr)[-2000:]}")
    return int(found.group(1))


class _RepeatedRuns:
    """A Snakemake command run several times: its median time and its largest peak RSS."""

    runs: list[Measurement]

    @property
    def seconds(self) -> float:
        return median([m.seconds for m in self.runs])

    @property
    def peak_rss_mb(self) -> float:
        return max(m.peak_rss_mb for m in self.runs)


@dataclass
class DagResult(_RepeatedRuns):
    label: str
    images: int
    shards: int
    jobs: int
    runs: list[Measurement]
    command: str


def dag_build(work: Path, n_images: int, repeats: int, workflow: Path = REPO, label: str = "") -> DagResult:
    """Median time and peak RSS of `snakemake -n --quiet` from an empty directory."""
    work.mkdir(parents=True, exist_ok=True)
    root = fake_voc_root(work / "voc", n_images)
    shards = shards_for(n_images)
    overlay = work / "dag.yaml"
    overlay.write_text(yaml.safe_dump({"dataset": {"kind": "voc", "root": str(root), "shards": shards},
                                       "folds": DAG_FOLDS}))
    runs = []
    for _ in range(repeats):
        run_dir = work / "empty"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir()
        command = snakemake_command(workflow, run_dir, [overlay], "-n", "--quiet")
        runs.append(run_measured(command, log=work / "dry_run.log"))
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    jobs = count_jobs(snakemake_command(workflow, run_dir, [overlay]))
    command = shown(snakemake_command(Path("."), Path("EMPTY_DIR"), [Path("dag.yaml")], "-n", "--quiet"))
    return DagResult(label, n_images, shards, jobs, runs, command)


def checkout(revision: str, dest: Path) -> Path:
    """The workflow files of a git revision (git archive; the working tree is not touched)."""
    data = subprocess.run(["git", "archive", revision, "Snakefile", "rules", "config.yaml", "config",
                           "ncdss_core", "workflow_scripts", "profiles", "envs"],
                          cwd=REPO, capture_output=True, check=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter="data")
    return dest


# --- no-op rerun ------------------------------------------------------------------------------------
def _outputs(command: list[str]) -> list[str]:
    out = subprocess.run([*command, "--summary"], capture_output=True, text=True)
    if out.returncode != 0:
        raise CommandFailed(f"{' '.join(command)} --summary\n{(out.stdout + out.stderr)[-2000:]}")
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("output_file\t"))
    return [line.split("\t")[0] for line in lines[header + 1:] if "\t" in line]


def up_to_date_run(run_dir: Path, configs: list[Path], workflow: Path = REPO) -> Path:
    """A directory holding every output of the DAG, empty, all with one mtime (no job would run).
    Outputs without a suffix are the rules' directory() outputs; the rest are files."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    outputs = _outputs(snakemake_command(workflow, run_dir, configs))
    for name in outputs:
        path = run_dir / name
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:
            path.mkdir(parents=True, exist_ok=True)
    stamp = 1_700_000_000
    for name in outputs:
        os.utime(run_dir / name, (stamp, stamp))
    return run_dir


@dataclass
class NoopResult(_RepeatedRuns):
    label: str
    outputs: int  # output files and directories checked
    runs: list[Measurement]
    command: str


def noop_rerun(run_dir: Path, configs: list[Path], repeats: int, label: str, targets: list[str] = (),
               workflow: Path = REPO) -> NoopResult:
    """Median time of `snakemake -n` where nothing is to be done (checked on every run)."""
    command = snakemake_command(workflow, run_dir, configs, *targets, "-n")
    runs = []
    for _ in range(repeats):
        log = run_dir.parent / f"{run_dir.name}_noop.log"
        runs.append(run_measured(command, log=log))
        if NOTHING_TO_DO not in log.read_text(errors="replace"):
            raise CommandFailed(f"{' '.join(command)}: jobs left to run\n{log.read_text()[-2000:]}")
    outputs = len(_outputs(snakemake_command(workflow, run_dir, configs, *targets)))
    command = shown(["snakemake", *targets, "-n", "--configfile", "config.yaml", *(c.name for c in configs)])
    return NoopResult(label, outputs, runs, command)


# --- where the DAG build spends its time ------------------------------------------------------------
def _short(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def profile_dag_build(work: Path, n_images: int, workflow: Path = REPO, top: int = 8) -> dict:
    """cProfile of one `snakemake -n --quiet` (dataset made by dag_build): the workflow's own code
    (Snakefile, rules/, ncdss_core/) by cumulative time, and the functions with the most own time."""
    import pstats

    overlay, run_dir, stats_file = work / "dag.yaml", work / "profiled", work / "dag.prof"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    command = [sys.executable, "-m", "cProfile", "-o", str(stats_file),
               *snakemake_command(workflow, run_dir, [overlay], "-n", "--quiet")]
    run_measured(command, log=work / "profile.log")
    stats = pstats.Stats(str(stats_file)).stats  # (file, line, function) -> (cc, calls, own, cumulative, callers)
    total = max(cumulative for _, _, _, cumulative, _ in stats.values())
    own_files = tuple(str(workflow / name) for name in ("Snakefile", "rules", "ncdss_core"))
    workflow_rows = sorted(((cum, calls, f"{Path(f).relative_to(workflow)}:{fn}")
                            for (f, _, fn), (_, calls, _, cum, _) in stats.items() if f.startswith(own_files)),
                           reverse=True)[:top]
    def main_caller(callers: dict) -> str:
        if not callers:
            return ""
        (f, _, fn), _ = max(callers.items(), key=lambda item: item[1][3])  # by cumulative time given
        return f"{_short(f)}:{fn}"

    own_rows = sorted(((own, calls, f"{_short(f)}:{fn}", main_caller(callers))
                       for (f, _, fn), (_, calls, own, _, callers) in stats.items()), reverse=True)[:top]
    return {"images": n_images, "total_s": total, "workflow": workflow_rows, "own_time": own_rows,
            "command": "python -m cProfile -o dag.prof $(command -v snakemake) " + shown(snakemake_command(
                Path("."), Path("EMPTY_DIR"), [Path("dag.yaml")], "-n", "--quiet")[1:])}


def snakemake_floor(repeats: int) -> NoopResult:
    """`snakemake --version`: the interpreter, Snakemake's imports and plugins, no workflow."""
    runs = [run_measured([str(SNAKEMAKE), "--version"]) for _ in range(repeats)]
    return NoopResult("Snakemake alone, no workflow", 0, runs, "snakemake --version")
