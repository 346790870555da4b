"""Rule tables: per-fold and mean tables (CSV + Markdown) of every evaluated model."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.evaluation.tables import collect, collect_errors, collect_selection, read_evaluations, write_tables
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
evaluations = read_evaluations((fold, seed, model, f"{path}/metrics.json")
                               for (fold, seed, model), path in zip(p.entries, stage.inputs.evals))
with stage.output_dir() as build:
    write_tables(build, collect(evaluations), p.folds, p.seeds, collect_selection(evaluations),
                 collect_errors(evaluations))
    stage.logger.info("\n%s", (build / "results.md").read_text())
