"""The discovery tables (rule tables): per fold and mean over folds, over several training seeds."""

import csv
import io
import json
from pathlib import Path

import pytest

from ncdss_core.discovery.variants import FINETUNED_MODELS
from ncdss_core.evaluation.tables import (
    MODELS,
    STEPS,
    build_comparisons,
    build_error_tables,
    build_tables,
    display_name,
    read_evaluations,
    write_tables,
)


def scores(novel: float | None, k: int = 10) -> dict:
    return {"novel_miou": novel, "base_miou": 0.5, "all_miou": 0.4, "k": k, "method": "majority"}


def write_metrics(tmp_path: Path, values: dict[tuple[int, int, str], float], supervision: str = "full") -> list[tuple]:
    """(fold, seed, supervision, model, path) entries of the runs (fold, seed, model) -> selected novel
    mIoU, written as metrics.json; the last checkpoint scores half the selected one."""
    entries = []
    for (fold, seed, model), value in values.items():
        path = tmp_path / f"{supervision}_{fold}_{seed}_{model}.json"
        path.write_text(json.dumps({"selected": scores(value), "last": scores(value / 2),
                                    "selected_epoch": 3, "last_epoch": 9}))
        entries.append((fold, seed, supervision, model, path))
    return entries


# novel mIoU of "basic" (selected): fold 0 over seeds 1, 2, 3 -> mean 0.30, std 0.10;
# fold 1 -> mean 0.50, std 0.10; per-seed fold means 0.35, 0.35, 0.50 -> mean 0.40, std 0.0866
BASIC = {(0, 1): 0.20, (0, 2): 0.30, (0, 3): 0.40, (1, 1): 0.50, (1, 2): 0.40, (1, 3): 0.60}


@pytest.fixture
def three_seeds(tmp_path):
    values = {(f, s, "basic"): v for (f, s), v in BASIC.items()}
    values.update({(f, s, "eums"): 0.6 for f in (0, 1) for s in (1, 2, 3)})
    return read_evaluations(write_metrics(tmp_path, values))


def without(frame, model: str, fold: int | None = None, seed: int | None = None):
    """The frame without these runs of `model` (a fold or seed of None: any)."""
    gone = (frame.model == model) & (fold is None or frame.fold == fold) & (seed is None or frame.seed == seed)
    return frame[~gone]


def csv_rows(text: str) -> dict[tuple[str, str, str, str], dict]:
    return {(r["model"], r["checkpoint"], r["fold"], r["seed"]): r for r in csv.DictReader(io.StringIO(text))}


def test_the_frame_holds_one_row_per_run_checkpoint_and_metric(tmp_path):
    frame = read_evaluations(write_metrics(tmp_path, {(0, 7, "basic"): 0.2}, supervision="weak"))
    assert len(frame) == 2 * 3  # two checkpoints x three metrics, no error or selection metric without their data
    row = frame[(frame.checkpoint == "selected") & (frame.metric == "novel_miou")].iloc[0]
    # the supervision is its own field, not a part of the model's name
    assert (row.supervision, row.model, row.fold, row.seed, row.k, row.method, row.epoch, row.value) == (
        "weak", "basic", 0, 7, 10, "majority", 3, 0.2)
    assert frame[frame.checkpoint == "last"].epoch.unique().tolist() == [9]


def test_one_seed_tables_per_fold_and_mean_over_folds(tmp_path):
    values = {(0, 7, "basic"): 0.2, (0, 7, "eums"): 0.3, (1, 7, "basic"): 0.4, (1, 7, "eums"): 0.5}
    frame = read_evaluations(write_metrics(tmp_path, values))
    text_csv, text_md = build_tables(frame, [0, 1], [7])
    assert "| basic | selected | 10 | 20.00 | 40.00 | 30.00 |" in text_md
    assert "| eums | last | 10 | 15.00 | 25.00 | 20.00 |" in text_md
    assert "±" not in text_md.split("\n", 1)[1]  # no spread to show with a single seed
    assert "1 training seed (7)" in text_md.splitlines()[0]
    lines = text_csv.splitlines()
    assert lines[0] == "model,checkpoint,fold,seed,k,method,epoch,novel_miou,base_miou,all_miou"
    assert "eums,selected,1,7,10,majority,3,0.500000,0.500000,0.400000" in lines
    assert "eums,selected,mean,mean,10,majority,,0.400000,0.500000,0.400000" in lines
    assert "eums,selected,mean,std,10,majority,,,," in lines  # undefined with one seed
    assert "eums,selected,0,std,10,majority,,,," in lines
    # a missing fold leaves the mean empty rather than averaging fewer folds
    _, partial = build_tables(frame, [0, 1, 2], [7])
    assert "| basic | selected | 10 | 20.00 | 40.00 | – | – |" in partial


def test_mean_and_sample_std_over_seeds_per_fold_and_over_folds(three_seeds):
    text_csv, text_md = build_tables(three_seeds, [0, 1], [1, 2, 3])
    header = text_md.splitlines()[0]
    assert "Folds 0, 1; 3 training seeds (1, 2, 3)" in header and "sample standard deviation" in header
    assert "| model | checkpoint | k | fold0 | fold1 | mean |" in text_md
    assert "| basic | selected | 10 | 30.00 ± 10.00 | 50.00 ± 10.00 | 40.00 ± 8.66 |" in text_md
    assert "| basic | last | 10 | 15.00 ± 5.00 | 25.00 ± 5.00 | 20.00 ± 4.33 |" in text_md
    assert "| eums | selected | 10 | 60.00 ± 0.00 | 60.00 ± 0.00 | 60.00 ± 0.00 |" in text_md
    assert "| basic | selected | 10 | 50.00 ± 0.00 |" in text_md  # the base mIoU table
    # the summary: novel, base and all-class means over folds side by side
    summary = text_md.split("### mean over folds", 1)[1].split("###", 1)[0]
    assert "| basic | selected | 10 | 40.00 ± 8.66 | 50.00 ± 0.00 | 40.00 ± 0.00 |" in summary
    rows = csv_rows(text_csv)
    assert rows["basic", "selected", "0", "2"]["novel_miou"] == "0.300000"
    assert rows["basic", "selected", "0", "mean"]["novel_miou"] == "0.300000"
    assert rows["basic", "selected", "0", "std"]["novel_miou"] == "0.100000"
    assert rows["basic", "selected", "1", "std"]["novel_miou"] == "0.100000"
    assert [rows["basic", "selected", "mean", s]["novel_miou"] for s in "123"] == ["0.350000", "0.350000",
                                                                                  "0.500000"]
    assert rows["basic", "selected", "mean", "mean"]["novel_miou"] == "0.400000"
    assert rows["basic", "selected", "mean", "std"]["novel_miou"] == "0.086603"
    assert rows["basic", "selected", "mean", "std"]["base_miou"] == "0.000000"
    # every seed row, then per fold mean and std, then the fold mean: per seed, mean, std
    order = [(r["fold"], r["seed"]) for r in csv.DictReader(io.StringIO(text_csv))
             if r["model"] == "basic" and r["checkpoint"] == "selected"]
    assert order == [("0", "1"), ("0", "2"), ("0", "3"), ("0", "mean"), ("0", "std"),
                     ("1", "1"), ("1", "2"), ("1", "3"), ("1", "mean"), ("1", "std"),
                     ("mean", "1"), ("mean", "2"), ("mean", "3"), ("mean", "mean"), ("mean", "std")]
    models = list(dict.fromkeys((r["model"], r["checkpoint"]) for r in csv.DictReader(io.StringIO(text_csv))))
    assert models == [("basic", "selected"), ("basic", "last"), ("eums", "selected"), ("eums", "last")]


def test_the_mean_of_four_folds_is_summed_in_fold_order(tmp_path):
    # 0.1 + 0.2 + 0.3 + 0.125 left to right is 0.7250000000000001: 18.13 % as the mean; a compensated
    # sum (pandas' group mean) gives 0.725 and prints 18.12
    values = {(f, 1, "basic"): v for f, v in enumerate((0.1, 0.2, 0.3, 0.125))}
    _, text_md = build_tables(read_evaluations(write_metrics(tmp_path, values)), [0, 1, 2, 3], [1])
    assert "| basic | selected | 10 | 10.00 | 20.00 | 30.00 | 12.50 | 18.13 |" in text_md


def test_a_missing_seed_leaves_its_fold_and_the_mean_over_folds_empty(three_seeds):
    text_csv, text_md = build_tables(without(three_seeds, "basic", fold=1, seed=3), [0, 1], [1, 2, 3])
    assert "| basic | selected | 10 | 30.00 ± 10.00 | – | – |" in text_md
    assert "| eums | selected | 10 | 60.00 ± 0.00 | 60.00 ± 0.00 | 60.00 ± 0.00 |" in text_md
    by_key = csv_rows(text_csv)
    assert ("basic", "selected", "1", "3") not in by_key
    assert by_key["basic", "selected", "1", "mean"]["novel_miou"] == ""
    assert by_key["basic", "selected", "1", "std"]["novel_miou"] == ""
    assert by_key["basic", "selected", "mean", "1"]["novel_miou"] == "0.350000"  # seed 1 has both folds
    assert by_key["basic", "selected", "mean", "3"]["novel_miou"] == ""
    assert by_key["basic", "selected", "mean", "mean"]["novel_miou"] == ""
    # a seed asked for but never trained leaves every cell empty
    _, unknown = build_tables(three_seeds, [0, 1], [1, 2, 3, 4])
    assert "| basic | selected | 10 | – | – | – |" in unknown


def test_null_and_undefined_metrics_and_duplicate_runs(tmp_path, three_seeds):
    frame = three_seeds.copy()
    run = (frame.model == "eums") & (frame.fold == 0) & (frame.seed == 2) & (frame.metric == "novel_miou")
    frame.loc[run & (frame.checkpoint == "selected"), "value"] = None
    frame.loc[run & (frame.checkpoint == "last"), "value"] = float("nan")
    text_csv, text_md = build_tables(frame, [0, 1], [1, 2, 3])
    assert "| eums | selected | 10 | – | 60.00 ± 0.00 | – |" in text_md
    assert "| eums | last | 10 | – | 30.00 ± 0.00 | – |" in text_md
    # in the run's own row: not measured is empty, undefined is "nan"; both leave the statistics empty
    by_key = csv_rows(text_csv)
    assert by_key["eums", "selected", "0", "2"]["novel_miou"] == ""
    assert by_key["eums", "last", "0", "2"]["novel_miou"] == "nan"
    assert by_key["eums", "last", "0", "mean"]["novel_miou"] == ""
    entries = write_metrics(tmp_path, {(0, 1, "basic"): 0.2})
    with pytest.raises(ValueError, match="duplicate"):
        read_evaluations(entries + entries)


def test_written_atomically_as_csv_and_markdown(tmp_path, three_seeds):
    write_tables(tmp_path / "out", three_seeds, [0, 1], [1, 2, 3])
    text_csv, text_md = build_tables(three_seeds, [0, 1], [1, 2, 3])
    assert (tmp_path / "out" / "results.csv").read_text() == text_csv
    assert (tmp_path / "out" / "results.md").read_text() == text_md
    assert (tmp_path / "out" / "comparisons.md").read_text() == build_comparisons(three_seeds, [0, 1], [1, 2, 3])[1]
    # no confusion matrix and no per-epoch diagnostics: no errors or selection tables
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["comparisons.csv", "comparisons.md",
                                                                    "results.csv", "results.md"]


def test_weakly_supervised_rows_follow_the_others_in_the_paper_order(tmp_path):
    names = ("eums", "base", "basic", "ablation_no_overclustering")
    entries = write_metrics(tmp_path, {(0, 1, name): 0.3 for name in ("eums", "basic")}, supervision="weak")
    entries += write_metrics(tmp_path, {(0, 1, name): 0.3 for name in names})
    text_csv, text_md = build_tables(read_evaluations(entries), [0], [1])
    table = text_md.split("### novel mIoU", 1)[1]
    order = [line.split(" | ")[0].lstrip("| ") for line in table.splitlines() if line.endswith("| selected | 10 | 30.00 | 30.00 |")]
    assert order == ["base", "ablation_no_overclustering", "basic", "eums", "basic (weak)", "eums (weak)"]
    assert "basic (weak),selected,0,1,10,majority,3,0.300000,0.500000,0.400000" in text_csv.splitlines()


def test_row_order_and_steps_come_from_the_variants():
    # every fine-tuned model of variants.py has its row, base first, the paper's rows 1-6 after it
    assert sorted(MODELS) == sorted(("base", *FINETUNED_MODELS))
    assert MODELS == ("base", "ablation_no_overclustering", "basic", "ablation_ranking",
                      "ablation_ranking_reassignment", "ablation_ranking_selftraining", "eums")
    assert all(a in MODELS and b in MODELS for a, b in STEPS)
    assert (display_name("basic", "full"), display_name("basic", "weak")) == ("basic", "basic (weak)")


@pytest.mark.parametrize("supervision, model", [("full", "ablation_no_ranking"), ("partial", "basic")])
def test_a_model_or_supervision_the_tables_do_not_know_is_refused_by_name(tmp_path, supervision, model):
    entries = write_metrics(tmp_path, {(0, 1, "basic"): 0.3}) + write_metrics(tmp_path, {(0, 1, model): 0.3},
                                                                               supervision=supervision)
    frame = read_evaluations(entries)
    for build in (build_tables, build_comparisons):
        with pytest.raises(ValueError, match=f"model '{model}' under supervision '{supervision}'"):
            build(frame, [0], [1])


def step_rows(text_md: str, title: str) -> list[str]:
    """The table rows of one metric's section of comparisons.md."""
    section = text_md.split(f"### {title}", 1)[1].split("###", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "→" in line]


def test_steps_are_paired_by_seed_over_the_folds_with_their_spread(three_seeds):
    # per-seed fold means: basic 0.35, 0.35, 0.50 and eums 0.60 -> differences 0.25, 0.25, 0.10
    text_csv, text_md = build_comparisons(three_seeds, [0, 1], [1, 2, 3])
    assert step_rows(text_md, "novel mIoU") == [
        "| basic → eums | selected | +25.00, +25.00, +10.00 | +20.00 ± 8.66 | yes |",
        "| basic → eums | last | +12.50, +12.50, +5.00 | +10.00 ± 4.33 | yes |"]
    # equal base mIoU: a zero step is not beyond a zero spread
    assert step_rows(text_md, "base mIoU")[0] == "| basic → eums | selected | +0.00, +0.00, +0.00 | +0.00 ± 0.00 | no |"
    by_key = {(r["from"], r["to"], r["checkpoint"], r["seed"]): r for r in csv.DictReader(io.StringIO(text_csv))}
    assert by_key["basic", "eums", "selected", "3"]["novel_miou"] == "0.100000"
    assert by_key["basic", "eums", "selected", "mean"]["novel_miou"] == "0.200000"
    assert by_key["basic", "eums", "last", "std"]["novel_miou"] == "0.043301"


def test_a_step_below_its_spread_and_a_missing_run(three_seeds):
    # seed 3's eums falls to 0.30 on both folds: differences 0.25, 0.25, -0.20 -> mean 0.10, std 0.26
    frame = three_seeds.copy()
    frame.loc[(frame.model == "eums") & (frame.seed == 3) & (frame.checkpoint == "selected")
              & (frame.metric == "novel_miou"), "value"] = 0.3
    _, text_md = build_comparisons(frame, [0, 1], [1, 2, 3])
    assert step_rows(text_md, "novel mIoU")[0] == "| basic → eums | selected | +25.00, +25.00, -20.00 | +10.00 ± 25.98 | no |"
    _, text_md = build_comparisons(without(three_seeds, "eums", fold=1, seed=2), [0, 1], [1, 2, 3])
    assert step_rows(text_md, "novel mIoU")[0] == "| basic → eums | selected | +25.00, –, +10.00 | – | – |"


def test_steps_stay_within_one_supervision_and_need_both_models(tmp_path):
    entries = write_metrics(tmp_path, {(0, 1, "ablation_no_overclustering"): 0.2, (0, 1, "basic"): 0.3,
                                       (0, 1, "eums"): 0.5})
    entries += write_metrics(tmp_path, {(0, 1, "basic"): 0.1, (0, 1, "eums"): 0.4}, supervision="weak")
    text_csv, text_md = build_comparisons(read_evaluations(entries), [0], [1])
    steps = [row.split(" | ")[0][2:] for row in step_rows(text_md, "novel mIoU") if "| selected |" in row]
    # no ranking row ran, so no ranking step; no step crosses from full to weak supervision
    assert steps == ["ablation_no_overclustering → basic", "basic → eums", "basic (weak) → eums (weak)"]
    # one seed: the step without a spread, and no verdict on it
    assert "| basic (weak) → eums (weak) | selected | +30.00 | +30.00 | – |" in text_md
    assert "basic (weak),eums (weak),selected,1,0.300000,0.000000,0.000000" in text_csv.splitlines()


def test_no_step_without_both_of_its_models(tmp_path):
    text_csv, text_md = build_comparisons(read_evaluations(write_metrics(tmp_path, {(0, 1, "basic"): 0.3})), [0], [1])
    assert text_csv == "from,to,checkpoint,seed,novel_miou,base_miou,all_miou\n"
    assert step_rows(text_md, "novel mIoU") == []


def confusion_scores(false_on_background: int) -> dict:
    """Scores of a model with B = 1 base class, N = 1 novel class and k = 2 clusters, both matched to
    the novel class (majority vote): rows bg, base, novel; columns bg, base, cluster 0, cluster 1, none."""
    confusion = [[80, false_on_background, 0, 0, 0],
                 [2, 10, 3, 0, 0],
                 [5, 0, 6, 4, 0]]
    return {"confusion": confusion, "mapping": [0, 0], "k": 2, "method": "majority",
            "novel_miou": None, "base_miou": None, "all_miou": None}


def test_errors_split_base_and_novel_iou_from_the_confusion_matrix(tmp_path):
    entries = []
    for seed, false_bg in ((1, 5), (2, 15)):
        path = tmp_path / f"{seed}.json"
        path.write_text(json.dumps({"selected": confusion_scores(false_bg), "last": confusion_scores(false_bg)}))
        entries.append((0, seed, "full", "eums", path))
    frame = read_evaluations(entries)
    run = frame[(frame.seed == 1) & (frame.checkpoint == "selected")].set_index("metric").value
    # base: union 15 + 10 + false_bg - 10; novel after matching: 10 of 15 + 3 base pixels
    assert run["base:iou"] == pytest.approx(10 / 20) and run["base:false_on_background"] == pytest.approx(5 / 20)
    assert run["base:missed_as_novel"] == pytest.approx(3 / 20)
    assert run["novel:iou"] == pytest.approx(10 / 18) and run["novel:false_on_base"] == pytest.approx(3 / 18)
    text_csv, text_md = build_error_tables(frame, [0], [1, 2])
    base_table = text_md.split("### base classes", 1)[1].split("###", 1)[0]
    # seeds: base IoU 10/20 and 10/30, missed as background 2/20 and 2/30, as novel 3/20 and 3/30,
    # false alarms on background 5/20 and 15/30
    assert ("| eums | last | 41.67 ± 11.79 | 8.33 ± 2.36 | 0.00 ± 0.00 | 12.50 ± 3.54 | 37.50 ± 17.68 "
            "| 0.00 ± 0.00 | 0.00 ± 0.00 |") in base_table
    by_key = {(r["model"], r["checkpoint"], r["fold"], r["seed"]): r for r in csv.DictReader(io.StringIO(text_csv))}
    assert by_key["eums", "selected", "0", "2"]["base:false_on_background"] == "0.500000"
    assert by_key["eums", "selected", "mean", "mean"]["novel:iou"] == "0.555556"
    assert ("eums", "selected", "0", "mean") not in by_key  # per seed over the folds only
    write_tables(tmp_path / "out", frame, [0], [1, 2])
    assert (tmp_path / "out" / "errors.md").read_text() == text_md
