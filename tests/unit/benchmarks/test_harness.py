"""The performance harness (benchmarks/): per-process measurement, rerunning a workflow job from
its kept script, the dataset view, the report, and the Snakemake sections against the real
workflow. A whole `python -m benchmarks.run --quick` takes minutes (it runs the workflow), so its
pieces are tested here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import dag as dag_bench  # noqa: E402
from benchmarks.dag import DagResult, NoopResult  # noqa: E402
from benchmarks.measure import CommandFailed, Measurement, run_measured, run_side_by_side  # noqa: E402
from benchmarks.report import Results, render  # noqa: E402
from benchmarks.stages import StageJob, StageResult, job_scripts, subset_root  # noqa: E402

SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def _allocate(mb: int) -> list[str]:
    return [sys.executable, "-c", f"b = bytearray({mb} << 20); b[::4096] = b'x' * len(b[::4096])"]


def test_peak_rss_is_that_of_the_measured_process_only():
    big = run_measured(_allocate(300))
    small = run_measured(_allocate(1))
    assert big.peak_rss_mb >= 300
    assert small.peak_rss_mb < big.peak_rss_mb - 200  # not the maximum over earlier children


def test_a_failing_command_raises_with_its_output(tmp_path):
    log = tmp_path / "out.log"
    with pytest.raises(CommandFailed, match="exit 3.*went wrong"):
        run_measured([sys.executable, "-c", "import sys; print('went wrong'); sys.exit(3)"], log=log)


def test_side_by_side_commands_run_at_the_same_time():
    started = time.perf_counter()
    runs = run_side_by_side([["sleep", "1"], ["sleep", "1"]])
    assert time.perf_counter() - started < 1.9
    assert all(0.9 < m.seconds < 1.9 for m in runs)


def test_subset_root_lists_the_first_images(tmp_path):
    source = tmp_path / "source"
    (source / "sets").mkdir(parents=True)
    (source / "images").mkdir()
    (source / "sets" / "trainaug.txt").write_text("".join(f"t{i}\n" for i in range(12)))
    (source / "sets" / "val.txt").write_text("".join(f"v{i}\n" for i in range(5)))
    root, n_val = subset_root(source, tmp_path / "view", 8)
    assert (root / "sets" / "trainaug.txt").read_text().split() == [f"t{i}" for i in range(8)]
    assert n_val == 2 and (root / "sets" / "val.txt").read_text().split() == ["v0", "v1"]
    assert (root / "images").resolve() == (source / "images").resolve()
    with pytest.raises(ValueError, match="13 / 3 asked"):
        subset_root(source, tmp_path / "too_big", 13)


@pytest.mark.workflow
def test_a_kept_job_script_reruns_that_job(tmp_path):
    """The mechanism of the per-stage figures, against the installed Snakemake."""
    (tmp_path / "write.py").write_text(textwrap.dedent("""\
        from pathlib import Path
        for output in snakemake.output:
            out = Path(output)
            out.mkdir()
            (out / "value.txt").write_text(f"{snakemake.params.value} {snakemake.wildcards.name} {snakemake.threads}")
        """))
    (tmp_path / "Snakefile").write_text(textwrap.dedent("""\
        rule all:
            input: expand("out/{name}", name=["a", "b"])
        rule write:
            output: directory("out/{name}"), directory("copy/{name}")
            params: value=lambda wc: wc.name.upper()
            threads: 2
            script: "write.py"
        """))
    subprocess.run([str(SNAKEMAKE), "--cores", "2", "--skip-script-cleanup", "--quiet"], cwd=tmp_path,
                   check=True, capture_output=True)
    scripts = job_scripts(tmp_path)
    assert set(scripts) == {"out/a", "out/b", "copy/a", "copy/b"}
    script, outputs = scripts["copy/b"]
    assert scripts["out/b"][0] == script and outputs == ["out/b", "copy/b"]  # one job, both outputs
    first = (tmp_path / "out/b/value.txt").read_text()
    assert first == "B b 2"
    for output in outputs:
        shutil.rmtree(tmp_path / output)
    run_measured([sys.executable, script], cwd=tmp_path)
    assert (tmp_path / "out/b/value.txt").read_text() == first
    assert (tmp_path / "copy/b/value.txt").read_text() == first


@pytest.mark.workflow
def test_dag_build_of_the_workflow_from_list_files_only(tmp_path):
    result = dag_bench.dag_build(tmp_path / "dag", 600, repeats=1)
    trainaug = (tmp_path / "dag" / "voc" / "sets" / "trainaug.txt").read_text().split()
    val = (tmp_path / "dag" / "voc" / "sets" / "val.txt").read_text().split()
    assert (len(trainaug), len(val)) == (525, 75)
    assert result.shards == 2
    # per shard: superpixels, saliency, and per fold scores, base removal, seeds and CRF (every
    # variant in one job each)
    assert result.jobs > 2 * (2 + 4 * 4)
    assert result.seconds > 0 and result.peak_rss_mb > 50


@pytest.mark.workflow
def test_noop_rerun_of_the_default_config(tmp_path):
    run_dir = dag_bench.up_to_date_run(tmp_path / "run", [])
    assert (run_dir / "results" / "dataset").is_dir()
    result = dag_bench.noop_rerun(run_dir, [], repeats=1, label="default")  # raises if a job would run
    assert result.outputs > 10 and result.seconds > 0


def test_model_iteration_times_the_default_model():
    from benchmarks.model_iteration import iteration_ms

    from ncdss_core.config import load_config

    result = iteration_ms(threads=1, iterations=2, batch=2)
    assert result["iterations"] == 2 and result["batch"] == 2
    assert result["input_size"] == load_config(base_dir=REPO)["model"]["input_size"] and result["ms_per_iteration"] > 0


def _stage(label: str, per_image: bool, rss: float, images: int) -> StageResult:
    job = StageJob(label, "rule", f"results/{label}", "pkg/mod.py::fn", per_image, lambda a, n: images)
    return StageResult(job, images, 1, [Measurement(2.0, rss, 0)], ".snakemake/scripts/tmpx.rule.py")


def test_report_has_every_section_and_flags_missed_targets():
    machine = {"date_utc": "2026-01-01 00:00", "commit": "abc", "dirty": False, "cpu": "cpu", "cores": 2,
               "ram_gib": 8.0, "os": "Linux", "python": "3.11", "torch": "2", "snakemake": "9",
               "load_avg_start": (0.1, 0.1, 0.1)}
    results = Results(machine, {"command": "python -m benchmarks.run --quick", "quick": True, "repeats": 1})
    results.stages = {10: [_stage("flat", True, 100.0, 10), _stage("grows", True, 100.0, 10),
                           _stage("train", False, 100.0, 10)],
                      40: [_stage("flat", True, 110.0, 40), _stage("grows", True, 150.0, 40),
                           _stage("train", False, 300.0, 40)]}
    results.import_baseline = [Measurement(3.0, 690.0, 0)]
    results.model = {"one_thread": [100.0], "two_threads": [60.0], "side_by_side": [(110.0, 120.0)],
                     "iterations": 3, "batch": 8, "input_size": 96}
    results.noop = [NoopResult("default", 60, [Measurement(1.5, 130.0, 0)], "snakemake -n")]
    results.dag = [DagResult("", 300, 1, 111, [Measurement(2.0, 130.0, 0)], "snakemake -n --quiet"),
                   DagResult("", 20_000, 67, 2355, [Measurement(6.0, 190.0, 0)], "snakemake -n --quiet")]
    results.dag_profile = {"images": 20_000, "total_s": 9.0, "command": "python -m cProfile ...",
                           "workflow": [(0.3, 1, "Snakefile:<module>")],
                           "own_time": [(0.4, 7000, "collections:namedtuple", "smart_open_lib.py:parse_uri")]}
    results.crf = {"command": "python benchmarks/crf_speed.py", "images": 20, "threads": 2, "repeats": 1,
                   "serial_images_per_s_median": 10.0, "pool_images_per_s_median": 18.0, "speedup_median": 1.8,
                   "identical": True}
    text = render(results)
    for heading in ("# Performance results", "## Per-stage throughput and peak memory",
                    "## Training iteration of the default segmentation model", "## No-op rerun",
                    "## DAG build", "### Where the DAG build of 20,000 images spends its time", "## CRF: process pool vs a serial loop"):
        assert heading in text
    assert "Memory target missed by: grows" in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "n/a (training)" in rows["train"] and "met" in rows["flat"] and "MISSED" in rows["grows"]
    assert "5 s, **MISSED**" in text  # 20,000 images in 6 s
    assert "0.60x" in text and "1.05x" in text  # (1000/110 + 1000/120) / (1000/60) for the pair
    assert "git commit `abc`" in text
    assert "3.00 s and 690 MB peak RSS" in text
    assert "| `collections:namedtuple` | 7000 | 0.400 | `smart_open_lib.py:parse_uri` |" in text


def test_the_results_file_shows_no_path_of_this_machine():
    from benchmarks.run import shown_command

    shown = shown_command(["--quick", "--work", "/scratch/w", "--dataset=/data/g", "--dag-baseline", "v1"])
    assert shown == "python -m benchmarks.run --quick --work DIR --dataset=DIR --dag-baseline v1"
