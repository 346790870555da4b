"""Rule report_figures: the figures of the HTML report for one fold."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.evaluation.report import report_figures
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
report_figures(stage.dataset(), dict(stage.inputs.items()), dict(stage.output.items()), stage.params.examples,
               stage.device)
stage.logger.info("report figures written for fold %s", stage.wildcards.fold)
