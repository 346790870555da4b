"""Rule base_removal: confident base pixels, novel masks and one prototype per kept novel image
(one shard of the fold's novel images)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.files import read_ids
from ncdss_core.data.shards import shard_ids
from ncdss_core.discovery.base_removal import feature_model, feature_source, remove_base_shard
from ncdss_core.discovery.settings import BaseRemovalSettings
from ncdss_core.discovery.training import read_model
from ncdss_core.models.segmodel import ModelSettings
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
model, settings = ModelSettings.from_params(p.model), BaseRemovalSettings.from_params(p.discovery)
ids = shard_ids(read_ids(f"{stage.inputs.splits}/novel.txt"), int(stage.wildcards.shard), p.shards)
base = read_model(f"{stage.inputs.base_model}/model.pt").to(stage.device)
source = feature_source(settings.features, model.backbone_weights)
features = feature_model(source, base, model, p.seed, stage.device)
with stage.output_dir() as build:
    stats = remove_base_shard(base, features, stage.dataset(), ids, stage.inputs.saliency, build,
                              model.input_size, settings)
    stage.write_provenance(metrics={"images": stats["images"], "kept": stats["kept"]},
                           extra={"feature_source": source})
