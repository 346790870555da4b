"""Rule generate_dataset: write the generated dataset."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.generated import generate
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
summary = generate(stage.output[0], size=stage.params.size, seed=stage.params.seed)
stage.write_provenance(metrics={k: v for k, v in summary.items() if k != "classes"})
