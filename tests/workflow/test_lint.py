"""The workflow in the Snakemake community's style: the Snakefile and rules/*.smk exactly as
snakefmt writes them, and nothing for `snakemake --lint` to complain about (`make lint` runs both)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workflow_helpers import DEFAULT, REPO, snakemake

SNAKEFMT = str(Path(sys.executable).parent / "snakefmt")


def snakefmt_check(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEFMT, "--check", *map(str, paths)], capture_output=True, text=True,
                          timeout=300)


def test_snakefile_and_rules_are_snakefmt_formatted():
    files = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    assert len(files) > 5, files
    result = snakefmt_check(*files)
    assert result.returncode == 0, f"format with `snakefmt Snakefile rules/`:\n{result.stderr}"


def test_snakefmt_check_reports_an_unformatted_rule(tmp_path):
    # single quotes and a directive out of snakefmt's order: both rewritten, so --check fails
    rule = tmp_path / "demo.smk"
    rule.write_text("rule demo:\n    output:\n        'out.txt'\n    log:\n        'demo.log'\n"
                    "    input:\n        'in.txt'\n    shell:\n        'cp {input} {output}'\n")
    result = snakefmt_check(rule)
    assert result.returncode != 0
    assert "1 file(s) would be changed" in result.stderr


def test_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint", configfile=DEFAULT, check=False)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert "Lints for" not in text
