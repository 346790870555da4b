"""Report figures: what the training-curve panel plots for each stage's history."""
import json
import math

import matplotlib.pyplot as plt
import numpy as np

from ncdss_core.evaluation import report


def test_epoch_loss_reads_segmentation_and_icd_records():
    assert report.epoch_loss({"loss": 0.5}) == 0.5
    # ICD: classification + top-down; the negative bottom-up objective is left out
    assert report.epoch_loss({"loss_cls": 4.0, "loss_td": 0.25, "loss_bu": -280.0}) == 4.25
    assert math.isnan(report.epoch_loss({"lr": 0.1}))


def test_training_curves_plot_icd_and_keep_one_colour_per_stage(tmp_path, monkeypatch):
    icd = [{"epoch": e, "loss_cls": 5.0 - e, "loss_td": 0.2, "loss_bu": -100.0} for e in range(3)]
    base = [{"epoch": e, "loss": 1.0 / (e + 1), "select_score": 0.1 * e} for e in range(4)]
    (tmp_path / "icd.json").write_text(json.dumps(icd))
    (tmp_path / "base.json").write_text(json.dumps({"epochs": base}))
    captured = {}

    def keep(fig, out):
        captured["fig"] = fig
        return out

    monkeypatch.setattr(report, "_save", keep)
    report.training_curves({"ICD": tmp_path / "icd.json", "base": tmp_path / "base.json"}, tmp_path / "c.png")
    left, right = captured["fig"].axes
    lines = {line.get_label(): line for line in left.get_lines()}
    assert np.allclose(lines["ICD"].get_ydata(), [5.2, 4.2, 3.2])
    assert np.allclose(lines["base"].get_ydata(), [1.0, 0.5, 1 / 3, 0.25])
    (score_line,) = right.get_lines()  # only base records a selection score
    assert score_line.get_label() == "base"
    assert score_line.get_color() == lines["base"].get_color() != lines["ICD"].get_color()
    plt.close(captured["fig"])


def test_example_panels_read_each_image_from_the_shard_that_holds_it(tmp_path):
    from ncdss_core.data.files import write_label_png

    shards = []
    for stage in ("seeds", "crf"):
        for variant in ("cam", "icd"):
            for shard in ("000", "001"):
                directory = tmp_path / stage / variant / shard
                directory.mkdir(parents=True)
                shards.append(directory)
    write_label_png(tmp_path / "seeds/icd/001/x.png", np.full((2, 3), 4, np.uint8))
    write_label_png(tmp_path / "crf/icd/000/x.png", np.full((2, 3), 9, np.uint8))
    assert report.seed_shards(shards, "seeds", "icd") == [tmp_path / "seeds/icd/000", tmp_path / "seeds/icd/001"]
    seeds = report.shard_label_reader(report.seed_shards(shards, "seeds", "icd"))
    crf = report.shard_label_reader(report.seed_shards(shards, "crf", "icd"))
    assert seeds("x").tolist() == [[4, 4, 4]] * 2 and crf("x").tolist() == [[9, 9, 9]] * 2
    assert seeds("y") is None
    assert report.shard_label_reader(report.seed_shards(shards, "seeds", "cam"))("x") is None
