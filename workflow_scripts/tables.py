"""Rule tables: per-fold and mean tables (CSV + Markdown) of every evaluated model."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import stage_context
from ncdss_core.evaluation.tables import collect, write_tables

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk)
started = now()
entries = [(fold, model, f"{path}/metrics.json") for (fold, model), path in zip(p.entries, smk.input.evals)]
rows = collect(entries)
with atomic_directory(smk.output[0]) as build:
    write_tables(build, rows, p.folds)
    logger.info("\n%s", (build / "results.md").read_text())
    write_provenance(build, stage="tables", params={"folds": p.folds, "entries": p.entries},
                     inputs={f"eval_{fold}_{model}": path for (fold, model), path in zip(p.entries, smk.input.evals)},
                     artifact_path=smk.output[0], started=started)
