"""Run snakemake on this workflow from a temporary working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TINY = REPO / "tests" / "configs" / "tiny.yaml"
DEFAULT = REPO / "config.yaml"


def snakemake(workdir: Path, *args: str, configfile: Path | list[Path] = TINY, timeout: int = 1200,
              check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """`configfile`: one file or several, merged in order (as `--configfile A B`)."""
    command = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    # --configfile and --quiet take lists: keep each after the targets, configfile last
    files = configfile if isinstance(configfile, list) else [configfile]
    command += list(args) + ["--configfile", *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{' '.join(command)}\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def planned_jobs(workdir: Path, *args: str, configfile: Path | list[Path] = TINY) -> dict[str, int]:
    """Rule -> job count of a dry run (`snakemake -n`)."""
    # targets and flags first: --quiet takes a list and would swallow what follows it
    out = snakemake(workdir, *args, "-n", "--quiet", "rules", configfile=configfile).stdout
    jobs: dict[str, int] = {}
    started = False
    for line in out.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            started = True
            continue
        if started and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            jobs[parts[0]] = int(parts[1])
    return jobs
