"""Seconds per rule of a run, from the benchmark files Snakemake writes for every job
(`results/benchmarks/<rule>.tsv` or `results/benchmarks/<rule>/<wildcards>.tsv`).

`ncdss times` prints them: where a run's time went, rule by rule, without a profiler.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# Snakemake's benchmark columns: wall seconds, peak RSS (MB), CPU seconds (user + system)
COLUMNS = {"s": "wall_s", "max_rss": "max_rss_mb", "cpu_time": "cpu_s"}
# benchmark files not under their rule's name (rules/evaluate.smk: seed_tables beside tables)
RULE_OF_FILE = {"tables/seeds": "seed_tables"}


def read_job_times(benchmarks_dir: str | Path) -> pd.DataFrame:
    """One row per job: rule, job (the file's wildcards), wall_s, cpu_s, max_rss_mb. A job with
    several benchmark lines (`benchmark: repeat(...)`) counts with its median."""
    root = Path(benchmarks_dir)
    rows = []
    for path in sorted(root.rglob("*.tsv")):
        relative = path.relative_to(root)
        rule = RULE_OF_FILE.get(relative.with_suffix("").as_posix(),
                                relative.parts[0] if len(relative.parts) > 1 else path.stem)
        table = pd.read_csv(path, sep="\t")
        missing = set(COLUMNS) - set(table.columns)
        if missing or table.empty:
            raise ValueError(f"{path}: not a Snakemake benchmark file (missing columns {sorted(missing)} "
                             f"or no row)")
        medians = table[list(COLUMNS)].apply(pd.to_numeric, errors="coerce").median()
        rows.append({"rule": rule, "job": path.stem if len(relative.parts) > 1 else "",
                     **{COLUMNS[k]: float(medians[k]) for k in COLUMNS}})
    if not rows:
        raise ValueError(f"{root}: no benchmark file (*.tsv); has the workflow run here?")
    return pd.DataFrame(rows)


def times_per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, total and longest wall seconds, total CPU seconds, largest peak RSS;
    the rules with the most wall time first."""
    grouped = jobs.groupby("rule").agg(jobs=("job", "size"), wall_s=("wall_s", "sum"),
                                       longest_s=("wall_s", "max"), cpu_s=("cpu_s", "sum"),
                                       max_rss_mb=("max_rss_mb", "max"))
    return grouped.sort_values("wall_s", ascending=False).reset_index()


def format_times(per_rule: pd.DataFrame) -> str:
    """A Markdown table, with a total row."""
    lines = ["| rule | jobs | wall s (sum) | longest job s | CPU s (sum) | peak RSS MB |",
             "|---|---|---|---|---|---|"]
    for row in per_rule.itertuples():
        lines.append(f"| {row.rule} | {row.jobs} | {row.wall_s:.1f} | {row.longest_s:.1f} | {row.cpu_s:.1f} "
                     f"| {row.max_rss_mb:.0f} |")
    lines.append(f"| total | {per_rule.jobs.sum()} | {per_rule.wall_s.sum():.1f} | "
                 f"{per_rule.longest_s.max():.1f} | {per_rule.cpu_s.sum():.1f} | {per_rule.max_rss_mb.max():.0f} |")
    return "\n".join(lines)
