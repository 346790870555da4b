"""Rule finetune: one fine-tuning run of the variant of {finetuned_model}
(basic framework, EUMS, or an ablation row) from the configured weights or the base model's backbone."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.discovery.cluster_count import resolve_k
from ncdss_core.discovery.finetuning import FinetuneInputs, FinetuneRun, train_finetune_model
from ncdss_core.provenance.record import split_epoch_seconds, training_metrics
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
inputs = stage.inputs
params = dict(stage.params.items())
params["k"] = resolve_k(params["k"], inputs.get("estimate"))  # auto_x<f>: f x the run's estimate
run = FinetuneRun.from_params(params, int(stage.wildcards.fold))
# ranking: entropy-ranked variants; base_model: finetune.backbone_init base_model
data = FinetuneInputs.from_dirs(inputs.splits, inputs.pseudo_labels, inputs.get("ranking"),
                                inputs.get("weak_labels"), inputs.get("base_model"))
with stage.output_dir() as build:
    result = train_finetune_model(stage.dataset(), run, data, build, stage.device, stage.resume_file())
    stage.write_provenance(metrics=training_metrics(result.history, result.selected_epoch),
                           extra={"epoch_seconds": split_epoch_seconds(result.history)[1]})
