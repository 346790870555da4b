"""Rule icd_scores: CAM and top-down ICD scores of one shard of the fold's images."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.index import read_index
from ncdss_core.data.datasets import open_dataset
from ncdss_core.weak.images import fold_image_ids, present_channels
from ncdss_core.weak.infer import ScoreStore, infer_image, load_model
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.data.files import write_ids
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import device, progress, stage_context
from ncdss_core.data.shards import shard_ids

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk, seed=smk.params.seed)
started = now()
dev = device()
model, classes, _ = load_model(f"{smk.input.model}/model.pt", dev)
rows = [r for r in read_index(smk.input.dataset) if r["split"] == "trainaug"]
image_labels = {r["id"]: r["image_labels"] for r in rows}
splits = smk.input.splits[0] if len(smk.input.splits) else None
ids = shard_ids(fold_image_ids(smk.params.mode, list(image_labels), splits), int(smk.wildcards.shard),
                smk.params.n_shards)
dataset = open_dataset(**smk.params.dataset)
done = []
with atomic_directory(smk.output[0]) as build:
    with ScoreStore(build / "scores.h5", "w") as store:
        for image_id in progress(ids, label="scores", logger=logger):
            index, present = present_channels(image_labels[image_id], classes)
            if not index:
                continue  # no class the model knows: no seed (excluded from base training too)
            scores = infer_image(model, dataset.read_image(image_id), index, dev)
            store.write(image_id, scores, present)
            done.append(image_id)
    write_ids(build / "ids.txt", done)
    inputs = {"model": smk.input.model, "dataset": smk.input.dataset}
    if splits:
        inputs["splits"] = splits
    write_provenance(build, stage="icd_scores",
                     params={"mode": smk.params.mode, "fold": smk.wildcards.fold, "shard": smk.wildcards.shard,
                             "n_shards": smk.params.n_shards, "dataset": smk.params.dataset},
                     inputs=inputs, artifact_path=smk.output[0], seed=smk.params.seed, device=dev,
                     started=started, metrics={"images": len(done), "skipped": len(ids) - len(done)})
