"""Rule array_store: every image, label map and saliency map of one split decoded once into HDF5."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.store import STORE_FILE, write_store
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
split = stage.wildcards.split
dataset = stage.dataset()
with stage.output_dir() as build:
    stage.write_provenance(metrics=write_store(dataset, dataset.ids(split), build / STORE_FILE, split))
