"""Rule pseudo_labels: fuse confident base predictions and clusters into palette PNGs; their
quality against ground truth (novel mIoU after matching) goes into provenance."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.discovery.clustering import cluster_count, read_assignments, write_pseudo_labels
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
assignments = read_assignments(f"{stage.inputs.clusters}/assignments.csv")
with stage.output_dir() as build:
    quality = write_pseudo_labels(stage.dataset(), int(stage.wildcards.fold), list(stage.inputs.removal),
                                  assignments, cluster_count(stage.inputs.clusters), build, stage.params.matching)
    stage.write_provenance(metrics={key: quality[key] for key in ("novel_miou", "base_miou", "all_miou",
                                                                  "mapping", "method", "images")})
