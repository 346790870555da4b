"""Rule seed_eval: per-class IoU and mIoU of every seed variant, with and without CRF."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.stage import Stage
from ncdss_core.weak.seed_eval import evaluate_seeds

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
with stage.output_dir() as build:
    stage.write_provenance(metrics=evaluate_seeds(stage.dataset(), stage.params.mode, stage.wildcards.fold,
                                                  stage.params.variants, stage.inputs.seeds, stage.inputs.crf,
                                                  build))
