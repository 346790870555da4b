"""Rule base_removal: confident base pixels, novel masks and one prototype per kept novel image
(one shard of the fold's novel images)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
import torch

from ncdss_core.data.datasets import open_dataset
from ncdss_core.discovery.base_removal import remove_base_shard
from ncdss_core.discovery.runners import new_model, read_model
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.data.files import read_ids
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import device, stage_context
from ncdss_core.data.shards import shard_ids

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk, seed=p.seed)
started = now()
fold, shard = int(smk.wildcards.fold), int(smk.wildcards.shard)
dataset = open_dataset(p.dataset["kind"], p.dataset["root"])
ids = shard_ids(read_ids(f"{smk.input.splits}/novel.txt"), shard, p.shards)
base = read_model(f"{smk.input.base_model}/model.pt").to(device())
# Features for the prototypes: the ImageNet backbone (reference §3.3) when a weights file is
# configured, else the base model's own backbone.
source = p.discovery["features"]
if source == "auto":
    source = "imagenet" if p.model["backbone_weights"] else "base"
features = new_model(p.model, 2, p.seed).to(device()) if source == "imagenet" else base
logger.info("fold %d shard %d: %d novel images, features from %s", fold, shard, len(ids), source)
with atomic_directory(smk.output[0]) as build, torch.no_grad():
    stats = remove_base_shard(base, features, dataset, ids, smk.input.saliency, build,
                              p.model["input_size"], p.discovery["threshold"],
                              p.discovery["min_novel_fraction"])
    write_provenance(build, stage="base_removal",
                     params={"fold": fold, "shard": shard, "shards": p.shards, "discovery": p.discovery,
                             "model": p.model, "feature_source": source},
                     inputs={"dataset": smk.input.dataset, "splits": smk.input.splits,
                             "base_model": smk.input.base_model, "saliency": smk.input.saliency},
                     artifact_path=smk.output[0], seed=p.seed, device=device(), started=started,
                     metrics={"images": stats["images"], "kept": stats["kept"]})
