"""Rule clustering: PCA-whitened k-means over the prototypes of all shards of a fold."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.discovery.cluster_count import resolve_k
from ncdss_core.discovery.clustering import cluster_fold
from ncdss_core.discovery.settings import ClusteringSettings
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
settings = ClusteringSettings.from_params(stage.params.discovery)
k = resolve_k(stage.wildcards.k, stage.inputs.get("estimate"))  # auto_x<f>: f x the run's estimate
with stage.output_dir() as build:
    summary = cluster_fold(list(stage.inputs.removal), build, k, settings, stage.seed)
    stage.write_provenance(metrics={"images": summary["images"], "cluster_sizes": summary["cluster_sizes"]})
