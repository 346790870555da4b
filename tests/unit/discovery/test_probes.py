"""Base probes: one labelled prototype per (base-only image, base class), the labels from the base
labels of the run's supervision: the ICD seeds under weak supervision, never the masks."""

import numpy as np
import torch

from ncdss_core.data.files import write_label_png
from ncdss_core.data.labels import base_label_reader
from ncdss_core.discovery.probes import Probes, collect_probes, probe_image_ids, write_probes


class Features(torch.nn.Module):
    """A stand-in backbone: 4 feature channels at half resolution."""

    feature_channels = 4

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def features(self, x):
        return self.conv(x)


class MasklessDataset:
    """Images only: reading a ground-truth mask fails the test."""

    kind = "generated"

    def read_image(self, image_id, split="trainaug"):
        return np.random.default_rng(int(image_id[-1])).integers(0, 255, (20, 24, 3), dtype=np.uint8)

    def read_label(self, image_id, split="trainaug"):
        raise AssertionError("a ground-truth mask was read under weak supervision")


def test_weak_probes_take_their_labels_from_the_icd_seeds_and_never_read_a_mask(tmp_path):
    seeds = tmp_path / "labels"
    ids = [f"img{i}" for i in range(5)]
    for i, image_id in enumerate(ids):
        label = np.zeros((20, 24), dtype=np.uint8)
        label[:10, :12] = 6             # base class 6 (base label 1 on fold 0)
        label[10:, 12:] = 7 + (i % 2)   # base class 7 or 8 (base labels 2, 3)
        label[:5, 18:] = 1              # novel class 1 on fold 0: never a probe
        label[15:, :3] = 255
        write_label_png(seeds / f"{image_id}.png", label)
    reader = base_label_reader(MasklessDataset(), 0, "weak", seeds)
    probes = collect_probes(Features(), MasklessDataset().read_image, reader, ids, num_base=15, size=16,
                            per_class=2, seed=0)
    counts = dict(zip(*np.unique(probes.labels, return_counts=True)))
    assert counts == {1: 2, 2: 2, 3: 2}
    assert probes.vectors.shape == (6, 4)
    assert np.allclose(np.linalg.norm(probes.vectors, axis=1), 1.0, atol=1e-5)
    summary = write_probes(probes, tmp_path)
    assert summary["probes"] == 6 and summary["per_base_label"] == {"1": 2, "2": 2, "3": 2}
    again = Probes.load(tmp_path)
    assert again.ids == probes.ids and np.array_equal(again.labels, probes.labels)


def test_probe_images_are_the_base_only_images_that_base_training_labels(tmp_path):
    (tmp_path / "base.txt").write_text("a\nb\nc\n")
    (tmp_path / "base_train.txt").write_text("c\na\nd\n")
    assert probe_image_ids(tmp_path) == ["a", "c"]
