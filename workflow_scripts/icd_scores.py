"""Rule icd_scores: CAM and top-down ICD scores of one shard of the fold's images."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.shards import shard_ids
from ncdss_core.stage import Stage
from ncdss_core.weak.images import fold_images
from ncdss_core.weak.infer import load_model, score_shard

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
model, classes, _ = load_model(f"{stage.inputs.model}/model.pt", stage.device)
ids, image_labels = fold_images(stage.inputs.dataset, stage.params.mode, stage.inputs.splits)
ids = shard_ids(ids, int(stage.wildcards.shard), stage.params.n_shards)
with stage.output_dir() as build:
    stage.write_provenance(metrics=score_shard(model, classes, stage.dataset(), ids, image_labels, build,
                                               stage.device))
