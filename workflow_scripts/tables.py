"""Rule tables: per-fold and mean tables (CSV + Markdown) of every evaluated model."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.evaluation.tables import read_evaluations, write_tables
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
# each entry: fold, training seed, supervision, model of one evaluation directory
evaluations = read_evaluations((*entry, f"{path}/metrics.json") for entry, path in zip(p.entries, stage.inputs.evals))
with stage.output_dir() as build:
    write_tables(build, evaluations, p.folds, p.seeds)
    stage.logger.info("\n%s", (build / "results.md").read_text())
