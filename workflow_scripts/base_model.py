"""Rule base_model: train the base model of one fold (full or weak supervision)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.datasets import open_dataset
from ncdss_core.discovery.runners import train_base_model
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.data.files import read_ids
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import device, stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk, seed=p.seed)
started = now()
fold = int(smk.wildcards.fold)
dataset = open_dataset(p.dataset["kind"], p.dataset["root"])
splits = smk.input.splits
weak = smk.input.get("weak_labels") if p.base["supervision"] == "weak" else None
train_ids = read_ids(f"{splits}/base_train.txt")
select_ids = read_ids(f"{splits}/select_base.txt")
with atomic_directory(smk.output[0]) as build:
    result = train_base_model(dataset, fold, train_ids, select_ids, p.model, p.base, p.seed, build,
                              weak_labels=weak, device=device())
    history = result.history
    inputs = {"dataset": smk.input.dataset, "splits": splits}
    if weak:
        inputs["weak_labels"] = weak
    write_provenance(build, stage="base_model", params={"fold": fold, "model": p.model, "base": p.base,
                                                        "dataset": p.dataset},
                     inputs=inputs, artifact_path=smk.output[0], seed=p.seed, device=device(),
                     started=started,
                     metrics={"selected_epoch": result.selected_epoch,
                              "select_score": history[result.selected_epoch].get("select_score"),
                              "final_loss": history[-1]["loss"]})
