"""Result tables: per fold and mean over folds, for base, basic, EUMS and ablation rows, over several
training seeds (replicates); and for the seeds (ICD) of every variant with and without CRF.

Input: the metrics.json of each evaluation artifact ({"selected": scores, "last": scores, ...}), one per
fold x training seed x model.
Output: results.csv and results.md with one table per metric (novel mIoU after matching, base mIoU,
all-class mIoU): rows model x checkpoint, columns the folds and their mean, values in percent. A fold's
cell is the mean over the training seeds ± their sample standard deviation; the "mean" cell is the mean
over the seeds of each seed's mean over the folds ± the sample standard deviation of those per-seed means
(the spread a reader compares methods with). With a single training seed the cells carry no "±". A
missing fold or seed leaves the cells that need it empty ("–") rather than averaging fewer runs.
results.csv holds one row per model x checkpoint x fold x seed, then per fold the rows seed "mean" and
"std", then the rows of fold "mean": each seed's mean over the folds, and their "mean" and "std".
comparisons.csv and comparisons.md hold the steps of the paper's table (k = 5 -> k = 10 -> EUMS and the
ablation rows) as differences paired by training seed, with their spread (build_comparisons).
errors.csv and errors.md split the base and the novel classes' IoU into the errors that cost it
(build_error_tables).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ncdss_core.evaluation.metrics import ERROR_SHARES, error_shares, remap_matrix
from ncdss_core.io.atomic import atomic_write_text, read_json

METRICS = (("novel_miou", "novel mIoU (after matching)"), ("base_miou", "base mIoU"),
           ("all_miou", "all-class mIoU"))
CHECKPOINTS = ("selected", "last")
ORDER = ("base", "ablation_no_overclustering", "basic", "ablation_ranking", "ablation_ranking_reassignment",
         "ablation_ranking_selftraining", "eums")


def _fmt(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f}"


def _mean(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None and not math.isnan(v)]
    return sum(clean) / len(clean) if clean and len(clean) == len(values) else None


def _mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof=1): both None when a value is missing, so that fewer
    runs are never averaged silently; the std is None with a single value, where it is undefined."""
    mean = _mean(values)
    if mean is None or len(values) < 2:
        return mean, None
    return mean, statistics.stdev(values)


def _cell(mean: float | None, std: float | None, several: bool, fmt: Callable[[float | None], str] = _fmt) -> str:
    """'54.19 ± 1.23' over several training seeds, '54.19' with one (the tables of a single seed)."""
    if not several or mean is None or std is None:
        return fmt(mean)
    return f"{fmt(mean)} ± {fmt(std)}"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


Evaluation = tuple[int, int, str, Mapping[str, Any]]
"""(fold, training seed, model, the evaluation's metrics.json content)."""


def read_evaluations(entries: Iterable[tuple[int, int, str, str | Path]]) -> list[Evaluation]:
    """Each (fold, training seed, model, metrics.json path) entry with its file read, once for all tables."""
    return [(int(fold), int(seed), model, read_json(path)) for fold, seed, model, path in entries]


def collect(evaluations: Iterable[Evaluation]) -> list[dict[str, Any]]:
    """Rows (fold, seed, model, checkpoint, k, method, epoch, metrics) of each evaluation."""
    rows = []
    for fold, seed, model, data in evaluations:
        for checkpoint in CHECKPOINTS:
            s = data[checkpoint]
            rows.append({"fold": fold, "seed": seed, "model": model, "checkpoint": checkpoint,
                         "k": s["k"], "method": s["method"], "epoch": data.get(f"{checkpoint}_epoch"),
                         **{m: (None if s[m] is None else float(s[m])) for m, _ in METRICS}})
    return rows


def _split_supervision(name: str) -> tuple[str, str]:
    """('basic', ' (weak)') of 'basic (weak)', ('basic', '') of 'basic': the table names of
    rules/discovery_common.smk::table_name."""
    model, sep, rest = name.partition(" (")
    return model, sep + rest


def _models(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The paper's row order; the rows of another supervision ("basic (weak)") after all others."""
    def key(name: str) -> tuple[str, int, str]:
        model, supervision = _split_supervision(name)
        return supervision, ORDER.index(model) if model in ORDER else len(ORDER), model
    return sorted({r["model"] for r in rows}, key=key)


class _Grid:
    """The rows of one model x checkpoint as a folds x seeds grid, and the statistics over it."""

    def __init__(self, index: Mapping[tuple, Mapping[str, Any]], model: str, checkpoint: str,
                 folds: Sequence[int], seeds: Sequence[int]) -> None:
        self.folds, self.seeds = folds, seeds
        self.cells = {(f, s): index.get((model, checkpoint, f, s)) for f in folds for s in seeds}

    def values(self, metric: str, fold: int) -> list[float | None]:
        return [None if (r := self.cells[fold, s]) is None else r[metric] for s in self.seeds]

    def fold_stats(self, metric: str, fold: int) -> tuple[float | None, float | None]:
        return _mean_std(self.values(metric, fold))

    def seed_fold_means(self, metric: str) -> list[float | None]:
        """Each seed's mean over the folds (None when one of its folds is missing)."""
        return [_mean([None if (r := self.cells[f, s]) is None else r[metric] for f in self.folds])
                for s in self.seeds]

    def over_folds(self, metric: str) -> tuple[float | None, float | None]:
        return _mean_std(self.seed_fold_means(metric))

    def first_k(self) -> Any:
        """The k of the first run present (the Markdown tables' k column)."""
        return next((r["k"] for r in self.cells.values() if r is not None), "")

    def common(self, key: str, folds: Sequence[int]) -> Any:
        """k or method of these folds' runs when they all agree (they describe the same model), else ''."""
        values = {r[key] for f in folds for s in self.seeds if (r := self.cells[f, s]) is not None}
        return values.pop() if len(values) == 1 else ""


def _index(rows: Sequence[Mapping[str, Any]]) -> dict[tuple, Mapping[str, Any]]:
    index: dict[tuple, Mapping[str, Any]] = {}
    for r in rows:
        key = (r["model"], r["checkpoint"], r["fold"], r["seed"])
        if key in index:  # two evaluations of one run would make every statistic ambiguous
            raise ValueError(f"duplicate result for model, checkpoint, fold, seed {key}")
        index[key] = r
    return index


def build_tables(rows: Sequence[Mapping[str, Any]], folds: Sequence[int],
                 seeds: Sequence[int]) -> tuple[str, str]:
    """(CSV text, Markdown text) of the rows of these folds and training seeds."""
    index = _index(rows)
    grids = [(model, checkpoint, _Grid(index, model, checkpoint, folds, seeds))
             for model in _models(rows) for checkpoint in CHECKPOINTS]
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf, lineterminator="\n")
    writer.writerow(["model", "checkpoint", "fold", "seed", "k", "method", "epoch"] + [m for m, _ in METRICS])
    for model, checkpoint, grid in grids:
        for f in folds:
            for s in seeds:
                if (r := grid.cells[f, s]) is not None:
                    writer.writerow([model, checkpoint, f, s, r["k"], r["method"], r["epoch"]]
                                    + [_num(r[m]) for m, _ in METRICS])
            stats = [grid.fold_stats(m, f) for m, _ in METRICS]
            for label, which in (("mean", 0), ("std", 1)):
                writer.writerow([model, checkpoint, f, label, grid.common("k", [f]), grid.common("method", [f]), ""]
                                + [_num(v[which]) for v in stats])
        k, method = grid.common("k", folds), grid.common("method", folds)
        per_seed = [grid.seed_fold_means(m) for m, _ in METRICS]
        for i, s in enumerate(seeds):
            writer.writerow([model, checkpoint, "mean", s, k, method, ""] + [_num(v[i]) for v in per_seed])
        stats = [grid.over_folds(m) for m, _ in METRICS]
        for label, which in (("mean", 0), ("std", 1)):
            writer.writerow([model, checkpoint, "mean", label, k, method, ""] + [_num(v[which]) for v in stats])
    several = len(seeds) > 1
    md = [f"Folds {', '.join(map(str, folds))}; {len(seeds)} training seed{'s' if several else ''} "
          f"({', '.join(map(str, seeds))}); values in %, per fold the mean over the training seeds, "
          "mean = mean over the seeds of each seed's mean over these folds; ± = sample standard deviation over "
          "the training seeds (none with one seed); – when a fold or seed is missing. selected = checkpoint "
          "chosen on the held-out select split; last = final epoch."]
    # the paper's table: every model's novel mean with its base and all-class means beside it
    md += ["", "### mean over folds", "", "| model | checkpoint | k | " + " | ".join(t for _, t in METRICS) + " |",
           "|---|---|---|" + "---|" * len(METRICS)]
    for model, checkpoint, grid in grids:
        md.append(f"| {model} | {checkpoint} | {grid.first_k()} | "
                  + " | ".join(_cell(*grid.over_folds(m), several) for m, _ in METRICS) + " |")
    for metric, title in METRICS:
        md += ["", f"### {title}", "",
               "| model | checkpoint | k | " + " | ".join(f"fold{f}" for f in folds) + " | mean |",
               "|---|---|---|" + "---|" * (len(folds) + 1)]
        for model, checkpoint, grid in grids:
            md.append(f"| {model} | {checkpoint} | {grid.first_k()} | "
                      + " | ".join(_cell(*grid.fold_stats(metric, f), several) for f in folds)
                      + f" | {_cell(*grid.over_folds(metric), several)} |")
    return csv_buf.getvalue(), "\n".join(md) + "\n"


# --- steps of the paper's table, paired by training seed -----------------------------------------
# (from, to): what each row of the paper's table adds; a step is compared under every supervision
# ("basic (weak)" -> "eums (weak)") that ran both of its models
STEPS = (("ablation_no_overclustering", "basic"), ("basic", "ablation_ranking"),
         ("ablation_ranking", "ablation_ranking_reassignment"),
         ("ablation_ranking", "ablation_ranking_selftraining"), ("basic", "eums"))


def _steps(models: Sequence[str]) -> list[tuple[str, str]]:
    present = set(models)
    suffixes = dict.fromkeys(_split_supervision(m)[1] for m in models)
    return [(a + s, b + s) for s in suffixes for a, b in STEPS if a + s in present and b + s in present]


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.2f}"


def build_comparisons(rows: Sequence[Mapping[str, Any]], folds: Sequence[int],
                      seeds: Sequence[int]) -> tuple[str, str]:
    """(CSV text, Markdown text) of each step (from, to) in STEPS: per training seed, `to` minus `from`
    of that seed's mean over the folds (paired, since both models start from the same seed's base model
    and pseudo-labels), then the mean and sample standard deviation of these differences. A step is
    beyond the spread over seeds when |mean| > std; undefined ('–') with one seed or a missing run."""
    index = _index(rows)
    several = len(seeds) > 1
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf, lineterminator="\n")
    writer.writerow(["from", "to", "checkpoint", "seed"] + [m for m, _ in METRICS])
    md = [f"Steps of the paper's table, paired by training seed: per seed, `to` minus `from` of the seed's "
          f"mean over folds {', '.join(map(str, folds))}, in points of %; mean ± sample standard deviation "
          f"over the {len(seeds)} training seed{'s' if several else ''} ({', '.join(map(str, seeds))}); "
          "|mean| > std: the step is larger than its spread over seeds."]
    tables = {m: [] for m, _ in METRICS}
    for a, b in _steps(_models(rows)):
        for checkpoint in CHECKPOINTS:
            grid_a, grid_b = (_Grid(index, m, checkpoint, folds, seeds) for m in (a, b))
            diffs = {m: [None if x is None or y is None else y - x
                         for x, y in zip(grid_a.seed_fold_means(m), grid_b.seed_fold_means(m))]
                     for m, _ in METRICS}
            for i, s in enumerate(seeds):
                writer.writerow([a, b, checkpoint, s] + [_num(diffs[m][i]) for m, _ in METRICS])
            stats = {m: _mean_std(diffs[m]) for m, _ in METRICS}
            for label, which in (("mean", 0), ("std", 1)):
                writer.writerow([a, b, checkpoint, label] + [_num(stats[m][which]) for m, _ in METRICS])
            for m, _ in METRICS:
                mean, std = stats[m]
                beyond = "–" if mean is None or std is None else ("yes" if abs(mean) > std else "no")
                spread = _signed(mean) if std is None else f"{_signed(mean)} ± {_fmt(std)}"
                tables[m].append(f"| {a} → {b} | {checkpoint} | {', '.join(_signed(d) for d in diffs[m])} "
                                 f"| {spread} | {beyond} |")
    for m, title in METRICS:
        md += ["", f"### {title}", "", "| step | checkpoint | per seed | mean ± std | \\|mean\\| > std |",
               "|---|---|---|---|---|", *tables[m]]
    return csv_buf.getvalue(), "\n".join(md) + "\n"


def write_tables(out_dir: str | Path, rows: Sequence[Mapping[str, Any]], folds: Sequence[int],
                 seeds: Sequence[int], selection_rows: Sequence[Mapping[str, Any]] = (),
                 error_rows: Sequence[Mapping[str, Any]] = ()) -> None:
    """results.csv and results.md (see build_tables), comparisons.csv and comparisons.md (see
    build_comparisons), with `selection_rows` (collect_selection) selection.csv and selection.md, and
    with `error_rows` (collect_errors) errors.csv and errors.md; each written atomically."""
    text_csv, text_md = build_tables(rows, folds, seeds)
    atomic_write_text(Path(out_dir) / "results.csv", text_csv)
    atomic_write_text(Path(out_dir) / "results.md", text_md)
    text_csv, text_md = build_comparisons(rows, folds, seeds)
    atomic_write_text(Path(out_dir) / "comparisons.csv", text_csv)
    atomic_write_text(Path(out_dir) / "comparisons.md", text_md)
    if selection_rows:
        text_csv, text_md = build_selection_tables(selection_rows, folds, seeds)
        atomic_write_text(Path(out_dir) / "selection.csv", text_csv)
        atomic_write_text(Path(out_dir) / "selection.md", text_md)
    if error_rows:
        text_csv, text_md = build_error_tables(error_rows, folds, seeds)
        atomic_write_text(Path(out_dir) / "errors.csv", text_csv)
        atomic_write_text(Path(out_dir) / "errors.md", text_md)


# --- where the IoU goes: errors of base and novel classes -----------------------------------------
ERROR_GROUPS = (("base", "base classes"), ("novel", "novel classes (after matching)"))
ERROR_TITLES = ("IoU", "missed: background", "missed: base", "missed: novel",
                "false: background", "false: base", "false: novel")


def collect_errors(evaluations: Iterable[Evaluation]) -> list[dict[str, Any]]:
    """Rows (fold, seed, model, checkpoint, "<group>:<share>") of metrics.error_shares for the base and
    the novel classes, from each metrics.json's confusion matrix and cluster mapping. The class counts
    follow from the matrix: 1 + B + N rows, 1 + B + k columns and the "no prediction" column."""
    rows = []
    for fold, seed, model, data in evaluations:
        for checkpoint in CHECKPOINTS:
            s = data[checkpoint]
            confusion = np.asarray(s["confusion"], dtype=np.int64)
            k = int(s["k"])
            num_base = confusion.shape[1] - 2 - k
            num_novel = confusion.shape[0] - 1 - num_base
            matched = remap_matrix(confusion, num_base, num_novel, k, np.asarray(s["mapping"], dtype=np.int64))
            row: dict[str, Any] = {"fold": fold, "seed": seed, "model": model, "checkpoint": checkpoint}
            classes = {"base": list(range(1, num_base + 1)),
                       "novel": list(range(num_base + 1, num_base + 1 + num_novel))}
            for group, _ in ERROR_GROUPS:
                shares = error_shares(matched, num_base, classes[group])
                row.update({f"{group}:{key}": value for key, value in shares.items()})
            rows.append(row)
    return rows


def build_error_tables(rows: Sequence[Mapping[str, Any]], folds: Sequence[int],
                       seeds: Sequence[int]) -> tuple[str, str]:
    """(CSV text, Markdown text): per model and checkpoint, the base and the novel classes' IoU and
    errors as shares of each class's union (metrics.error_shares), mean over the folds ± sample
    standard deviation over the training seeds as in build_tables."""
    index = _index(rows)
    several = len(seeds) > 1
    keys = [f"{group}:{share}" for group, _ in ERROR_GROUPS for share in ERROR_SHARES]
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf, lineterminator="\n")
    writer.writerow(["model", "checkpoint", "fold", "seed"] + keys)
    md = [f"Where the IoU goes, folds {', '.join(map(str, folds))}, training seeds "
          f"{', '.join(map(str, seeds))}: per class, its union (ground truth or prediction) split into the "
          "intersection (IoU), its pixels predicted as background, another base or another novel class "
          "(missed), and the background, other base and other novel pixels predicted as it (false); mean "
          "over the classes, in %; per model the mean over the folds ± sample standard deviation over the "
          "seeds as in results.md. A row sums to 100."]
    tables: dict[str, list[str]] = {group: [] for group, _ in ERROR_GROUPS}
    for model in _models(rows):
        for checkpoint in CHECKPOINTS:
            grid = _Grid(index, model, checkpoint, folds, seeds)
            for f in folds:
                for s in seeds:
                    if (r := grid.cells[f, s]) is not None:
                        writer.writerow([model, checkpoint, f, s] + [_num(r[key]) for key in keys])
            per_seed = [grid.seed_fold_means(key) for key in keys]
            for i, s in enumerate(seeds):
                writer.writerow([model, checkpoint, "mean", s] + [_num(v[i]) for v in per_seed])
            stats = [grid.over_folds(key) for key in keys]
            for label, which in (("mean", 0), ("std", 1)):
                writer.writerow([model, checkpoint, "mean", label] + [_num(v[which]) for v in stats])
            for group, _ in ERROR_GROUPS:
                tables[group].append(f"| {model} | {checkpoint} | " + " | ".join(
                    _cell(*grid.over_folds(f"{group}:{share}"), several) for share in ERROR_SHARES) + " |")
    for group, title in ERROR_GROUPS:
        md += ["", f"### {title}", "", "| model | checkpoint | " + " | ".join(ERROR_TITLES) + " |",
               "|---|---|" + "---|" * len(ERROR_TITLES), *tables[group]]
    return csv_buf.getvalue(), "\n".join(md) + "\n"


# --- checkpoint selection against the evaluation split (evaluation.per_epoch) ----------------------
def _rho(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"


SELECTION_FIELDS = (
    ("spearman", "Spearman rank correlation over the epochs between the selection score and the evaluation "
                 "split's mIoU (novel for fine-tuned models, base for the base model)", _rho),
    ("regret", "evaluation mIoU of the best epoch minus that of the selected epoch (points)", _fmt),
)


def collect_selection(evaluations: Iterable[Evaluation]) -> list[dict[str, Any]]:
    """Rows (fold, seed, model, spearman, regret, epochs) of the evaluations whose metrics.json has
    the per-epoch `selection` agreement (evaluation/selection.py)."""
    rows = []
    for fold, seed, model, data in evaluations:
        selection = data.get("selection")
        if selection is not None:
            rows.append({"fold": fold, "seed": seed, "model": model, "checkpoint": "selected",
                         **{key: selection[key] for key in ("spearman", "regret", "selected_epoch", "best_epoch")}})
    return rows


def build_selection_tables(rows: Sequence[Mapping[str, Any]], folds: Sequence[int],
                           seeds: Sequence[int]) -> tuple[str, str]:
    """(CSV text, Markdown text): per model and fold, the agreement of selection with the evaluation
    split, mean ± std over the training seeds as in build_tables."""
    index = _index(rows)
    several = len(seeds) > 1
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf, lineterminator="\n")
    writer.writerow(["model", "fold", "seed", "selected_epoch", "best_epoch", "spearman", "regret"])
    for r in sorted(rows, key=lambda r: (_models(rows).index(r["model"]), r["fold"], r["seed"])):
        writer.writerow([r["model"], r["fold"], r["seed"], r["selected_epoch"], r["best_epoch"],
                         _num(r["spearman"]), _num(r["regret"])])
    md = [f"Checkpoint selection against the evaluation split (evaluation.per_epoch), folds "
          f"{', '.join(map(str, folds))}, training seeds {', '.join(map(str, seeds))}; mean ± sample standard "
          "deviation over the seeds as in results.md."]
    for field, title, fmt in SELECTION_FIELDS:
        md += ["", f"### {title}", "", "| model | " + " | ".join(f"fold{f}" for f in folds) + " | mean |",
               "|---|" + "---|" * (len(folds) + 1)]
        for model in _models(rows):
            grid = _Grid(index, model, "selected", folds, seeds)
            md.append(f"| {model} | " + " | ".join(_cell(*grid.fold_stats(field, f), several, fmt) for f in folds)
                      + f" | {_cell(*grid.over_folds(field), several, fmt)} |")
    return csv_buf.getvalue(), "\n".join(md) + "\n"


# --- seeds (ICD) over folds -----------------------------------------------------------------------
SEED_METRICS = (("miou", "seed mIoU (unlabelled pixels skipped, ICD's protocol)"),
                ("miou_strict", "strict seed mIoU (unlabelled pixels count as wrong)"),
                ("coverage", "coverage (labelled pixels)"))


def _seed_index(per_fold: Mapping[str, Sequence[Mapping[str, Any]]]):
    """(index (variant, crf, fold) -> row, the (variant, crf) keys in first-seen order)."""
    index = {(r["variant"], bool(r["crf"]), f): r for f, rows in per_fold.items() for r in rows}
    return index, list(dict.fromkeys((variant, crf) for variant, crf, _ in index))


def _seed_values(index: Mapping, key: tuple[str, bool], folds: Sequence[str], metric: str) -> list[float | None]:
    return [None if (r := index.get((*key, f))) is None else float(r[metric]) for f in folds]


def build_seed_tables(per_fold: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[str, str]:
    """(CSV text, Markdown text) of the seed evaluations of several folds (fold -> the rows of its
    seed_eval.json): rows variant x CRF, columns the folds and their mean, one table per metric."""
    folds = list(per_fold)
    index, keys = _seed_index(per_fold)
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf, lineterminator="\n")
    writer.writerow(["variant", "crf", "fold", "images"] + [m for m, _ in SEED_METRICS])
    for variant, crf in keys:
        for f in folds:
            r = index.get((variant, crf, f))
            if r is not None:
                writer.writerow([variant, "yes" if crf else "no", f, r["images"]]
                                + [f"{float(r[m]):.6f}" for m, _ in SEED_METRICS])
        means = [_mean(_seed_values(index, (variant, crf), folds, m)) for m, _ in SEED_METRICS]
        writer.writerow([variant, "yes" if crf else "no", "mean", ""] + ["" if v is None else f"{v:.6f}" for v in means])
    md = [f"Seeds of the base-class training images, folds {', '.join(folds)}; values in %, mean = mean "
          "over these folds (– when a fold is missing)."]
    for metric, title in SEED_METRICS:
        md += ["", f"### {title}", "", "| seeds | CRF | " + " | ".join(f"fold{f}" for f in folds) + " | mean |",
               "|---|---|" + "---|" * (len(folds) + 1)]
        for variant, crf in keys:
            values = _seed_values(index, (variant, crf), folds, metric)
            md.append(f"| {variant} | {'yes' if crf else 'no'} | " + " | ".join(_fmt(v) for v in values)
                      + f" | {_fmt(_mean(values))} |")
    return csv_buf.getvalue(), "\n".join(md) + "\n"


def write_seed_tables(out_dir: str | Path, seed_evals: Mapping[str, str | Path]) -> dict[str, float]:
    """results.csv and results.md from each fold's seed_eval.json (fold -> path); returns the mean
    seed mIoU of each variant and CRF setting."""
    per_fold = {str(fold): read_json(path) for fold, path in seed_evals.items()}
    text_csv, text_md = build_seed_tables(per_fold)
    atomic_write_text(Path(out_dir) / "results.csv", text_csv)
    atomic_write_text(Path(out_dir) / "results.md", text_md)
    index, keys = _seed_index(per_fold)
    folds = list(per_fold)
    return {f"{variant}{'_crf' if crf else ''}_miou": _mean(_seed_values(index, (variant, crf), folds, "miou"))
            for variant, crf in sorted(keys)}
