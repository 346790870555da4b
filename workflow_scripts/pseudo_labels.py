"""Rule pseudo_labels: fuse confident base predictions and clusters into palette PNGs; their
quality against ground truth (novel mIoU after matching) goes into provenance."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.datasets import open_dataset
from ncdss_core.discovery.base_removal import read_assignments, write_pseudo_labels
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk)
started = now()
fold, k = int(smk.wildcards.fold), int(smk.wildcards.k)
dataset = open_dataset(p.dataset["kind"], p.dataset["root"])
assignments = read_assignments(f"{smk.input.clusters}/assignments.csv")
with atomic_directory(smk.output[0]) as build:
    quality = write_pseudo_labels(dataset, fold, list(smk.input.removal), assignments, k, build, p.matching)
    logger.info("pseudo-labels of %d images: novel mIoU %.4f, base mIoU %.4f", quality["images"],
                quality["novel_miou"], quality["base_miou"])
    write_provenance(build, stage="pseudo_labels", params={"fold": fold, "k": k, "matching": p.matching},
                     inputs={"dataset": smk.input.dataset, "clusters": smk.input.clusters,
                             **{f"removal_{i}": path for i, path in enumerate(smk.input.removal)}},
                     artifact_path=smk.output[0], started=started,
                     metrics={key: quality[key] for key in ("novel_miou", "base_miou", "all_miou",
                                                            "mapping", "method", "images")})
