"""Rule k_estimate_table: N̂ per fold x training seed and each estimator's error against the true
number of novel classes (discovery.k auto)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.evaluation.tables import read_estimates, write_estimate_tables
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
with stage.output_dir() as build:
    write_estimate_tables(build, read_estimates(stage.inputs.estimates), p.folds, p.seeds)
    stage.logger.info("\n%s", (build / "k_estimates.md").read_text())
