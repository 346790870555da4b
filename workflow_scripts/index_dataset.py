"""Rule index_dataset: scan the dataset (stop on any problem), index it, hash its files."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.index import index_dataset
from ncdss_core.stage import Stage

# The one stage that opens the dataset from its configured kind and root: it makes the index
# every later stage opens it through.
stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
with stage.output_dir() as build:
    summary = index_dataset(open_dataset(**stage.params.dataset), build)
    stage.write_provenance(metrics={"images": summary["splits"]})
