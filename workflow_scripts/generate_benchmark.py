"""Rule generate_benchmark: write the embedded benchmark dataset."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.benchmark import generate
from ncdss_core.provenance import now, write_provenance
from ncdss_core.runtime import stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
root = smk.output[0]
summary = generate(root, size=smk.params.size, seed=smk.params.seed)
logger.info("benchmark written to %s: %s", root, {k: summary[k] for k in summary if k in ("size", "seed")})
write_provenance(root, stage="generate_benchmark",
                 params={"size": smk.params.size, "seed": smk.params.seed},
                 inputs={}, seed=smk.params.seed, started=started,
                 metrics={k: v for k, v in summary.items() if k != "classes"})
