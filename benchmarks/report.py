"""benchmarks/RESULTS.md from the measurements of benchmarks/run.py: one section per figure, each
with the command or function that produced it, the run count and the statistic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.dag import DAG_FOLDS, IMAGES_PER_SHARD, DagResult, NoopResult
from benchmarks.measure import Measurement, median
from benchmarks.stages import IMPORT_BASELINE, StageResult

MEMORY_GROWTH_LIMIT = 1.2  # per-image stages: peak RSS at 4N <= 1.2 x peak RSS at N
NOOP_TARGET_S = 2.0
DAG_TARGETS_S = {20_000: 5.0, 80_000: 10.0}


@dataclass
class Results:
    machine: dict
    settings: dict
    stages: dict[int, list[StageResult]] = field(default_factory=dict)  # images -> rows
    import_baseline: list[Measurement] = field(default_factory=list)
    model: dict | None = None
    noop: list[NoopResult] = field(default_factory=list)
    dag: list[DagResult] = field(default_factory=list)
    dag_baseline: list[DagResult] = field(default_factory=list)
    dag_profile: dict | None = None
    crf: dict | None = None
    load_avg_end: tuple | None = None


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def machine_section(r: Results) -> list[str]:
    m, s = r.machine, r.settings
    ram = f"{m['ram_gib']:.1f} GiB" if m.get("ram_gib") else "unknown"
    load = lambda v: ", ".join(f"{x:.2f}" for x in v) if v else "n/a"  # noqa: E731
    return [
        "# Performance results", "",
        f"Written by `{s['command']}` ({'quick smoke run, small sizes' if s['quick'] else 'full run'}).", "",
        *_table(["", ""], [
            ["date (UTC)", m["date_utc"]],
            ["code measured", f"git commit `{m['commit']}`{' with uncommitted changes' if m['dirty'] else ''}"],
            ["CPU", f"{m['cpu']}, {m['cores']} logical cores"],
            ["RAM", ram],
            ["OS", m["os"]],
            ["Python / torch / Snakemake", f"{m['python']} / {m['torch']} / {m['snakemake']}"],
            ["load average (1, 5, 15 min) at start / end", f"{load(m['load_avg_start'])} / {load(r.load_avg_end)}"],
            ["runs per figure", f"{s['repeats']} (times: median; peak RSS: median per stage, maximum for Snakemake)"],
        ]), "",
    ]


def stage_section(r: Results) -> list[str]:
    sizes = sorted(r.stages)
    if len(sizes) != 2:
        return []
    n, n4 = sizes
    small = {row.job.output: row for row in r.stages[n]}
    lines = [
        "## Per-stage throughput and peak memory", "",
        f"Each row is one job of the workflow, run in a fresh process {r.settings['repeats']} time(s) at "
        f"N = {n} and 4N = {n4} trainaug images (val: a quarter of that), one shard, fold 0, one epoch per "
        "training, every other setting as config.yaml. The inputs come from one workflow run per size "
        "(`benchmarks/stages.py::measure_size`: the generated dataset seen through `dataset.kind: voc` list "
        "files, `snakemake --skip-script-cleanup`); the command of each row is that job's kept script, "
        "`python .snakemake/scripts/tmp*.<rule script>.py` in that run's directory, its output removed first: "
        "the rule's workflow script calling the library function named in the row, with the job's own "
        "inputs, params and threads. Time: wall clock of the process (interpreter start and imports "
        "included), median; images/s: images / that time; marginal images/s: the images 4N has more than N "
        "over the seconds it takes more, which leaves out what a job pays whatever its size (n/a: less than a "
        "tenth more time, within noise). Images: what the "
        "job's provenance counts "
        "(trainings: the images of the epoch's training set, the sum of its streams; evaluation: the val "
        "images). Peak RSS: `os.wait4` of the job's process (the CRF pool: the largest of its processes), "
        "median.", "",
        f"Memory target for per-image stages: peak RSS at 4N at most {MEMORY_GROWTH_LIMIT} x that at N.", "",
    ]
    rows, misses = [], []
    for big in r.stages[n4]:
        job = big.job
        one = small.get(job.output)
        if one is None:
            continue
        growth = big.peak_rss_mb / one.peak_rss_mb if one.peak_rss_mb else float("nan")
        if job.per_image:
            ok = growth <= MEMORY_GROWTH_LIMIT
            target = _met(ok)
            if not ok:
                misses.append(job.label)
        else:
            target = "n/a (training)"
        extra_images, extra_s = big.images - one.images, big.seconds - one.seconds
        # a difference within a tenth of the job's time at N is noise, not a rate
        marginal = (f"{extra_images / extra_s:.1f}" if extra_images > 0 and extra_s > 0.1 * one.seconds
                    else "n/a")
        rows.append([job.label, f"`{job.output}`", f"`{job.function}`", big.threads,
                     f"{one.images} / {big.images}", f"{one.seconds:.2f} / {big.seconds:.2f}",
                     f"{one.images_per_s:.1f} / {big.images_per_s:.1f}", marginal,
                     f"{one.peak_rss_mb:.0f} / {big.peak_rss_mb:.0f}", f"{growth:.2f}", target])
    lines += _table(["stage", "job (output)", "library function", "threads", "images N / 4N", "s N / 4N",
                     "images/s N / 4N", "marginal images/s", "peak RSS N / 4N (MB)", "RSS 4N/N",
                     "memory target"], rows)
    lines += ["", ("Memory target missed by: " + ", ".join(misses)) if misses
              else "Every per-image stage meets the memory target.", ""]
    if r.import_baseline:
        runs = r.import_baseline
        lines += [f"Floor of every job: `python -c \"{IMPORT_BASELINE}\"` (what each workflow script imports "
                  f"first) takes {median([m.seconds for m in runs]):.2f} s and "
                  f"{median([m.peak_rss_mb for m in runs]):.0f} MB peak RSS (median of {len(runs)}).", ""]
    return lines


def model_section(r: Results) -> list[str]:
    m = r.model
    if not m:
        return []
    one, two = median(m["one_thread"]), median(m["two_threads"])
    a = median([pair[0] for pair in m["side_by_side"]])
    b = median([pair[1] for pair in m["side_by_side"]])
    pair_rate = 1000.0 / a + 1000.0 / b
    two_rate = 1000.0 / two
    command = f"python -m benchmarks.model_iteration --threads T --iterations {m['iterations']}"
    return [
        "## Training iteration of the default segmentation model", "",
        f"config.yaml `model` section, batch {m['batch']}, input {m['input_size']} px, 16 classes; forward, "
        f"loss, backward and SGD step through `train/loop.py::fit` with the base training's step "
        f"(`benchmarks/model_iteration.py`). Per process: {m['iterations']} warm-up iterations, then "
        f"{m['iterations']} timed ones; median over {len(m['one_thread'])} processes. Command: `{command}`; "
        "side by side: two such processes with `--threads 1` started together.", "",
        *_table(["setting", "ms per iteration", "iterations/s (all processes)", "throughput vs one 2-thread process"], [
            ["1 process, 1 thread", f"{one:.1f}", f"{1000.0 / one:.2f}", f"{(1000.0 / one) / two_rate:.2f}x"],
            ["1 process, 2 threads", f"{two:.1f}", f"{two_rate:.2f}", "1.00x"],
            ["2 processes side by side, 1 thread each", f"{a:.1f} / {b:.1f}", f"{pair_rate:.2f}",
             f"{pair_rate / two_rate:.2f}x"],
        ]), "",
    ]


def noop_section(r: Results) -> list[str]:
    if not r.noop:
        return []
    rows = [[n.label, f"`{n.command}`", n.outputs or "-", f"{n.seconds:.2f}", f"{n.peak_rss_mb:.0f}",
             _met(n.seconds < NOOP_TARGET_S) if n.outputs else "(floor)"] for n in r.noop]
    return [
        "## No-op rerun", "",
        f"`snakemake -n` where nothing is to be done (checked: the output says so), median of "
        f"{len(r.noop[0].runs)}; target under {NOOP_TARGET_S:.0f} s. The default config's directory holds "
        "every output of its DAG, created empty with one mtime from `snakemake --summary` "
        "(`benchmarks/dag.py::up_to_date_run`; no job metadata, so no params check runs); the per-stage run "
        "at 4N is a real finished run (metadata of every job). `snakemake --version` is the floor of any "
        "Snakemake command on this machine.", "",
        *_table(["run", "command", "outputs checked", "s", "peak RSS (MB)", f"under {NOOP_TARGET_S:.0f} s"], rows), "",
    ]


def _dag_rows(results: list[DagResult], version: str) -> list[list[Any]]:
    rows = []
    for d in results:
        target = DAG_TARGETS_S.get(d.images)
        rows.append([version, f"{d.images:,}", d.shards, f"{d.jobs:,}", f"{d.seconds:.2f}", f"{d.peak_rss_mb:.0f}",
                     f"{target:.0f} s, {_met(d.seconds < target)}" if target else "-"])
    return rows


def dag_section(r: Results) -> list[str]:
    if not r.dag:
        return []
    rows = _dag_rows(r.dag_baseline, r.settings.get("dag_baseline_label", "before")) + _dag_rows(r.dag, "measured code")
    lines = [
        "## DAG build", "",
        f"`{r.dag[0].command}` from an empty directory (`benchmarks/dag.py::dag_build`), median of "
        f"{len(r.dag[0].runs)}; peak RSS the largest of the runs. `dag.yaml`: dataset.kind voc, a dataset root "
        f"holding only sets/trainaug.txt and sets/val.txt (1 in 8 ids in val), folds {DAG_FOLDS}, "
        f"`dataset.shards` = images / {IMAGES_PER_SHARD} rounded up: the README's VOC example, 12,031 "
        "images in `shards: 24`, about 500 images per job (docs/cluster.md). The smallest size is one shard: what the DAG "
        "costs besides its per-shard jobs.", "",
        *_table(["code", "images", "shards", "jobs", "s", "peak RSS (MB)", "target"], rows), "",
    ]
    by_jobs = sorted(r.dag, key=lambda d: d.jobs)
    if len(by_jobs) >= 2 and by_jobs[-1].jobs > by_jobs[0].jobs:
        lo, hi = by_jobs[0], by_jobs[-1]
        per_job = (hi.seconds - lo.seconds) / (hi.jobs - lo.jobs)
        lines += [f"Cost model from the smallest and largest run: {lo.seconds:.2f} s at {lo.jobs:,} jobs plus "
                  f"{per_job * 1000:.2f} ms per further job."]
        for d in r.dag:
            target = DAG_TARGETS_S.get(d.images)
            if target and per_job > 0:
                fits = lo.jobs + (target - lo.seconds) / per_job
                lines.append(f"At that rate the {target:.0f} s target of {d.images:,} images allows about "
                             f"{max(fits, 0):,.0f} jobs ({d.jobs:,} now).")
        lines.append("")
    return lines + dag_profile_section(r.dag_profile)


def dag_profile_section(p: dict | None) -> list[str]:
    if not p:
        return []
    return [
        f"### Where the DAG build of {p['images']:,} images spends its time", "",
        f"`{p['command']}` (`benchmarks/dag.py::profile_dag_build`), one run, {p['total_s']:.1f} s under the "
        "profiler. The workflow's own code (Snakefile, rules/, ncdss_core/), by cumulative time:", "",
        *_table(["function", "calls", "cumulative s"], [[f"`{name}`", calls, f"{cum:.3f}"]
                                                         for cum, calls, name in p["workflow"]]), "",
        "Functions with the most own time (all code):", "",
        *_table(["function", "calls", "own s", "called mostly from"],
                [[f"`{name}`", calls, f"{own:.3f}", f"`{caller}`" if caller else ""]
                 for own, calls, name, caller in p["own_time"]]), "",
    ]


def crf_section(r: Results) -> list[str]:
    c = r.crf
    if not c:
        return []
    return [
        "## CRF: process pool vs a serial loop", "",
        f"`{c['command']}` (benchmarks/crf_speed.py; RESULTS_crf.md has the history): dense CRF of the same "
        f"{c['images']} images and seeds by a plain serial pydensecrf loop and by `weak/crf.py::refine_many`, "
        f"the pool the `crf` rule runs, with {c['threads']} worker processes; median of {c['repeats']}.", "",
        *_table(["images", "workers", "serial images/s", "pool images/s", "pool / serial", "identical output"], [
            [c["images"], c["threads"], f"{c['serial_images_per_s_median']:.2f}",
             f"{c['pool_images_per_s_median']:.2f}", f"{c['speedup_median']:.2f}x",
             "yes" if c["identical"] else "**NO**"]]), "",
    ]


def render(r: Results) -> str:
    lines = (machine_section(r) + stage_section(r) + model_section(r) + noop_section(r) + dag_section(r)
             + crf_section(r))
    return "\n".join(lines).rstrip() + "\n"
