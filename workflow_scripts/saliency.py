"""Rule saliency: binary saliency masks of one shard (imported + MaskContrast post-processing, or
estimated), and dropped.json with the reason for every image that has no mask."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.shards import shard_ids
from ncdss_core.stage import Stage
from ncdss_core.weak.saliency import SaliencyParams, saliency_shard

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
dataset = stage.dataset()
ids = shard_ids(dataset.ids("trainaug"), int(stage.wildcards.shard), stage.params.n_shards)
with stage.output_dir() as build:
    params = SaliencyParams.from_params(stage.params.saliency)
    stage.write_provenance(metrics=saliency_shard(dataset, ids, build, params, stage.inputs.get("superpixels")))
