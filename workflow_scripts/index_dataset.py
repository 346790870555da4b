"""Rule index_dataset: scan the dataset (stop on any problem), index it, hash its files."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.index import (
    INDEX,
    MANIFEST,
    SCAN,
    build_index,
    build_manifest,
    check_dataset,
    write_index,
)
from ncdss_core.data.datasets import open_dataset
from ncdss_core.provenance.atomic import atomic_directory, atomic_write_json
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
params = smk.params.dataset
dataset = open_dataset(params["kind"], params["root"])
summary = check_dataset(dataset)
logger.info("scan clean: %s", summary["splits"])
with atomic_directory(smk.output[0]) as build:
    atomic_write_json(build / SCAN, summary)
    write_index(build / INDEX, build_index(dataset))
    atomic_write_json(build / MANIFEST, {"root": str(dataset.root), "kind": dataset.kind,
                                         "files": build_manifest(dataset)})
    # The generated dataset carries its own provenance; an external dataset ends the chain here.
    inputs = {"generated": params["root"]} if params["kind"] == "generated" else {}
    write_provenance(build, stage="index_dataset", params=params, inputs=inputs,
                     artifact_path=smk.output[0], started=started,
                     metrics={"images": summary["splits"]})
