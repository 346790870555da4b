"""Rule evaluate: the selected and the last checkpoint of a model on the
evaluation split (novel mIoU after matching, base mIoU, all-class mIoU)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.evaluation.evaluate import evaluate_model_dir
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
with stage.output_dir() as build:
    stage.write_provenance(metrics=evaluate_model_dir(stage.inputs.model, stage.dataset(), p.split,
                                                      int(stage.wildcards.fold), p.matching, build, stage.device))
