"""Rule weak_labels: the chosen (CRF-refined ICD) seeds of a fold as one folder of dataset labels,
read by base training under base.supervision: weak."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
import shutil
from pathlib import Path

from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
count = 0
with atomic_directory(smk.output[0]) as build:
    for directory in smk.input.seeds:
        for path in sorted(Path(directory).glob("*.png")):
            shutil.copyfile(path, build / path.name)
            count += 1
    logger.info("%d label maps from %s", count, smk.params.labels)
    write_provenance(build, stage="weak_labels", params={"labels": smk.params.labels, "fold": smk.wildcards.fold},
                     inputs={f"seeds_{i:03d}": d for i, d in enumerate(smk.input.seeds)},
                     artifact_path=smk.output[0], started=started, metrics={"images": count})
