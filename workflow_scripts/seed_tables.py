"""Rule seed_tables: seed mIoU of every variant, with and without CRF, per fold and mean over folds."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.evaluation.tables import write_seed_tables
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
evals = {fold: f"{path}/seed_eval.json" for fold, path in zip(stage.params.folds, stage.inputs.seed_evals)}
with stage.output_dir() as build:
    stage.write_provenance(metrics=write_seed_tables(build, evals))
    stage.logger.info("\n%s", (build / "results.md").read_text())
