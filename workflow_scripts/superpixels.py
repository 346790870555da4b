"""Rule superpixels: FH superpixels (optionally merged) of one shard of trainaug, in HDF5."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
import numpy as np

from ncdss_core.data.datasets import open_dataset
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import progress, stage_context
from ncdss_core.data.shards import shard_ids
from ncdss_core.weak.superpixels import SuperpixelStore, color_features, felzenszwalb, merge_regions

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
p = smk.params.superpixels
dataset = open_dataset(**smk.params.dataset)
ids = shard_ids(dataset.ids("trainaug"), int(smk.wildcards.shard), smk.params.n_shards)
counts = []
with atomic_directory(smk.output[0]) as build:
    with SuperpixelStore(build / "superpixels.h5", "w") as store:
        for image_id in progress(ids, label="superpixels", logger=logger):
            rgb = dataset.read_image(image_id)
            labels = felzenszwalb(rgb, p["sigma"], p["k"], p["min_size"])
            if p["merge"]:
                labels = merge_regions(labels, color_features(rgb), p["max_regions"])
            store.write(image_id, labels)
            counts.append(int(labels.max()) + 1)
    metrics = {"images": len(ids), "mean_regions": float(np.mean(counts)) if counts else 0.0,
               "max_regions": max(counts, default=0)}
    logger.info("shard %s: %s", smk.wildcards.shard, metrics)
    write_provenance(build, stage="superpixels", params={"superpixels": p, "shard": smk.wildcards.shard,
                                                         "n_shards": smk.params.n_shards},
                     inputs={"dataset": smk.input.dataset}, artifact_path=smk.output[0],
                     started=started, metrics=metrics)
