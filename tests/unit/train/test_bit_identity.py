"""The speed-ups of the training and inference stages change no number: each is compared here
with the code path it replaced, on the same inputs, down to the last bit.

- decoded images and label maps kept across epochs (data.decoded) vs decoding every time;
- deterministic mode without its NaN fill of new tensors (runtime.seed_everything) vs with it;
- models.kernels (max pooling, the upsampling's gradient) in the models vs torch's own;
- base removal's one forward pass when the features come from the base model vs two passes;
- predict_logits under inference_mode vs the model under no_grad; evaluation's class map vs argmax(0);
- normalize_image's table of the 256 levels vs its formula.
"""

import copy

import numpy as np
import pytest
import torch
from config_defaults import section
from ncdss_fixtures import base_run, finetune_inputs, finetune_run, icd_toy_data, make_voc_dataset
from torch import nn

import ncdss_core.discovery.finetuning as finetuning
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.decoded import DecodedArrays
from ncdss_core.data.files import read_label_png, write_label_png
from ncdss_core.data.labels import image_reader, pseudo_label_reader, truth_reader
from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.data.transforms import Jitter
from ncdss_core.discovery.base_removal import remove_base_shard
from ncdss_core.discovery.base_training import BaseInputs, train_base_model
from ncdss_core.discovery.finetuning import train_finetune_model
from ncdss_core.discovery.settings import BaseRemovalSettings
from ncdss_core.discovery.training import new_model
from ncdss_core.evaluation.evaluate import predict_logits
from ncdss_core.models.kernels import MaxPool2d
from ncdss_core.models.segmodel import ModelSettings
from ncdss_core.runtime import seed_everything
from ncdss_core.weak.trainer import TrainConfig, build_icd_net, train_icd

torch.set_num_threads(1)
MODEL = section("model", input_size=32, widths=[8, 8, 16, 16], head_channels=8, atrous_rates=[1, 2, 3])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return open_dataset("generated", make_voc_dataset(tmp_path_factory.mktemp("voc"), n_train=20, n_val=2))


@pytest.fixture
def deterministic_state():
    """Put back torch's deterministic mode and its fill flag after a test that changes them."""
    enabled = torch.are_deterministic_algorithms_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    yield
    torch.use_deterministic_algorithms(enabled)
    torch.utils.deterministic.fill_uninitialized_memory = fill


def _pseudo_labels(dataset, directory, ids):
    for image_id in ids:
        label = dataset.read_label(image_id)
        write_label_png(directory / f"{image_id}.png", np.where(label == 255, 0, np.minimum(label, 20)))
    return directory


def _eums(dataset, out, seed=3):
    """Two epochs of EUMS: three streams (the shorter cycled), strong view, teacher, reassignment."""
    ids = list(dataset.ids("trainaug"))
    pseudo = _pseudo_labels(dataset, out.parent / "pseudo", ids[12:])
    finetune = section("finetune", epochs=2, batch_size=2, decay_epochs=[0], reassign_epochs=[1], selection="last")
    np.random.seed(0)
    train_finetune_model(dataset, finetune_run("eums", 5, MODEL, finetune, seed),
                         finetune_inputs(ids[:12], ids[12:], [], pseudo, clean_ids=ids[12:16], unclean_ids=ids[16:]),
                         out, "cpu", None)
    return torch.load(out / "last.pt", weights_only=False)["state_dict"]


def _icd(decoded_limit=None, seed=5):
    data, cfg = icd_toy_data(0, seed=seed, second_region=True)
    if decoded_limit is not None:
        data.decoded = DecodedArrays(decoded_limit)
    torch.manual_seed(1)
    model = build_icd_net(cfg, 2)
    train_icd(model, data, cfg, seed=seed, amp=False)
    return model.state_dict(), data


def _same_state(a, b):
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert torch.equal(value, b[key]), key


# --- decoded arrays kept across epochs ------------------------------------------------------------

def test_kept_arrays_are_the_readers_own_and_read_only(dataset, tmp_path):
    pseudo = _pseudo_labels(dataset, tmp_path / "pseudo", dataset.ids("trainaug"))
    store = DecodedArrays()
    images, truth, pseudo_reader = image_reader(dataset), truth_reader(dataset, 0), pseudo_label_reader(pseudo)
    image_id = dataset.ids("trainaug")[0]
    first = store.read(images, image_id)
    assert store.read(images, image_id) is first and not first.flags.writeable
    assert np.array_equal(first, images(image_id))
    # the same id through two readers (a clean image moved to the unclean stream): each its own map
    assert np.array_equal(store.read(truth, image_id), truth(image_id))
    assert np.array_equal(store.read(pseudo_reader, image_id), read_label_png(pseudo / f"{image_id}.png"))
    assert len(store) == 3
    full = DecodedArrays(limit=first.nbytes + 1)
    full.read(images, image_id)
    full.read(images, dataset.ids("trainaug")[1])  # over the limit: read, not kept
    assert len(full) == 1 and full.held == first.nbytes
    assert len(copy.deepcopy(full)) == 0  # a pickled copy (a spawned worker) starts empty


def test_samples_are_the_same_with_kept_and_freshly_decoded_arrays(dataset, tmp_path):
    ids = list(dataset.ids("trainaug"))
    pseudo = pseudo_label_reader(_pseudo_labels(dataset, tmp_path / "pseudo", ids))
    make = lambda limit: SegTrainSet(ids, image_reader(dataset), truth_reader(dataset, 0), 32, 7, 2,  # noqa: E731
                                     strong=Jitter(0.5, 0.5, 0.5, 0.1), read_pseudo=pseudo,
                                     decoded=DecodedArrays(limit))
    kept, fresh = make(1 << 30), make(0)
    for epoch in range(3):
        kept.epoch = fresh.epoch = epoch
        for index in range(len(ids)):
            a, b = kept[index], fresh[index]
            for key in ("image", "label", "pseudo", "strong"):
                assert torch.equal(a[key], b[key]), (epoch, index, key)
    assert len(kept.decoded) == 3 * len(ids) and len(fresh.decoded) == 0


def test_eums_training_is_the_same_with_and_without_kept_arrays(dataset, tmp_path, monkeypatch):
    kept = _eums(dataset, tmp_path / "kept" / "model")
    monkeypatch.setattr(finetuning, "DecodedArrays", lambda: DecodedArrays(limit=0))
    _same_state(kept, _eums(dataset, tmp_path / "fresh" / "model"))


def test_icd_training_is_the_same_with_and_without_kept_arrays():
    kept, data = _icd()
    fresh, none = _icd(decoded_limit=0)
    assert len(data.decoded) == 24 and len(none.decoded) == 0
    _same_state(kept, fresh)


# --- deterministic mode without the NaN fill ----------------------------------------------------------

def test_trainings_are_the_same_with_and_without_the_nan_fill(dataset, tmp_path, deterministic_state):
    seed_everything(0)  # as every network job: deterministic algorithms on, fill off
    assert torch.are_deterministic_algorithms_enabled() and not torch.utils.deterministic.fill_uninitialized_memory
    unfilled = _eums(dataset, tmp_path / "unfilled" / "model"), _icd()[0]
    torch.utils.deterministic.fill_uninitialized_memory = True
    filled = _eums(dataset, tmp_path / "filled" / "model"), _icd()[0]
    for a, b in zip(unfilled, filled):
        _same_state(a, b)


# --- max pooling and upsampling ------------------------------------------------------------------------

def _torch_pools(model):
    """The same model with nn.MaxPool2d wherever it has models.kernels.MaxPool2d."""
    model = copy.deepcopy(model)
    swapped = 0
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, MaxPool2d):
                setattr(module, name, nn.MaxPool2d(child.kernel_size, child.stride, child.padding))
                swapped += 1
    assert swapped
    return model


def _train_steps(model, batches, loss_of):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    torch.manual_seed(4)  # dropout draws
    for x in batches:
        loss = loss_of(model(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.state_dict()


def test_segmentation_and_icd_models_train_the_same_with_torch_kernels(monkeypatch):
    import ncdss_core.models.segmodel as segmodel

    g = torch.Generator().manual_seed(0)
    seg = new_model(ModelSettings.from_params(MODEL), 6, 0)
    seg_batches = [torch.randn(4, 3, 32, 32, generator=g) for _ in range(3)]
    labels = torch.randint(0, 6, (4, 32, 32), generator=g)
    seg_loss = lambda out: torch.nn.functional.cross_entropy(out, labels)  # noqa: E731
    ours = _train_steps(copy.deepcopy(seg), seg_batches, seg_loss)
    monkeypatch.setattr(segmodel, "upsample_bilinear", lambda x, size: torch.nn.functional.interpolate(
        x, size=tuple(size), mode="bilinear", align_corners=False))
    _same_state(ours, _train_steps(_torch_pools(seg), seg_batches, seg_loss))
    cfg = TrainConfig.from_params({**section("weak.model", init="random", width=4, head_channels=8),
                                   **section("weak.train")})
    icd = build_icd_net(cfg, 3)
    icd_batches = [torch.randn(4, 3, 41, 41, generator=g) for _ in range(3)]
    icd_loss = lambda out: out["cam"].square().mean() + out["top_down"].abs().mean()  # noqa: E731
    _same_state(_train_steps(copy.deepcopy(icd), icd_batches, icd_loss),
                _train_steps(_torch_pools(icd), icd_batches, icd_loss))


# --- inference ------------------------------------------------------------------------------------

def _train_base(dataset, out):
    ids = list(dataset.ids("trainaug"))
    train_base_model(dataset, base_run(MODEL, section("base", epochs=1, batch_size=4, decay_epochs=[0]), 1),
                     BaseInputs(ids[4:], ids[:4], None), out, "cpu", None)
    return torch.load(out / "model.pt", weights_only=False)


def test_base_removal_in_one_pass_gives_the_two_pass_outputs(dataset, tmp_path):
    from ncdss_core.discovery.training import read_model

    _train_base(dataset, tmp_path / "base")
    base = read_model(tmp_path / "base" / "model.pt")
    ids = list(dataset.ids("trainaug"))
    settings = BaseRemovalSettings(0.5, 0.001, "base")
    saliency = dataset.root / "saliency_supervised_model"
    one = remove_base_shard(base, base, dataset, ids, saliency, tmp_path / "one", 32, settings)
    # a distinct copy of the model as the feature model: the second pass, as the code did before
    two = remove_base_shard(base, copy.deepcopy(base), dataset, ids, saliency, tmp_path / "two", 32, settings)
    assert one == two and one["kept"] >= 3
    for folder in ("high_base", "novel"):
        for path in sorted((tmp_path / "one" / folder).iterdir()):
            assert path.read_bytes() == (tmp_path / "two" / folder / path.name).read_bytes(), path
    with np.load(tmp_path / "one" / "prototypes.npz") as a, np.load(tmp_path / "two" / "prototypes.npz") as b:
        assert np.array_equal(a["ids"], b["ids"]) and np.array_equal(a["vectors"], b["vectors"])


def test_predict_logits_in_inference_mode_gives_the_no_grad_logits(dataset):
    model = new_model(ModelSettings.from_params(MODEL), 6, 0).eval()
    image = dataset.read_image(dataset.ids("val")[0], "val")
    from ncdss_core.data.transforms import val_image

    with torch.no_grad():
        expected = torch.nn.functional.interpolate(model(val_image(image, 32).unsqueeze(0)), size=image.shape[:2],
                                                   mode="bilinear", align_corners=False)[0]
    assert torch.equal(predict_logits(model, image, 32, image.shape[:2]), expected)


def test_class_map_is_the_argmax_over_classes_ties_and_nan_included():
    from ncdss_core.evaluation.evaluate import class_map

    g = torch.Generator().manual_seed(0)
    for shape in ((26, 96, 96), (16, 37, 53), (1, 4, 4)):
        logits = torch.randint(0, 3, shape, generator=g).float()  # ties everywhere
        logits.view(-1)[torch.randint(0, logits.numel(), (9,), generator=g)] = float("nan")
        assert np.array_equal(class_map(logits), logits.argmax(0).numpy())
        noisy = torch.randn(shape, generator=g)
        assert np.array_equal(class_map(noisy), noisy.argmax(0).numpy())


def test_normalised_images_are_the_formula_for_every_level_of_every_channel():
    from ncdss_core.data.transforms import _MEAN, _STD, normalize_image

    rows, columns = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8), indexing="ij")
    every = np.stack([rows, columns, rows[::-1]], axis=-1)  # (256, 256, 3): each channel takes every level
    rng = np.random.default_rng(0)
    for image in (every, rng.integers(0, 256, (37, 53, 3), dtype=np.uint8), every[::3, ::-2]):  # and a strided view
        formula = (image.astype(np.float32) / 255.0 - _MEAN) / _STD
        expected = torch.from_numpy(np.ascontiguousarray(formula.transpose(2, 0, 1)))
        result = normalize_image(image)
        assert torch.equal(result, expected) and result.is_contiguous() and result.dtype == torch.float32
