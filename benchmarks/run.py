"""`make bench`: measure the workflow on this machine and write benchmarks/RESULTS.md.

    .venv/bin/python -m benchmarks.run            # full run (about an hour on 2 idle cores)
    .venv/bin/python -m benchmarks.run --quick    # smoke run at tiny sizes, one run per figure

Sections, in the order they run: the CRF pool against a serial loop (crf), the default model's
training iteration at 1 and 2 threads and side by side (model), the DAG build at 20,000 and 80,000
images (dag), the no-op rerun (noop), per-stage images/s and peak RSS at N and 4N images (stages). `--sections` picks some;
the file is rewritten after each section, so a stopped run keeps what it measured.
`--dag-baseline REV` also measures the DAG build of the workflow at git revision REV (before/after).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import dag as dag_bench
from benchmarks.machine import machine_info
from benchmarks.measure import run_side_by_side
from benchmarks.report import Results, render
from benchmarks.stages import import_baseline, measure_size

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("crf", "model", "dag", "noop", "stages")
FACTOR = 4  # sizes N and 4N


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def settings_for(args: argparse.Namespace) -> dict:
    """Sizes and counts: the full run, or --quick (tiny generated dataset, one run of each figure;
    k 5 and fine-tuning batch 2 so that 20 images still fill every stream)."""
    if args.quick:
        return {"n": 20, "repeats": 1, "dataset_size": "tiny", "dag_images": [300, 1200, 3000], "iterations": 3,
                "crf_images": 20, "extra_config": {"discovery": {"k": 5}, "finetune": {"batch_size": 2}}}
    return {"n": args.n, "repeats": args.repeats, "dataset_size": "default",
            "dag_images": [300, 20_000, 80_000], "iterations": args.iterations, "crf_images": args.crf_images,
            "extra_config": {}}


def source_dataset(args: argparse.Namespace, work: Path, size: str) -> Path:
    if args.dataset:
        return Path(args.dataset).resolve()
    root = work / f"generated_{size}"
    if not root.exists():
        from ncdss_core.data.generated import generate

        _log(f"generating the {size} generated dataset in {root}")
        generate(root, size=size, seed=0)
    return root


def crf_figures(source: Path, images: int, threads: int, repeats: int) -> dict:
    command = ["benchmarks/crf_speed.py", "--root", str(source), "--images", str(images),
               "--threads", str(threads), "--repeats", str(repeats)]
    out = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    result["command"] = " ".join(["python", *command[:2], "GENERATED_ROOT", *command[3:]])
    return result


def model_figures(work: Path, iterations: int, repeats: int) -> dict:
    def command(threads: int) -> list[str]:
        return [sys.executable, "-m", "benchmarks.model_iteration", "--threads", str(threads),
                "--iterations", str(iterations)]

    def ms(log: Path) -> float:
        return float(json.loads(log.read_text().strip().splitlines()[-1])["ms_per_iteration"])

    logs = [work / "model_a.json", work / "model_b.json"]
    figures: dict = {"one_thread": [], "two_threads": [], "side_by_side": [], "iterations": iterations}
    for _ in range(repeats):
        for key, threads in (("one_thread", 1), ("two_threads", 2)):
            run_side_by_side([command(threads)], cwd=REPO, logs=logs[:1])
            figures[key].append(ms(logs[0]))
        run_side_by_side([command(1), command(1)], cwd=REPO, logs=logs)
        figures["side_by_side"].append((ms(logs[0]), ms(logs[1])))
    info = json.loads(logs[0].read_text().strip().splitlines()[-1])
    figures.update(batch=info["batch"], input_size=info["input_size"])
    return figures


PATH_OPTIONS = ("--work", "--dataset", "--out")


def shown_command(argv: list[str]) -> str:
    """The command line for the results file, with this machine's paths left out."""
    shown, hide = [], False
    for arg in argv:
        name = arg.split("=", 1)[0]
        if hide:
            shown.append("DIR")
        elif name in PATH_OPTIONS and "=" in arg:
            shown.append(f"{name}=DIR")
        else:
            shown.append(arg)
        hide = arg in PATH_OPTIONS
    return " ".join(["python -m benchmarks.run", *shown])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run per figure")
    # N = 120: about 30 % of the images are novel, and EUMS needs 8 unclean ones (a third of them)
    parser.add_argument("--n", type=int, default=120, help="N (images); stages also run at 4N")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timed figure (median)")
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per model process")
    parser.add_argument("--crf-images", type=int, default=200)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="snakemake --cores, CRF workers")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--dataset", default="", help="an existing generated dataset root (else generated)")
    parser.add_argument("--dag-images", default="", help="comma-separated DAG sizes (default: 300,20000,80000; "
                        "quick: 300,1200,3000); the profile runs at the one before last")
    parser.add_argument("--dag-baseline", default="", help="git revision whose DAG build is measured too")
    parser.add_argument("--work", default="", help="work directory, kept (default: a temporary one)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)} (known: {', '.join(SECTIONS)})")
    cfg = settings_for(args)
    if args.dag_images:
        cfg["dag_images"] = [int(v) for v in args.dag_images.split(",")]
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="ncdss_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    results = Results(machine_info(), {
        "command": shown_command(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick, "repeats": cfg["repeats"], "dag_baseline_label": f"before ({args.dag_baseline})"})

    def write() -> None:
        results.load_avg_end = os.getloadavg()
        out.write_text(render(results))
        _log(f"wrote {out}")

    try:
        source = source_dataset(args, work, cfg["dataset_size"]) if {"crf", "stages"} & set(sections) else None
        if "crf" in sections:
            _log("CRF: pool vs serial loop")
            results.crf = crf_figures(source, cfg["crf_images"], args.cores, cfg["repeats"])
            write()
        if "model" in sections:
            _log("model iteration: 1 thread, 2 threads, two 1-thread processes side by side")
            results.model = model_figures(work, cfg["iterations"], cfg["repeats"])
            write()
        if "dag" in sections:
            baseline = dag_bench.checkout(args.dag_baseline, work / "baseline") if args.dag_baseline else None
            for images in cfg["dag_images"]:
                _log(f"DAG build, {images} images")
                results.dag.append(dag_bench.dag_build(work / f"dag_{images}", images, cfg["repeats"]))
                if baseline is not None:
                    results.dag_baseline.append(dag_bench.dag_build(work / f"dag_before_{images}", images,
                                                                    cfg["repeats"], workflow=baseline))
                write()
            profiled = cfg["dag_images"][max(0, len(cfg["dag_images"]) - 2)]
            _log(f"DAG build profile, {profiled} images")
            results.dag_profile = dag_bench.profile_dag_build(work / f"dag_{profiled}", profiled)
            write()
        if "noop" in sections:  # before the long stages section: a stopped run still has it
            _log("no-op rerun: the default config")
            noop_dir = dag_bench.up_to_date_run(work / "noop" / "run", [])
            results.noop.append(dag_bench.noop_rerun(noop_dir, [], cfg["repeats"], "default config (config.yaml)"))
            results.noop.append(dag_bench.snakemake_floor(cfg["repeats"]))
            write()
        if "stages" in sections:
            results.import_baseline = import_baseline(cfg["repeats"])
            for n in [cfg["n"], FACTOR * cfg["n"]]:
                _log(f"stages at {n} images")
                measured = measure_size(source, work / f"n{n}", n, cfg["repeats"], args.cores,
                                        cfg["extra_config"], log=_log)
                results.stages[n] = measured.stages
                write()
            if "noop" in sections:  # the no-op rerun of the finished per-stage run (real job metadata)
                results.noop.insert(1, measured.noop)
            write()
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
