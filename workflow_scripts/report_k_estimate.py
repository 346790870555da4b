"""Rule report_k_estimate: the criterion curve of the estimated number of novel classes of one fold
(discovery.k auto), every run of the fold on one figure."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.evaluation.report import k_estimate_figure
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
k_estimate_figure(list(stage.inputs.estimates), stage.output.figure)
stage.logger.info("estimate figure written for fold %s", stage.wildcards.fold)
