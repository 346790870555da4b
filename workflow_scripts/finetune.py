"""Rules finetune_basic, finetune_eums, finetune_ablation: one fine-tuning run of a variant
(basic framework, EUMS, or an ablation row) from the configured weights or the base model's backbone."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.datasets import open_dataset
from ncdss_core.discovery.runners import VARIANTS, train_finetune_model
from ncdss_core.discovery.variants import backbone_init
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.data.files import read_ids
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import device, stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk, seed=p.seed)
started = now()
fold = int(smk.wildcards.fold)
variant = VARIANTS[p.variant]
dataset = open_dataset(p.dataset["kind"], p.dataset["root"])
inputs = {"dataset": smk.input.dataset, "splits": smk.input.splits, "pseudo_labels": smk.input.pseudo_labels}
clean = unclean = None
if variant.entropy_ranking:
    inputs["ranking"] = smk.input.ranking
    clean = read_ids(f"{smk.input.ranking}/clean.txt")
    unclean = read_ids(f"{smk.input.ranking}/unclean.txt")
weak = None
if p.supervision == "weak":
    weak = inputs["weak_labels"] = smk.input.weak_labels
base_model = None
if backbone_init(p.finetune, p.model) == "base_model":
    inputs["base_model"] = smk.input.base_model
    base_model = f"{smk.input.base_model}/model.pt"
with atomic_directory(smk.output[0]) as build:
    result = train_finetune_model(
        dataset, fold, variant, p.k, read_ids(f"{smk.input.splits}/base.txt"),
        read_ids(f"{smk.input.pseudo_labels}/novel.txt"), read_ids(f"{smk.input.splits}/select.txt"),
        smk.input.pseudo_labels, p.model, p.finetune, p.supervision, p.seed, build,
        clean_ids=clean, unclean_ids=unclean, weak_labels=weak, base_model=base_model,
        device=device())
    history = result.history
    write_provenance(build, stage=f"finetune_{variant.name}",
                     params={"fold": fold, "variant": variant.__dict__, "k": p.k, "model": p.model,
                             "finetune": p.finetune, "supervision": p.supervision, "dataset": p.dataset},
                     inputs=inputs, artifact_path=smk.output[0], seed=p.seed, device=device(),
                     started=started,
                     metrics={"selected_epoch": result.selected_epoch,
                              "select_score": history[result.selected_epoch].get("select_score"),
                              "final_loss": history[-1]["loss"]})
