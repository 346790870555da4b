"""Rule superpixels: FH superpixels (optionally merged) of one shard of trainaug, in HDF5."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.shards import shard_ids
from ncdss_core.stage import Stage
from ncdss_core.weak.superpixels import SuperpixelParams, superpixel_shard

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
dataset = stage.dataset()
ids = shard_ids(dataset.ids("trainaug"), int(stage.wildcards.shard), stage.params.n_shards)
with stage.output_dir() as build:
    params = SuperpixelParams.from_params(stage.params.superpixels)
    stage.write_provenance(metrics=superpixel_shard(dataset, ids, build, params))
