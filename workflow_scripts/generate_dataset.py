"""Rule generate_dataset: write the generated dataset dataset."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.generated import generate
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
root = smk.output[0]
summary = generate(root, size=smk.params.size, seed=smk.params.seed)
logger.info("generated dataset written to %s: %s", root, {k: summary[k] for k in summary if k in ("size", "seed")})
write_provenance(root, stage="generate_dataset",
                 params={"size": smk.params.size, "seed": smk.params.seed},
                 inputs={}, seed=smk.params.seed, started=started,
                 metrics={k: v for k, v in summary.items() if k != "classes"})
