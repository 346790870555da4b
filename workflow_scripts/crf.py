"""Rule crf: dense-CRF refinement of one shard of seeds, over a process pool of the rule's threads."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
import time
from pathlib import Path

from ncdss_core.weak.crf import CRFParams, refine_many
from ncdss_core.data.datasets import open_dataset
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.data.files import read_label_png, write_label_png
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import progress, stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
p = smk.params.crf
dataset = open_dataset(**smk.params.dataset)
seed_dir = Path(smk.input.seeds)
ids = sorted(f.stem for f in seed_dir.glob("*.png"))


def load(image_id):
    return dataset.read_image(image_id), read_label_png(seed_dir / f"{image_id}.png")


start = time.monotonic()
with atomic_directory(smk.output[0]) as build:
    results = refine_many(ids, load, dataset.num_classes + 1, CRFParams.from_params(p), smk.threads,
                          p["chunksize"])
    for image_id, refined in progress(results, total=len(ids), label="crf", logger=logger):
        write_label_png(build / f"{image_id}.png", refined)
    seconds = time.monotonic() - start
    rate = len(ids) / seconds if seconds > 0 else 0.0
    logger.info("%d images in %.1fs with %d threads: %.2f images/s", len(ids), seconds, smk.threads, rate)
    write_provenance(build, stage="crf", params={"crf": p, "variant": smk.wildcards.variant,
                                                 "fold": smk.wildcards.fold, "shard": smk.wildcards.shard},
                     inputs={"seeds": smk.input.seeds, "dataset": smk.input.dataset}, artifact_path=smk.output[0],
                     started=started, metrics={"images": len(ids), "images_per_second": rate,
                                               "threads": smk.threads})
