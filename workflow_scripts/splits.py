"""Rule splits: the lists of one fold and the held-out selection split."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.index import class_presence
from ncdss_core.data.splits import build_fold_lists, write_fold_lists
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
train = class_presence(stage.inputs.dataset, "trainaug", p.labels_from)
val = class_presence(stage.inputs.dataset, "val", p.labels_from)
kind = stage.fold_definition["kind"] if stage.fold_definition else p.kind  # a custom fold: its dataset params
lists = build_fold_lists(kind, int(stage.wildcards.fold), {**train, **val}, list(train), list(val),
                         p.selection_fraction, p.seed)
with stage.output_dir() as build:
    stage.write_provenance(metrics={"counts": write_fold_lists(build, lists)})
