"""Rule clustering: PCA-whitened k-means over the prototypes of all shards of a fold."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.discovery.base_removal import cluster_fold
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk, seed=p.seed)
started = now()
k = int(smk.wildcards.k)
d = p.discovery
with atomic_directory(smk.output[0]) as build:
    summary = cluster_fold(list(smk.input.removal), build, k, d["pca_dim"], d["whiten"], d["n_init"],
                           d["max_iter"], p.seed)
    logger.info("k=%d over %d images, sizes %s", k, summary["images"], summary["cluster_sizes"])
    write_provenance(build, stage="clustering", params={"k": k, "discovery": d, "seed": p.seed},
                     inputs={f"removal_{i}": path for i, path in enumerate(smk.input.removal)},
                     artifact_path=smk.output[0], seed=p.seed, started=started,
                     metrics={"images": summary["images"], "cluster_sizes": summary["cluster_sizes"]})
