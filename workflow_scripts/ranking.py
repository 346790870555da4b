"""Rule ranking: entropy of the basic model on each pseudo-labelled novel image; clean/unclean split."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.datasets import open_dataset
from ncdss_core.discovery.runners import rank_novel_images, read_model
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.data.files import read_ids
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import device, stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk)
started = now()
fold = int(smk.wildcards.fold)
dataset = open_dataset(p.dataset["kind"], p.dataset["root"])
model = read_model(f"{smk.input.model}/model.pt").to(device())
ids = read_ids(f"{smk.input.pseudo_labels}/novel.txt")
with atomic_directory(smk.output[0]) as build:
    summary = rank_novel_images(model, dataset, fold, ids, smk.input.pseudo_labels, p.input_size,
                                p.clean_ratio, build)
    logger.info("entropy ranking: %d clean, %d unclean", summary["clean"], summary["unclean"])
    write_provenance(build, stage="ranking", params={"fold": fold, "clean_ratio": p.clean_ratio,
                                                     "input_size": p.input_size},
                     inputs={"dataset": smk.input.dataset, "model": smk.input.model,
                             "pseudo_labels": smk.input.pseudo_labels},
                     artifact_path=smk.output[0], device=device(), started=started, metrics=summary)
