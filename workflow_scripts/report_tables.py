"""Rule report_tables: the discovery and seed tables as report items (copied, byte for byte)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from pathlib import Path

from ncdss_core.provenance.atomic import atomic_write_bytes
from ncdss_core.runtime import stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
atomic_write_bytes(smk.output.discovery, (Path(smk.input.discovery) / "results.csv").read_bytes())
for source, target in zip(smk.input.seeds, smk.output.seeds):
    atomic_write_bytes(target, (Path(source) / "seed_eval.csv").read_bytes())
logger.info("report tables: %s", list(smk.output))
