"""Result tables of the discovery models (results, comparisons of the paper's steps, errors, checkpoint
selection) over folds and training seeds, and of the seeds (ICD) of every variant with and without CRF.

Every evaluation enters one long frame (read_evaluations): a row per run (supervision, model, fold,
training seed) x checkpoint x metric. One rule makes every statistic: a fold's cell is the mean over
the seeds ± their sample standard deviation; the "mean" cell is the mean over the seeds of each seed's
mean over the folds ± the sample standard deviation of those (the spread a reader compares methods
with); no "±" with one seed; a missing run or value leaves each statistic that needs it empty ("–")
rather than averaging fewer runs."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ncdss_core.discovery.cluster_count import ESTIMATORS, SEPARABILITY_FILE
from ncdss_core.discovery.variants import VARIANTS, model_name
from ncdss_core.evaluation.metrics import ERROR_SHARES, error_shares, remap_matrix
from ncdss_core.io.atomic import atomic_write_text, read_json

CHECKPOINTS = ("selected", "last")
SUPERVISIONS = ("full", "weak")  # base.supervision, the paper's setting first
ROW = ("supervision", "model", "checkpoint")  # what one row of a discovery table shows
METRICS = {"novel_miou": "novel mIoU (after matching)", "base_miou": "base mIoU", "all_miou": "all-class mIoU"}
ERROR_GROUPS = {"base": "base classes", "novel": "novel classes (after matching)"}
ERROR_METRICS = [f"{group}:{share}" for group in ERROR_GROUPS for share in ERROR_SHARES]
ERROR_TITLES = ("IoU", "missed: background", "missed: base", "missed: novel",
                "false: background", "false: base", "false: novel")
SELECTION_METRICS = ("selected_epoch", "best_epoch", "spearman", "regret")
SEED_METRICS = {"miou": "seed mIoU (unlabelled pixels skipped, ICD's protocol)",
                "miou_strict": "strict seed mIoU (unlabelled pixels count as wrong)",
                "coverage": "coverage (labelled pixels)"}

# base, then the fine-tuned models in the order of the paper's table (the order of VARIANTS)
MODELS = ("base", *(model_name(name) for name in VARIANTS))
# (from, to): what each step of the paper's table adds (VARIANTS[...] fails here if a variant is renamed)
STEPS = tuple((model_name(VARIANTS[a].name), model_name(VARIANTS[b].name)) for a, b in (
    ("no_overclustering", "basic"), ("basic", "ranking"), ("ranking", "ranking_reassignment"),
    ("ranking", "ranking_selftraining"), ("basic", "eums")))


def display_name(model: str, supervision: str) -> str:
    """How the tables name a model: `basic`, and `basic (weak)` under another supervision than full."""
    return model if supervision == "full" else f"{model} ({supervision})"


# --- formatting: one CSV and one Markdown layout for every table ----------------------------------
def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _shown(spec: str, scale: float = 1) -> Callable[[Any], str]:
    """A Markdown value, '–' where missing."""
    return lambda value: "–" if _missing(value) else format(scale * value, spec)


_pct, _signed, _rho = _shown(".2f", 100), _shown("+.2f", 100), _shown(".2f")


def _num(value: float | None, raw: bool = False) -> str:
    """A CSV value, empty where missing; a run's own (raw) value is missing only when None (not
    measured), its NaN (undefined) shows as "nan"."""
    return "" if value is None or (not raw and math.isnan(value)) else f"{value:.6f}"


def _cell(mean: float, std: float, fmt: Callable[[Any], str] = _pct,
          fmt_std: Callable[[Any], str] | None = None) -> str:
    """'54.19 ± 1.23', or '54.19' where the spread is undefined (one seed)."""
    return fmt(mean) if _missing(mean) or _missing(std) else f"{fmt(mean)} ± {(fmt_std or fmt)(std)}"


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(map(str, values))


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    # object columns: an int stays "3" beside empty cells (pandas would make it the float 3.0)
    return pd.DataFrame(list(rows), columns=list(header), dtype=object).to_csv(index=False, lineterminator="\n")


def _markdown(intro: str, sections: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> str:
    """An intro line, then per section (title, header, rows) its table."""
    def line(cells: Iterable[Any]) -> str:
        return "| " + " | ".join(map(str, cells)) + " |"
    text = [intro]
    for title, header, rows in sections:
        text += ["", f"### {title}", "", line(header), "|" + "---|" * len(header), *map(line, rows)]
    return "\n".join(text) + "\n"


# --- statistics over the folds x training seeds grid ----------------------------------------------
# Python's sum left to right and statistics.stdev, the arithmetic the tables were always made with:
# pandas' compensated group mean rounds some means of four folds differently in the last printed digit.
def _mean(values: pd.Series) -> float:
    """NaN when a value is missing: fewer runs are never averaged silently."""
    return math.nan if values.isna().any() else sum(values.tolist()) / len(values)


def _std(values: pd.Series) -> float:
    """Sample standard deviation (ddof=1); NaN with a missing value, or one value, where it is undefined."""
    return math.nan if len(values) < 2 or values.isna().any() else statistics.stdev(values.tolist())


class _Stats:
    """Some metrics of the table rows (values of `keys`) on the folds x seeds grid: the runs present,
    per fold the mean and std over the seeds (by_fold), each seed's mean over the folds (per_seed), and
    the mean and std of those (over)."""

    def __init__(self, frame: pd.DataFrame, rows: Sequence[tuple], metrics: Iterable[str], folds: Sequence[Any],
                 seeds: Sequence[int], keys: Sequence[str] = ROW) -> None:
        self.rows, self.metrics, self.folds, self.seeds = rows, list(metrics), list(folds), list(seeds)
        runs = frame[frame.metric.isin(self.metrics) & frame.fold.isin(self.folds) & frame.seed.isin(self.seeds)]
        self.runs = {key: run.set_index("metric") for key, run in runs.groupby([*keys, "fold", "seed"], sort=False)}
        names = [*keys, "metric", "fold", "seed"]
        grid = pd.MultiIndex.from_tuples([(*row, m, f, s) for row in rows for m in self.metrics for f in self.folds
                                          for s in self.seeds], names=names)
        values = runs.set_index(names)["value"].astype(float).reindex(grid)  # NaN: a run or value missing
        self.by_fold = values.groupby(level=names[:-1], sort=False).agg(mean=_mean, std=_std)
        self.per_seed = values.groupby(level=[*names[:-2], "seed"], sort=False).agg(_mean)
        self.over = self.per_seed.groupby(level=names[:-2], sort=False).agg(mean=_mean, std=_std)

    def present(self, row: tuple, folds: Sequence[Any]) -> list[tuple[Any, int, pd.DataFrame]]:
        return [(f, s, run) for f in folds for s in self.seeds if (run := self.runs.get((*row, f, s))) is not None]

    def common(self, row: tuple, key: str, folds: Sequence[Any]) -> Any:
        """k or method of these folds' runs when they all agree (they describe the same model), else ''."""
        values = {run[key].iloc[0] for _, _, run in self.present(row, folds)}
        return values.pop() if len(values) == 1 else ""

    def first_k(self, row: tuple) -> Any:
        """The k of the first run present (the Markdown tables' k column)."""
        return next((run["k"].iloc[0] for _, _, run in self.present(row, self.folds)), "")

    def mean_cell(self, row: tuple, metric: str, fmt: Callable[[Any], str] = _pct) -> str:
        return _cell(*self.over.loc[(*row, metric)], fmt)

    def cells(self, row: tuple, metric: str, fmt: Callable[[Any], str] = _pct) -> list[str]:
        """Each fold's cell, then the mean over the folds."""
        return [*(_cell(*self.by_fold.loc[(*row, metric, f)], fmt) for f in self.folds),
                self.mean_cell(row, metric, fmt)]

    def csv_rows(self, row: tuple, described: bool = False, per_fold: bool = True) -> list[list[Any]]:
        """[model, checkpoint, fold, seed, (k, method, epoch when described), *metrics]: the runs (with
        per_fold, each fold's followed by their mean and std), then per seed its mean over the folds,
        then the mean and std of those; a statistic's k and method are its runs' when they agree."""
        def description(folds: Sequence[Any]) -> list[Any]:
            return [self.common(row, "k", folds), self.common(row, "method", folds), ""] if described else []
        lines = []
        for block in ([[f] for f in self.folds] if per_fold else [self.folds]):
            for f, s, run in self.present(row, block):
                first = run.iloc[0]
                lines.append([f, s, *([first.k, first.method, first.epoch] if described else []),
                              *(_num(run.at[m, "value"], raw=True) for m in self.metrics)])
            if per_fold:
                lines += [[block[0], label, *description(block),
                           *(_num(self.by_fold.at[(*row, m, block[0]), label]) for m in self.metrics)]
                          for label in ("mean", "std")]
        over = [["mean", s, *(self.per_seed[(*row, m, s)] for m in self.metrics)] for s in self.seeds]
        over += [["mean", label, *(self.over.at[(*row, m), label] for m in self.metrics)] for label in ("mean", "std")]
        lines += [[f, s, *description(self.folds), *map(_num, values)] for f, s, *values in over]
        return [[display_name(row[1], row[0]), row[2], *line] for line in lines]


# --- the evaluations as one long frame ------------------------------------------------------------
def _error_metrics(scores: Mapping[str, Any]) -> dict[str, float]:
    """metrics.error_shares of the base and the novel classes. The class counts follow from the
    confusion matrix: 1 + B + N rows, 1 + B + k columns and the "no prediction" column."""
    confusion = np.asarray(scores["confusion"], dtype=np.int64)
    k = int(scores["k"])
    num_base = confusion.shape[1] - 2 - k
    num_novel = confusion.shape[0] - 1 - num_base
    matched = remap_matrix(confusion, num_base, num_novel, k, np.asarray(scores["mapping"], dtype=np.int64))
    classes = {"base": range(1, num_base + 1), "novel": range(num_base + 1, num_base + 1 + num_novel)}
    return {f"{group}:{key}": value for group in ERROR_GROUPS
            for key, value in error_shares(matched, num_base, list(classes[group])).items()}


def read_evaluations(entries: Iterable[tuple[int, int, str, str, str | Path]]) -> pd.DataFrame:
    """The long frame of (fold, training seed, supervision, model, metrics.json path) entries, each file
    read once for all tables: a row per checkpoint x metric (the scores, and the error shares where the
    checkpoint has its confusion matrix) with its k, matching method and epoch, and the selection
    diagnostics (evaluation.per_epoch) as metrics of the selected checkpoint. `value` keeps the JSON
    value, since a run's CSV row prints None (not measured) and NaN (undefined) differently."""
    records = []
    for fold, seed, supervision, model, path in entries:
        data = read_json(path)
        run = {"supervision": supervision, "model": model, "fold": int(fold), "seed": int(seed)}
        for checkpoint in (c for c in CHECKPOINTS if c in data):
            scores = data[checkpoint]
            values = {m: scores[m] for m in METRICS} | (_error_metrics(scores) if "confusion" in scores else {})
            records += [{**run, "checkpoint": checkpoint, "k": scores["k"], "method": scores["method"],
                         "epoch": data.get(f"{checkpoint}_epoch"), "metric": m, "value": v} for m, v in values.items()]
        if (selection := data.get("selection")) is not None:
            records += [{**run, "checkpoint": "selected", "metric": m, "value": selection[m]}
                        for m in SELECTION_METRICS]
    columns = [*ROW, "fold", "seed", "k", "method", "epoch", "metric", "value"]
    frame = pd.DataFrame(records, columns=columns, dtype=object).astype({"fold": int, "seed": int})
    duplicated = frame.duplicated([*ROW, "fold", "seed", "metric"])
    if duplicated.any():  # two evaluations of one run would make every statistic ambiguous
        raise ValueError("duplicate result for supervision, model, checkpoint, fold, seed "
                         f"{tuple(frame.loc[duplicated.idxmax(), [*ROW, 'fold', 'seed']])}")
    return frame


def _stats(frame: pd.DataFrame, metrics: Iterable[str], folds: Sequence[int], seeds: Sequence[int],
           checkpoints: Sequence[str] = CHECKPOINTS) -> _Stats:
    """_Stats of the rows (supervision, model, checkpoint) of the runs with these metrics, in the paper's
    order and each supervision after full. A model or supervision unknown here is refused, not sorted last."""
    runs = frame.loc[frame.metric.isin(list(metrics)), ["supervision", "model"]].drop_duplicates()
    for supervision, model in runs.itertuples(index=False):
        if supervision not in SUPERVISIONS or model not in MODELS:
            raise ValueError(f"no table row for model {model!r} under supervision {supervision!r} (models: "
                             f"{_listed(MODELS)}, after ncdss_core/discovery/variants.py; supervisions: "
                             f"{_listed(SUPERVISIONS)})")
    order = sorted(runs.itertuples(index=False), key=lambda r: (SUPERVISIONS.index(r[0]), MODELS.index(r[1])))
    return _Stats(frame, [(*run, checkpoint) for run in order for checkpoint in checkpoints], metrics, folds, seeds)


def _seeds(seeds: Sequence[int]) -> str:
    return f"{len(seeds)} training seed{'s' if len(seeds) > 1 else ''} ({_listed(seeds)})"


def _fold_columns(folds: Sequence[Any]) -> list[str]:
    return [f"fold{f}" for f in folds] + ["mean"]


# --- the discovery tables -------------------------------------------------------------------------
def build_tables(frame: pd.DataFrame, folds: Sequence[int], seeds: Sequence[int]) -> tuple[str, str]:
    """(results.csv, results.md) of these folds and training seeds."""
    st = _stats(frame, METRICS, folds, seeds)
    text_csv = _csv(["model", "checkpoint", "fold", "seed", "k", "method", "epoch", *METRICS],
                    [line for row in st.rows for line in st.csv_rows(row, described=True)])
    intro = (f"Folds {_listed(folds)}; {_seeds(seeds)}; values in %, per fold the mean over the training seeds, mean "
             "= mean over the seeds of each seed's mean over these folds; ± = sample standard deviation over the "
             "training seeds (none with one seed); – when a fold or seed is missing. selected = checkpoint chosen on "
             "the held-out select split; last = final epoch.")
    named = {row: [display_name(row[1], row[0]), row[2], st.first_k(row)] for row in st.rows}
    # first the paper's table: every model's novel mean with its base and all-class means beside it
    sections = [("mean over folds", ["model", "checkpoint", "k", *METRICS.values()],
                 [[*named[row], *(st.mean_cell(row, m) for m in METRICS)] for row in st.rows])]
    sections += [(title, ["model", "checkpoint", "k", *_fold_columns(folds)],
                  [[*named[row], *st.cells(row, metric)] for row in st.rows]) for metric, title in METRICS.items()]
    return text_csv, _markdown(intro, sections)


def build_comparisons(frame: pd.DataFrame, folds: Sequence[int], seeds: Sequence[int]) -> tuple[str, str]:
    """(comparisons.csv, comparisons.md): each step (from, to) of STEPS, under each supervision that ran
    both models, as per training seed `to` minus `from` of the seed's mean over the folds (paired: both
    start from that seed's base model and pseudo-labels), then the mean and sample standard deviation
    of these differences. A step is beyond the spread over seeds when |mean| > std."""
    st = _stats(frame, METRICS, folds, seeds)
    present = {row[:2] for row in st.rows}
    steps = [(sup, a, b) for sup in dict.fromkeys(row[0] for row in st.rows)
             for a, b in STEPS if (sup, a) in present and (sup, b) in present]
    if steps:
        # index (supervision, from, to, checkpoint, metric, seed): both sides hold the same grid, so
        # the subtraction pairs each seed with itself
        diffs = pd.concat({(sup, a, b): st.per_seed.loc[sup, b] - st.per_seed.loc[sup, a] for sup, a, b in steps},
                          names=["supervision", "from", "to"])
        stats = diffs.groupby(level=[0, 1, 2, 3, 4], sort=False).agg(mean=_mean, std=_std)
    lines, sections = [], {m: [] for m in METRICS}
    for sup, a, b in steps:
        names = [display_name(a, sup), display_name(b, sup)]
        for checkpoint in CHECKPOINTS:
            key = (sup, a, b, checkpoint)
            lines += [[*names, checkpoint, s, *(_num(diffs[(*key, m, s)]) for m in METRICS)] for s in seeds]
            lines += [[*names, checkpoint, label, *(_num(stats.at[(*key, m), label]) for m in METRICS)]
                      for label in ("mean", "std")]
            for m in METRICS:
                mean, std = stats.loc[(*key, m)]
                beyond = "–" if _missing(mean) or _missing(std) else ("yes" if abs(mean) > std else "no")
                per_seed = _listed(_signed(diffs[(*key, m, s)]) for s in seeds)
                sections[m].append([" → ".join(names), checkpoint, per_seed, _cell(mean, std, _signed, _pct), beyond])
    intro = (f"Steps of the paper's table, paired by training seed: per seed, `to` minus `from` of the seed's mean "
             f"over folds {_listed(folds)}, in points of %; mean ± sample standard deviation over the "
             f"{_seeds(seeds)}; |mean| > std: the step is larger than its spread over seeds.")
    header = ["step", "checkpoint", "per seed", "mean ± std", "\\|mean\\| > std"]
    return (_csv(["from", "to", "checkpoint", "seed", *METRICS], lines),
            _markdown(intro, [(METRICS[m], header, rows) for m, rows in sections.items()]))


def build_error_tables(frame: pd.DataFrame, folds: Sequence[int], seeds: Sequence[int]) -> tuple[str, str]:
    """(errors.csv, errors.md): per model and checkpoint, the base and the novel classes' IoU and errors
    as shares of each class's union (metrics.error_shares), statistics as in build_tables."""
    st = _stats(frame, ERROR_METRICS, folds, seeds)
    text_csv = _csv(["model", "checkpoint", "fold", "seed", *ERROR_METRICS],
                    [line for row in st.rows for line in st.csv_rows(row, per_fold=False)])
    intro = (f"Where the IoU goes, folds {_listed(folds)}, training seeds {_listed(seeds)}: per class, its union "
             "(ground truth or prediction) split into the intersection (IoU), its pixels predicted as background, "
             "another base or another novel class (missed), and the background, other base and other novel pixels "
             "predicted as it (false); mean over the classes, in %; per model the mean over the folds ± sample "
             "standard deviation over the seeds as in results.md. A row sums to 100.")
    sections = [(title, ["model", "checkpoint", *ERROR_TITLES],
                 [[display_name(row[1], row[0]), row[2], *(st.mean_cell(row, f"{group}:{share}")
                                                           for share in ERROR_SHARES)] for row in st.rows])
                for group, title in ERROR_GROUPS.items()]
    return text_csv, _markdown(intro, sections)


SELECTION_FIELDS = (
    ("spearman", "Spearman rank correlation over the epochs between the selection score and the evaluation "
                 "split's mIoU (novel for fine-tuned models, base for the base model)", _rho),
    ("regret", "evaluation mIoU of the best epoch minus that of the selected epoch (points)", _pct),
)


def build_selection_tables(frame: pd.DataFrame, folds: Sequence[int], seeds: Sequence[int]) -> tuple[str, str]:
    """(selection.csv, selection.md): per model and fold, how checkpoint selection agreed with the
    evaluation split, statistics as in build_tables; the CSV lists every run, of any fold and seed."""
    st = _stats(frame, [field for field, _, _ in SELECTION_FIELDS], folds, seeds, checkpoints=("selected",))
    runs = frame[frame.metric.isin(SELECTION_METRICS)].pivot(index=["supervision", "model", "fold", "seed"],
                                                              columns="metric", values="value")
    position = {row[:2]: i for i, row in enumerate(st.rows)}
    lines = [[display_name(model, sup), f, s, run.selected_epoch, run.best_epoch, _num(run.spearman, raw=True),
              _num(run.regret, raw=True)]
             for (sup, model, f, s), run in sorted(runs.iterrows(), key=lambda kv: (position[kv[0][:2]], *kv[0][2:]))]
    intro = (f"Checkpoint selection against the evaluation split (evaluation.per_epoch), folds {_listed(folds)}, "
             f"training seeds {_listed(seeds)}; mean ± sample standard deviation over the seeds as in results.md.")
    sections = [(title, ["model", *_fold_columns(folds)],
                 [[display_name(row[1], row[0]), *st.cells(row, field, fmt)] for row in st.rows])
                for field, title, fmt in SELECTION_FIELDS]
    return _csv(["model", "fold", "seed", *SELECTION_METRICS], lines), _markdown(intro, sections)


# --- the estimated number of novel classes (discovery.k auto) -------------------------------------
ESTIMATE_COLUMNS = ("supervision", "fold", "seed", "estimator", "k_range", "n_hat", "true_n")
# N̂ of every estimator the run could compute (estimate.json -> by_estimator), one column each
ESTIMATOR_COLUMNS = tuple(f"n_hat_{name}" for name in ESTIMATORS)
# whether the true novel classes form clusters (separability.json beside the estimate)
SEPARABILITY_COLUMNS = ("silhouette_true", "ari_kmeans_true_n")


def _supervision_rank(supervision: str) -> int:
    """The paper's setting first; a supervision the tables do not know last."""
    return SUPERVISIONS.index(supervision) if supervision in SUPERVISIONS else len(SUPERVISIONS)


def read_estimates(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per k_estimate artifact (its estimate.json): the run (supervision, fold, training
    seed), the chosen estimator and its candidate range, N̂, the fold's true number of novel classes,
    N̂ of each estimator (None where the run did not compute it), and the separability of the true
    classes (separability.json; None where the artifact has none)."""
    rows = []
    for path in paths:
        data = read_json(Path(path) / "estimate.json")
        others = data.get("by_estimator", {})
        truth_file = Path(path) / SEPARABILITY_FILE
        truth = read_json(truth_file) if truth_file.exists() else {}
        rows.append({**{key: data.get(key) for key in ESTIMATE_COLUMNS},
                     "k_range": f"{data['k_range'][0]}-{data['k_range'][1]}",
                     **{f"n_hat_{name}": others.get(name, {}).get("n_hat") for name in ESTIMATORS},
                     **{key: truth.get(key) for key in SEPARABILITY_COLUMNS}})
    return pd.DataFrame(rows, columns=[*ESTIMATE_COLUMNS, *ESTIMATOR_COLUMNS, *SEPARABILITY_COLUMNS], dtype=object)


def estimate_errors(estimates: pd.DataFrame) -> pd.DataFrame:
    """Per supervision, estimator and true count: the runs, how many N̂ equal the truth, how many lie
    within ±1 of it, and the mean absolute error |N̂ - N| (runs with an unknown truth left out)."""
    long = estimates.melt(id_vars=["supervision", "true_n"], value_vars=list(ESTIMATOR_COLUMNS),
                          var_name="estimator", value_name="estimate").dropna(subset=["estimate", "true_n"])
    long["estimator"] = long["estimator"].str.removeprefix("n_hat_")
    long["error"] = (long["estimate"].astype(int) - long["true_n"].astype(int)).abs()
    groups = long.groupby(["supervision", "estimator", "true_n"], sort=False)["error"]
    frame = groups.agg(runs="size", exact=lambda e: int((e == 0).sum()), within_1=lambda e: int((e <= 1).sum()),
                       mae="mean").reset_index()
    rank = {"supervision": _supervision_rank, "estimator": ESTIMATORS.index, "true_n": int}
    return frame.sort_values(list(rank), key=lambda column: column.map(rank[column.name])).reset_index(drop=True)


def build_estimate_tables(estimates: pd.DataFrame, folds: Sequence[int], seeds: Sequence[int]) -> tuple[str, str, str]:
    """(k_estimates.csv, k_estimate_errors.csv, k_estimates.md): N̂ per fold x training seed, each
    supervision a section of "N̂ (true N)" cells (– where a run has no estimate); then, per estimator,
    the error against the true count (estimate_errors), all counts together and per count."""
    order = sorted(estimates.itertuples(index=False),
                   key=lambda r: (_supervision_rank(r.supervision), int(r.fold), int(r.seed)))
    text_csv = _csv([*ESTIMATE_COLUMNS, *ESTIMATOR_COLUMNS, *SEPARABILITY_COLUMNS], [list(r) for r in order])
    found = {(r.supervision, int(r.fold), int(r.seed)): r for r in order}
    estimators = _listed(sorted({str(r.estimator) for r in order}))
    ranges = _listed(sorted({str(r.k_range) for r in order}))
    intro = (f"discovery.k auto: the estimated number of novel classes N̂ (estimator {estimators}, candidates "
             f"{ranges}) per fold and training seed; in brackets the fold's true number.")

    def cell(supervision: str, fold: int, seed: int) -> str:
        run = found.get((supervision, fold, seed))
        return "–" if run is None else f"{run.n_hat} ({'?' if run.true_n is None else run.true_n})"

    supervisions = sorted({r.supervision for r in order}, key=_supervision_rank)
    sections = [(f"N̂ under {supervision} supervision", ["seed", *(f"fold{f}" for f in folds)],
                 [[seed, *(cell(supervision, int(f), int(seed)) for f in folds)] for seed in seeds])
                for supervision in supervisions]
    errors = estimate_errors(estimates)  # sorted there
    errors_csv = _csv(["supervision", "estimator", "true_n", "runs", "exact", "within_1", "mae"],
                      [[*r[:6], f"{r.mae:.4f}"] for r in errors.itertuples(index=False)])
    for supervision in supervisions:
        rows = []
        for name, group in errors[errors.supervision == supervision].groupby("estimator", sort=False):
            runs = int(group.runs.sum())
            within = int(group.within_1.sum())
            mae = float((group.mae * group.runs).sum() / runs)
            per_count = ", ".join(f"N = {r.true_n}: {r.mae:.2f}" for r in group.itertuples(index=False))
            rows.append([name, runs, int(group.exact.sum()), f"{within} ({100 * within / runs:.0f} %)",
                         f"{mae:.2f}", per_count])
        sections.append((f"Error of each estimator under {supervision} supervision",
                         ["estimator", "runs", "N̂ = N", "within ±1", "mean abs. error", "mean abs. error per true N"],
                         rows))
    for supervision in supervisions:
        known = estimates[(estimates.supervision == supervision) & estimates.silhouette_true.notna()]
        if known.empty:
            continue
        rows = [[n, len(group), f"{group.silhouette_true.astype(float).mean():.3f}",
                 f"{group.ari_kmeans_true_n.astype(float).mean():.3f}"]
                for n, group in sorted(known.groupby("true_n"), key=lambda item: int(item[0]))]
        sections.append((f"Do the true novel classes form clusters? ({supervision} supervision; 1: compact and "
                         "separate, 0: overlapping, where no criterion can count them)",
                         ["true N", "runs", "silhouette of the true classes", "ARI of k-means given N"], rows))
    return text_csv, errors_csv, _markdown(intro, sections)


def write_estimate_tables(out_dir: str | Path, estimates: pd.DataFrame, folds: Sequence[int],
                          seeds: Sequence[int]) -> None:
    """k_estimates.csv / .md and k_estimate_errors.csv (build_estimate_tables), written atomically."""
    text_csv, errors_csv, text_md = build_estimate_tables(estimates, folds, seeds)
    atomic_write_text(Path(out_dir) / "k_estimates.csv", text_csv)
    atomic_write_text(Path(out_dir) / "k_estimate_errors.csv", errors_csv)
    atomic_write_text(Path(out_dir) / "k_estimates.md", text_md)


def write_tables(out_dir: str | Path, frame: pd.DataFrame, folds: Sequence[int], seeds: Sequence[int]) -> None:
    """results and comparisons, and errors and selection where the evaluations carry them, each as
    .csv and .md, written atomically."""
    builds = {"results": build_tables, "comparisons": build_comparisons}
    if frame.metric.isin(SELECTION_METRICS).any():
        builds["selection"] = build_selection_tables
    if frame.metric.isin(ERROR_METRICS).any():
        builds["errors"] = build_error_tables
    for name, build in builds.items():
        text_csv, text_md = build(frame, folds, seeds)
        atomic_write_text(Path(out_dir) / f"{name}.csv", text_csv)
        atomic_write_text(Path(out_dir) / f"{name}.md", text_md)


# --- seeds (ICD) over folds -----------------------------------------------------------------------
def _seed_stats(per_fold: Mapping[str, Sequence[Mapping[str, Any]]]) -> _Stats:
    """The seed evaluations (fold -> the rows of its seed_eval.json) as one training seed (0) on the
    grid, rows (variant, crf) in first-seen order."""
    frame = pd.DataFrame([{"variant": r["variant"], "crf": bool(r["crf"]), "fold": f, "seed": 0,
                           "images": r["images"], "metric": m, "value": r[m]}
                          for f, rows in per_fold.items() for r in rows for m in SEED_METRICS],
                         columns=["variant", "crf", "fold", "seed", "images", "metric", "value"], dtype=object)
    rows = list(dict.fromkeys((r["variant"], bool(r["crf"])) for rows in per_fold.values() for r in rows))
    return _Stats(frame, rows, SEED_METRICS, list(per_fold), [0], keys=("variant", "crf"))


def build_seed_tables(per_fold: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[str, str]:
    """(results.csv, results.md) of the seed evaluations of several folds (fold -> the rows of its
    seed_eval.json): rows variant x CRF, columns the folds and their mean, one table per metric."""
    st, folds = _seed_stats(per_fold), list(per_fold)
    yes_no = {True: "yes", False: "no"}
    lines = []
    for variant, crf in st.rows:
        lines += [[variant, yes_no[crf], f, run["images"].iloc[0],
                   *(_num(float(run.at[m, "value"]), raw=True) for m in SEED_METRICS)]
                  for f, _, run in st.present((variant, crf), folds)]
        lines.append([variant, yes_no[crf], "mean", "", *(_num(st.per_seed[variant, crf, m, 0]) for m in SEED_METRICS)])
    intro = (f"Seeds of the base-class training images, folds {_listed(folds)}; values in %, mean = mean "
             "over these folds (– when a fold is missing).")
    # one seed: each fold's cell is its value
    sections = [(title, ["seeds", "CRF", *_fold_columns(folds)],
                 [[variant, yes_no[crf], *st.cells((variant, crf), metric)] for variant, crf in st.rows])
                for metric, title in SEED_METRICS.items()]
    return _csv(["variant", "crf", "fold", "images", *SEED_METRICS], lines), _markdown(intro, sections)


def write_seed_tables(out_dir: str | Path, seed_evals: Mapping[str, str | Path]) -> dict[str, float | None]:
    """results.csv and results.md from each fold's seed_eval.json (fold -> path); returns the mean
    seed mIoU of each variant and CRF setting (None when a fold is missing)."""
    per_fold = {str(fold): read_json(path) for fold, path in seed_evals.items()}
    text_csv, text_md = build_seed_tables(per_fold)
    atomic_write_text(Path(out_dir) / "results.csv", text_csv)
    atomic_write_text(Path(out_dir) / "results.md", text_md)
    st = _seed_stats(per_fold)
    means = {f"{variant}{'_crf' if crf else ''}_miou": float(st.per_seed[variant, crf, "miou", 0])
             for variant, crf in sorted(st.rows)}
    return {key: None if math.isnan(mean) else mean for key, mean in means.items()}
