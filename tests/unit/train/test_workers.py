"""Data workers change nothing: a training with 0 and with 2 DataLoader worker processes gives the
same bytes (weights, checkpoint files), draws the same numbers from the main process's global
RNGs (dropout) and leaves the loader's shuffling generator (part of the resume state) where a
worker-less run leaves it."""

import numpy as np
import pytest
import torch
from config_defaults import section
from ncdss_fixtures import base_run, finetune_inputs, finetune_run, icd_toy_data, make_voc_dataset

from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import write_label_png
from ncdss_core.discovery.base_training import BaseInputs, train_base_model
from ncdss_core.discovery.finetuning import train_finetune_model
from ncdss_core.train.resume import ResumeFile
from ncdss_core.weak.trainer import build_icd_net, train_icd

torch.set_num_threads(1)
MODEL = section("model", input_size=32, widths=[8, 8, 16, 16], head_channels=8, atrous_rates=[1, 2, 3])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return open_dataset("generated", make_voc_dataset(tmp_path_factory.mktemp("voc"), n_train=20, n_val=2))


def _global_rngs():
    return torch.get_rng_state(), np.random.get_state()[1].copy()


def _same_rngs(a, b):
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def _base_run(dataset, out, workers):
    ids = list(dataset.ids("trainaug"))
    base = section("base", epochs=2, batch_size=4, decay_epochs=[0], selection="best")
    np.random.seed(0)
    train_base_model(dataset, base_run({**MODEL, "workers": workers}, base, 5), BaseInputs(ids[4:], ids[:4], None),
                     out, "cpu", None)
    return _global_rngs()


def _eums_run(dataset, out, workers, classes="all"):
    """EUMS: three zipped streams, the shorter cycled, the strong view, teacher and reassignment
    (`classes` novel: the unclean stream carries its pseudo-labels too)."""
    ids = list(dataset.ids("trainaug"))
    pseudo = out.parent / "pseudo"
    for image_id in ids[12:]:
        label = dataset.read_label(image_id)
        write_label_png(pseudo / f"{image_id}.png", np.where(label == 255, 0, np.minimum(label, 20)))
    finetune = section("finetune", epochs=2, batch_size=2, decay_epochs=[0], reassign_epochs=[1],
                       selection="last", self_training_classes=classes)
    np.random.seed(0)
    train_finetune_model(dataset, finetune_run("eums", 5, {**MODEL, "workers": workers}, finetune, 3),
                         finetune_inputs(ids[:12], ids[12:], [], pseudo, clean_ids=ids[12:16], unclean_ids=ids[16:]),
                         out, "cpu", None)
    return _global_rngs()


def _same_model_dirs(a, b, files):
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    state_a = torch.load(a / "model.pt", weights_only=False)["state_dict"]
    state_b = torch.load(b / "model.pt", weights_only=False)["state_dict"]
    assert state_a.keys() == state_b.keys()
    for key, value in state_a.items():
        assert torch.equal(value, state_b[key]), key


@pytest.mark.parametrize("run, files", [
    (_base_run, ("model.pt", "last.pt", "history.json")),
    (_eums_run, ("model.pt", "last.pt", "history.json", "clean_final.txt", "moved_to_unclean.txt")),
    (lambda *args: _eums_run(*args, classes="novel"), ("model.pt", "last.pt", "history.json")),
], ids=["base", "eums", "eums_novel_targets"])
def test_a_segmentation_training_gives_the_same_bytes_with_0_and_2_workers(dataset, tmp_path, run, files):
    rng_0 = run(dataset, tmp_path / "w0" / "model", 0)
    rng_2 = run(dataset, tmp_path / "w2" / "model", 2)
    _same_model_dirs(tmp_path / "w0" / "model", tmp_path / "w2" / "model", files)
    assert _same_rngs(rng_0, rng_2)  # the main process drew exactly the same numbers


def _icd_data(workers):
    return icd_toy_data(workers)


class _KeepResume(ResumeFile):
    """A resume file whose last saved state stays readable after the training."""

    def remove(self):
        pass


def test_icd_training_and_its_resume_state_are_the_same_with_0_and_2_workers(tmp_path):
    runs = {}
    for workers in (0, 2):
        data, cfg = _icd_data(workers)
        torch.manual_seed(1)
        model = build_icd_net(cfg, 2)
        resume = _KeepResume(tmp_path / f"w{workers}.resume", "key")
        history = train_icd(model, data, cfg, seed=5, resume=resume, amp=False)
        runs[workers] = model.state_dict(), history, resume.load(), _global_rngs()
    (state_0, history_0, saved_0, rng_0), (state_2, history_2, saved_2, rng_2) = runs[0], runs[2]
    for key, value in state_0.items():
        assert torch.equal(value, state_2[key]), key
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]
    assert strip(history_0) == strip(history_2)
    # the shuffling generator, which also gives each worker pool its base seed, saved after epoch 2
    assert torch.equal(saved_0["parts"]["batches"]["generator"], saved_2["parts"]["batches"]["generator"])
    assert torch.equal(saved_0["rng"]["torch"], saved_2["rng"]["torch"])
    assert _same_rngs(rng_0, rng_2)


def test_novel_self_training_targets_change_what_eums_learns(dataset, tmp_path):
    _eums_run(dataset, tmp_path / "all" / "model", 0)
    _eums_run(dataset, tmp_path / "novel" / "model", 0, classes="novel")
    last = {name: torch.load(tmp_path / name / "model" / "last.pt", weights_only=False)["state_dict"]
            for name in ("all", "novel")}
    assert any(not torch.equal(value, last["novel"][key]) for key, value in last["all"].items())
