"""Rule weak_labels: the chosen (CRF-refined ICD) seeds of a fold as one folder of dataset labels,
read by base training under base.supervision: weak."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.stage import Stage
from ncdss_core.weak.seeds import collect_labels

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
with stage.output_dir() as build:
    stage.write_provenance(metrics=collect_labels(stage.inputs.seeds, build))
