"""make rehearsal's data and overlays (benchmarks/rehearsal.py): the same images at VOC's size in the
VOC and the COCO-20^i layout, read back by the workflow's readers; the README's overlay verbatim
but for the paths; the per-image loop seconds read from a job's log."""

import numpy as np
import yaml

from benchmarks import rehearsal
from ncdss_core.config import read_yaml
from ncdss_core.data.datasets import open_dataset


def test_both_layouts_hold_the_same_images_at_voc_size(tmp_path):
    summary = rehearsal.write_dataset(tmp_path, 4, 2, seed=0)
    assert summary["images"] == 6 and 500 in (summary["widths"][1], summary["heights"][1])
    voc, coco = open_dataset("voc", tmp_path / "voc"), open_dataset("coco", tmp_path / "coco")
    for split in ("trainaug", "val"):
        assert voc.ids(split) == coco.ids(split)
        for image_id in voc.ids(split):
            image = voc.read_image(image_id, split)
            assert max(image.shape[:2]) == 500 and image.shape[0] != image.shape[1]
            assert np.array_equal(image, coco.read_image(image_id, split))
            label, coco_label = voc.read_label(image_id, split), coco.read_label(image_id, split)
            assert label.shape == image.shape[:2]
            for voc_class, coco_class in rehearsal.VOC_TO_COCO.items():  # renumbered, nothing else
                assert np.array_equal(label == voc_class, coco_label == coco_class)
            assert voc.annotation_labels(image_id) is not None


def test_the_overlays_are_the_readmes_but_for_the_paths(tmp_path):
    rehearsal.write_overlays(tmp_path)
    readme = rehearsal.readme_overlay()
    voc = yaml.safe_load((tmp_path / "voc.yaml").read_text())
    assert voc["dataset"].pop("root") == str(tmp_path / "voc")
    assert voc["weak"]["model"].pop("weights").endswith("vgg16.pth")
    assert voc["model"].pop("backbone_weights").endswith("resnet50.pth")
    readme["dataset"].pop("root"), readme["weak"]["model"].pop("weights"), readme["model"].pop("backbone_weights")
    assert voc == readme
    coco = yaml.safe_load((tmp_path / "coco.yaml").read_text())
    assert coco["dataset"]["kind"] == "coco" and coco["model"]["input_size"] == 512


def test_the_rehearsal_overlay_only_shortens_the_trainings():
    overlay = read_yaml(rehearsal.REPO / "config" / "rehearsal.yaml")
    assert overlay["compute"] == {"max_iterations_per_epoch": 1}
    assert set(overlay) == {"compute", "weak", "base", "finetune"}
    assert overlay["weak"] == {"train": {"epochs": 2}} and overlay["base"] == {"epochs": 2}
    assert set(overlay["finetune"]) == {"epochs", "reassign_epochs"}


def test_loop_seconds_sum_the_last_progress_line_of_each_loop(tmp_path):
    log = tmp_path / "job.log"
    log.write_text("02:37:09 INFO ncdss.crf: crf 6/9, elapsed 12s, ETA 6s\n"
                   "02:37:12 INFO ncdss.crf: crf 9/9, elapsed 14s, ETA 0s\n"
                   "02:38:00 INFO ncdss.evaluate: evaluate 24/24, elapsed 108s, ETA 0s\n"
                   "02:39:00 INFO ncdss.evaluate: evaluate 24/24, elapsed 100s, ETA 0s\n")
    assert rehearsal._loop_seconds(log) == 14 + 108 + 100
    assert rehearsal._loop_seconds(tmp_path / "missing.log") is None


def test_a_training_on_several_threads_counts_its_cpu_per_wall_second():
    assert rehearsal.cpu_per_wall(350.0, 200.0) == 1.75   # two threads, 1.75 cores busy
    assert rehearsal.cpu_per_wall(80.0, 100.0) == 1.0     # one thread on a shared machine
    assert rehearsal.cpu_per_wall(5.0, 0.0) == 1.0
