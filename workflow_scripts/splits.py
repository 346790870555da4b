"""Rule splits: the lists of one fold and the held-out selection split."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.index import class_presence
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import stage_context
from ncdss_core.data.splits import build_fold_lists, write_fold_lists

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
fold = int(smk.wildcards.fold)
source = smk.params.labels_from
train = class_presence(smk.input[0], "trainaug", source)
val = class_presence(smk.input[0], "val", source)
classes = {**train, **val}
lists = build_fold_lists(smk.params.kind, fold, classes, list(train), list(val),
                         smk.params.selection_fraction, smk.params.seed)
with atomic_directory(smk.output[0]) as build:
    counts = write_fold_lists(build, lists)
    logger.info("fold %d lists: %s", fold, counts)
    write_provenance(build, stage="splits",
                     params={"fold": fold, "kind": smk.params.kind, "labels_from": source,
                             "selection_fraction": smk.params.selection_fraction, "seed": smk.params.seed},
                     inputs={"dataset": smk.input[0]}, artifact_path=smk.output[0],
                     seed=smk.params.seed, started=started, metrics={"counts": counts})
