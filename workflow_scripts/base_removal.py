"""Rule base_removal: confident base pixels, novel masks and one prototype per kept novel image
(one shard of the fold's novel images)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.files import read_ids
from ncdss_core.data.shards import shard_ids
from ncdss_core.discovery.base_removal import feature_model, feature_source, remove_base_shard
from ncdss_core.discovery.runners import read_model
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
ids = shard_ids(read_ids(f"{stage.inputs.splits}/novel.txt"), int(stage.wildcards.shard), p.shards)
base = read_model(f"{stage.inputs.base_model}/model.pt").to(stage.device)
source = feature_source(p.discovery["features"], p.model)
features = feature_model(source, base, p.model, p.seed, stage.device)
with stage.output_dir() as build:
    stats = remove_base_shard(base, features, stage.dataset(), ids, stage.inputs.saliency, build,
                              p.model["input_size"], p.discovery["threshold"], p.discovery["min_novel_fraction"])
    stage.write_provenance(metrics={"images": stats["images"], "kept": stats["kept"]},
                           extra={"feature_source": source})
