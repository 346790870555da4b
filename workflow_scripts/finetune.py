"""Rule finetune: one fine-tuning run of the variant of {finetuned_model}
(basic framework, EUMS, or an ablation row) from the configured weights or the base model's backbone."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.files import read_ids
from ncdss_core.discovery.runners import VARIANTS, train_finetune_model
from ncdss_core.provenance.record import split_epoch_seconds, training_metrics
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p, inputs = stage.params, stage.inputs
ranking = inputs.get("ranking")  # entropy-ranked variants
base_model = inputs.get("base_model")  # finetune.backbone_init: base_model
with stage.output_dir() as build:
    result = train_finetune_model(
        stage.dataset(), int(stage.wildcards.fold), VARIANTS[p.variant], p.k,
        read_ids(f"{inputs.splits}/base.txt"), read_ids(f"{inputs.pseudo_labels}/novel.txt"),
        read_ids(f"{inputs.splits}/select.txt"),
        inputs.pseudo_labels, p.model, p.finetune, p.supervision, p.seed, build,
        clean_ids=read_ids(f"{ranking}/clean.txt") if ranking else None,
        unclean_ids=read_ids(f"{ranking}/unclean.txt") if ranking else None,
        weak_labels=inputs.get("weak_labels"), base_model=f"{base_model}/model.pt" if base_model else None,
        device=stage.device, resume=stage.resume_file(), amp=p.amp, per_epoch=p.per_epoch)
    stage.write_provenance(metrics=training_metrics(result.history, result.selected_epoch),
                           extra={"epoch_seconds": split_epoch_seconds(result.history)[1]})
