"""Rule saliency: binary saliency masks of one shard (imported + MaskContrast post-processing, or
estimated), and dropped.json with the reason for every image that has no mask."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from PIL import Image

from ncdss_core.data.datasets import open_dataset
from ncdss_core.provenance.atomic import atomic_directory, atomic_write_json
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import progress, stage_context
from ncdss_core.weak.saliency import PostProcess, estimate_saliency, postprocess
from ncdss_core.data.shards import shard_ids
from ncdss_core.weak.superpixels import SuperpixelReader

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
p = smk.params.saliency
dataset = open_dataset(**smk.params.dataset)
ids = shard_ids(dataset.ids("trainaug"), int(smk.wildcards.shard), smk.params.n_shards)
rules = PostProcess(p["threshold"], p["min_component"], p["min_total"])
inputs = {"dataset": smk.input.dataset}
if p["source"] == "estimate":
    inputs["superpixels"] = smk.input.superpixels
    reader = SuperpixelReader([f"{smk.input.superpixels}/superpixels.h5"])
dropped, kept = {}, 0
with atomic_directory(smk.output[0]) as build:
    for image_id in progress(ids, label="saliency", logger=logger):
        if p["source"] == "import":
            if not dataset.has_saliency(image_id):
                dropped[image_id] = {"reason": "the dataset ships no saliency map for this image"}
                continue
            soft = dataset.read_saliency(image_id)
        else:
            soft = estimate_saliency(dataset.read_image(image_id), reader.read(image_id), p["center_sigma"])
        mask, info = postprocess(soft, rules)
        if mask is None:
            dropped[image_id] = info
            continue
        Image.fromarray(mask).save(build / f"{image_id}.png")
        kept += 1
    atomic_write_json(build / "dropped.json", dropped)
    metrics = {"images": len(ids), "kept": kept, "dropped": len(dropped)}
    logger.info("shard %s: %s", smk.wildcards.shard, metrics)
    write_provenance(build, stage="saliency", params={"saliency": p, "shard": smk.wildcards.shard,
                                                      "n_shards": smk.params.n_shards},
                     inputs=inputs, artifact_path=smk.output[0], started=started, metrics=metrics)
