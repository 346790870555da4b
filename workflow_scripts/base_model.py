"""Rule base_model: train the base model of one fold (full or weak supervision)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.discovery.base_training import BaseInputs, BaseRun, train_base_model
from ncdss_core.provenance.record import split_epoch_seconds, training_metrics
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
run = BaseRun.from_params(dict(stage.params.items()), int(stage.wildcards.fold))
data = BaseInputs.from_dirs(stage.inputs.splits, stage.inputs.get("weak_labels"))
with stage.output_dir() as build:
    result = train_base_model(stage.dataset(), run, data, build, stage.device, stage.resume_file())
    stage.write_provenance(metrics=training_metrics(result.history, result.selected_epoch),
                           extra={"epoch_seconds": split_epoch_seconds(result.history)[1]})
