"""Seconds per rule from Snakemake's benchmark files (`ncdss times`)."""

import pytest

from ncdss_core.cli import main
from ncdss_core.provenance.job_times import read_job_times, times_per_rule

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(path, *rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{s}\t0:00:00\t{rss}\t0\t0\t0\t0\t0\t0\t{cpu}\n" for s, rss, cpu in rows))


def test_jobs_are_summed_per_rule_longest_rule_first(tmp_path):
    bench(tmp_path / "crf" / "fold0_000.tsv", (10.0, 800, 18.0))
    bench(tmp_path / "crf" / "fold0_001.tsv", (14.0, 900, 25.0))
    bench(tmp_path / "pretrain_icd_trunk.tsv", (30.0, 1200, 29.0))
    bench(tmp_path / "tables" / "discovery.tsv", (1.0, 100, 0.5), (3.0, 100, 1.5), (2.0, 100, 1.0))
    bench(tmp_path / "tables" / "seeds.tsv", (0.5, 90, 0.4))  # the seed_tables rule's file
    jobs = read_job_times(tmp_path)
    assert sorted(jobs.rule) == ["crf", "crf", "pretrain_icd_trunk", "seed_tables", "tables"]
    per_rule = times_per_rule(jobs)
    assert list(per_rule.rule) == ["pretrain_icd_trunk", "crf", "tables", "seed_tables"]
    crf = per_rule.set_index("rule").loc["crf"]
    assert (crf.jobs, crf.wall_s, crf.longest_s, crf.cpu_s, crf.max_rss_mb) == (2, 24.0, 14.0, 43.0, 900.0)
    assert per_rule.set_index("rule").loc["tables"].wall_s == 2.0  # repeated benchmark: the median


def test_times_command_prints_the_table_and_names_a_bad_file(tmp_path, capsys):
    bench(tmp_path / "b" / "splits" / "fold0.tsv", (8.4, 905, 4.5))
    assert main(["times", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "| splits | 1 | 8.4 | 8.4 | 4.5 | 905 |" in out and "| total | 1 |" in out
    (tmp_path / "b" / "broken.tsv").write_text("seconds\n1\n")
    assert main(["times", str(tmp_path / "b")]) == 1
    assert "broken.tsv: not a Snakemake benchmark file" in capsys.readouterr().err
    assert main(["times", str(tmp_path / "empty")]) == 1
    assert "no benchmark file" in capsys.readouterr().err


def test_a_file_without_rows_is_refused(tmp_path):
    bench(tmp_path / "x.tsv")
    with pytest.raises(ValueError, match="x.tsv: not a Snakemake benchmark file"):
        read_job_times(tmp_path)
