"""The seed table over folds (rule seed_tables)."""

import json

import pytest

from ncdss_core.evaluation.tables import build_seed_tables, write_seed_tables


def rows(cam: float, icd: float, icd_crf: float) -> list[dict]:
    def row(variant, crf, miou):
        return {"variant": variant, "crf": crf, "images": 10, "miou": miou, "miou_strict": miou / 2,
                "coverage": 0.9, "iou": {}, "iou_strict": {}}
    return [row("cam", False, cam), row("icd", False, icd), row("icd", True, icd_crf)]


def test_rows_are_variant_and_crf_columns_folds_and_their_mean():
    text_csv, text_md = build_seed_tables({"0": rows(0.40, 0.50, 0.55), "1": rows(0.30, 0.46, 0.49)})
    assert "| seeds | CRF | fold0 | fold1 | mean |" in text_md
    assert "| cam | no | 40.00 | 30.00 | 35.00 |" in text_md
    assert "| icd | yes | 55.00 | 49.00 | 52.00 |" in text_md
    assert "| icd | no | 25.00 | 23.00 | 24.00 |" in text_md  # the strict table: miou / 2
    assert "icd,yes,1,10,0.490000,0.245000,0.900000" in text_csv.splitlines()
    assert "icd,yes,mean,,0.520000,0.260000,0.900000" in text_csv.splitlines()


def test_a_missing_fold_leaves_the_mean_empty():
    _, text_md = build_seed_tables({"0": rows(0.4, 0.5, 0.55), "1": rows(0.3, 0.46, 0.49)[:2]})
    assert "| icd | yes | 55.00 | – | – |" in text_md


def test_written_from_seed_eval_files(tmp_path):
    paths = {}
    for fold, values in (("0", (0.4, 0.5, 0.6)), ("2", (0.2, 0.3, 0.4))):
        paths[fold] = tmp_path / f"fold{fold}.json"
        paths[fold].write_text(json.dumps(rows(*values)))
    metrics = write_seed_tables(tmp_path / "out", paths)
    assert metrics == pytest.approx({"cam_miou": 0.3, "icd_crf_miou": 0.5, "icd_miou": 0.4})
    assert "| fold0 | fold2 | mean |" in (tmp_path / "out" / "results.md").read_text()
    assert (tmp_path / "out" / "results.csv").read_text().startswith("variant,crf,fold,images,miou")


def test_rows_keep_the_first_seen_order_and_a_missing_fold_reports_no_mean(tmp_path):
    paths = {}
    for fold, fold_rows in (("0", rows(0.4, 0.5, 0.6)[::-1]), ("1", rows(0.2, 0.3, 0.4)[:2])):
        paths[fold] = tmp_path / f"fold{fold}.json"
        paths[fold].write_text(json.dumps(fold_rows))
    metrics = write_seed_tables(tmp_path / "out", paths)
    assert metrics["icd_crf_miou"] is None and metrics["cam_miou"] == pytest.approx(0.3)
    keys = [line.split(",")[:2] for line in (tmp_path / "out" / "results.csv").read_text().splitlines()[1:]]
    assert list(dict.fromkeys(map(tuple, keys))) == [("icd", "yes"), ("icd", "no"), ("cam", "no")]
