"""Rule base_model: train the base model of one fold (full or weak supervision)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.files import read_ids
from ncdss_core.discovery.runners import train_base_model
from ncdss_core.provenance.record import split_epoch_seconds, training_metrics
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
splits = stage.inputs.splits
with stage.output_dir() as build:
    result = train_base_model(stage.dataset(), int(stage.wildcards.fold), read_ids(f"{splits}/base_train.txt"),
                              read_ids(f"{splits}/select_base.txt"), p.model, p.base, p.seed, build,
                              weak_labels=stage.inputs.get("weak_labels"), device=stage.device,
                              resume=stage.resume_file(), amp=p.amp,
                              per_epoch=p.per_epoch)
    stage.write_provenance(metrics=training_metrics(result.history, result.selected_epoch),
                           extra={"epoch_seconds": split_epoch_seconds(result.history)[1]})
