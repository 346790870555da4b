"""Rule report_tables: the discovery and seed tables as report items (copied, byte for byte)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from pathlib import Path

from ncdss_core.io.atomic import atomic_write_bytes
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
atomic_write_bytes(stage.output.discovery, (Path(stage.inputs.discovery) / "results.csv").read_bytes())
atomic_write_bytes(stage.output.comparisons, (Path(stage.inputs.discovery) / "comparisons.csv").read_bytes())
atomic_write_bytes(stage.output.errors, (Path(stage.inputs.discovery) / "errors.csv").read_bytes())
atomic_write_bytes(stage.output.seed_summary, (Path(stage.inputs.seed_summary) / "results.csv").read_bytes())
for source, target in zip(stage.inputs.seeds, stage.output.seeds):
    atomic_write_bytes(target, (Path(source) / "seed_eval.csv").read_bytes())
stage.logger.info("report tables: %s", list(stage.output))
