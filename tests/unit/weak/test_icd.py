import math

import numpy as np
import pytest
import torch
from config_defaults import section

from ncdss_core.weak import operators as layers
from ncdss_core.models.trunks import small_trunk, vgg16_trunk
from ncdss_core.weak.infer import ScoreStore, canvas_size, infer_image, load_model, save_model
from ncdss_core.weak.network import ICDNet
from ncdss_core.weak.trainer import ICDTrainData, TrainConfig, augment, build_icd_net, make_optimizer, train_icd

torch.set_num_threads(1)


def icd_config(**overrides) -> TrainConfig:
    """weak.model + weak.train of config.yaml (init resolved: no trunk file) with `overrides`."""
    return TrainConfig.from_params({**section("weak.model", init="random"), **section("weak.train"), **overrides})


def dense_sp_refine(s, y, sp):
    """Brute force SPRefine with one-hot assignment matrices, image by image (reference §3.5)."""
    n, k, h, w = s.shape
    out = torch.zeros_like(s)
    for i in range(n):
        si = (s[i] * y[i][:, None, None]).reshape(k, -1)
        spi = sp[i].reshape(-1)
        nsp = int(spi.max()) + 1
        a = torch.zeros(nsp, h * w, dtype=s.dtype)
        a[spi, torch.arange(h * w)] = 1
        size = a.sum(1).clamp(min=1e-5)
        votes = torch.sign(si) @ a.t()
        eligible = votes.max(0).values > 1e-5
        shat = si.clamp(min=0) / si.max(0, keepdim=True).values.clamp(min=1e-5)
        q = (shat @ a.t()) / size
        c = q.argmax(0)
        fg = torch.zeros(k, nsp, dtype=torch.bool)
        for j in range(nsp):
            fg[c[j], j] = bool(eligible[j]) and bool(y[i, c[j]] > 0)
        mu_p = (si.clamp(min=0) @ a.t()) / size
        mu_n = (si.clamp(max=0) @ a.t()) / size
        r = torch.where(fg, mu_p, mu_n)
        out[i] = (r @ a).reshape(k, h, w)
    return out


def test_sp_refine_scatter_equals_dense():
    g = torch.Generator().manual_seed(0)
    n, k, h, w = 3, 4, 7, 9
    s = torch.randn(n, k, h, w, generator=g, dtype=torch.float64)
    y = torch.tensor([[1, 0, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1]], dtype=torch.float64)
    sp = torch.randint(0, 6, (n, h, w), generator=g)
    sp[1] = torch.randint(0, 11, (h, w), generator=g)  # different superpixel counts per image
    got = layers.sp_refine(s, y, sp)
    want = dense_sp_refine(s, y, sp)
    torch.testing.assert_close(got, want)
    # piecewise constant per superpixel, zero on absent classes
    assert torch.all(got[0, 1:] <= 0)
    for j in sp[2].unique():
        vals = got[2, 0][sp[2] == j]
        assert torch.all(vals == vals[0])


def test_bottom_up_gradient_reaches_only_w_and_matches_closed_form():
    torch.manual_seed(0)
    n, c, k, h, w = 4, 6, 3, 5, 5
    feats = torch.randn(n, c, h, w, requires_grad=True)
    weight = torch.randn(k, c, requires_grad=True)
    y = torch.tensor([[1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]], dtype=torch.float32)
    scores = layers.bottom_up_scores(feats, weight)
    loss = layers.bottom_up_loss(scores, y, grad_scale=10.0)
    loss.backward()
    assert feats.grad is None  # detached: the objective never reaches the backbone
    # closed form: g_k = -(lambda / P) sum_{i single k} sum_p s_ik(p) f_i(p), chained through the norm, / N
    p = h * w
    with torch.no_grad():
        norm = torch.sqrt((weight ** 2).sum(1) + 1e-10)
        what = weight / norm[:, None]
        for kk in range(k):
            g = torch.zeros(c)
            for i in range(n):
                if y[i].sum() == 1 and y[i, kk] == 1:
                    f = feats[i].reshape(c, -1)
                    s = what[kk] @ f
                    g -= 10.0 / p * (f * s).sum(1)
            g /= n
            wk = weight[kk]
            grad = g / norm[kk] - wk * (wk @ g) / norm[kk] ** 3
            torch.testing.assert_close(weight.grad[kk], grad, rtol=1e-4, atol=1e-6)
    assert torch.all(weight.grad[2] == 0)  # class with no single-label image


def test_sign_rule_follows_cam():
    n, k, h, w = 2, 2, 4, 4
    s = torch.zeros(n, k, h, w)
    s[:, :, :2] = 1.0  # top half positive
    s[:, :, 2:] = -1.0
    cam = torch.zeros(n, k, h, w)
    cam[:, 0, :2] = 3.0  # class 0: CAM on the positive side
    cam[:, 1, 2:] = 3.0  # class 1: CAM on the negative side -> sign flips
    y = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    stat, present = layers.sign_statistics(s, cam, y)
    state = layers.update_sign_state(torch.zeros(k, 2), stat, present, 0.9)
    sg = layers.signs(state)
    assert sg.tolist() == [1.0, -1.0]
    torch.testing.assert_close(state[0], torch.tensor([0.3, 0.0]))
    # an absent class keeps its state (ties give +1)
    state2 = layers.update_sign_state(torch.zeros(k, 2), stat, torch.tensor([True, False]), 0.9)
    assert state2[1].tolist() == [0.0, 0.0] and layers.signs(state2)[1] == 1.0


def test_top_down_targets_and_loss_mask():
    r = torch.tensor([[[[2.0, 0.3, -0.1, -1.0]]]])
    t, m = layers.top_down_targets(r, 0.2)
    assert t.flatten().tolist() == [1, 1, 0, 0]
    assert m.flatten().tolist() == [1, 0, 0, 1]  # |0.15| and |0.1| fall inside the margin
    z = torch.zeros(1, 1, 1, 4, requires_grad=True)
    loss = layers.top_down_loss(z, t, m, torch.ones(1, 1), omega=1.0)
    loss.backward()
    assert z.grad.flatten()[1] == 0 and z.grad.flatten()[2] == 0 and z.grad.flatten()[0] < 0
    loss0 = layers.top_down_loss(z, t, m, torch.zeros(1, 1))
    assert float(loss0.detach()) == 0.0  # absent classes get no loss


def test_warmup_values():
    assert math.isclose(layers.warmup_weight(0, 661), 4.54e-5, rel_tol=1e-2)
    assert math.isclose(layers.warmup_weight(660, 661), 0.985, rel_tol=1e-3)
    assert layers.warmup_weight(661, 661) == 1.0


def test_backbones_output_stride_8():
    trunk = small_trunk(32, 256)
    nparams = sum(p.numel() for p in trunk.features.parameters())
    assert 1_000_000 <= nparams <= 2_000_000
    net = ICDNet(trunk, 5, dropout=0.5, head_norm=False)
    net.eval()
    out = net(torch.zeros(1, 3, 113, 97))
    assert out["cam"].shape == (1, 5, 15, 13) and out["top_down"].shape == (1, 5, 15, 13)
    vgg = ICDNet(vgg16_trunk("", 1024), 3, dropout=0.5, head_norm=False).eval()
    with torch.no_grad():
        assert vgg(torch.zeros(1, 3, 65, 65))["cam"].shape == (1, 3, 9, 9)
    assert vgg.feat_bn.weight.requires_grad is False
    torch.testing.assert_close(vgg.fc6_ft.weight, vgg.fc6.weight)


def test_param_groups_lr_mult_and_decay():
    net = ICDNet(small_trunk(8, 16), 3, dropout=0.5, head_norm=False)
    groups = net.param_groups(0.1, 5e-4)
    names = {id(p): n for n, p in net.named_parameters()}
    for g in groups:
        for p in g["params"]:
            name = names[id(p)]
            assert g["lr_mult"] == (10.0 if name in ("fc8.weight", "fc8.bias", "conv_ft.weight") else 1.0)
            assert (g["weight_decay"] > 0) == (p.ndim > 1)


def test_augment_keeps_superpixels_aligned():
    rgb = np.zeros((30, 50, 3), np.uint8)
    rgb[:, 25:] = 255
    sp = np.zeros((30, 50), np.int32)
    sp[:, 25:] = 1
    out_rgb, out_sp = augment(rgb, sp, 41, (0.5, 1.0, 1.5), True, np.random.default_rng(3))
    assert out_rgb.shape == (41, 41, 3) and out_sp.shape == (41, 41)
    real = out_sp <= 1
    assert np.all((out_rgb[..., 0][real] == 255) == (out_sp[real] == 1))


def _toy_data(n=8, size=41):
    rng = np.random.default_rng(0)
    images, sps, labels = {}, {}, []
    for i in range(n):
        img = rng.integers(0, 60, (size, size + 6, 3)).astype(np.uint8)
        cls = i % 2
        img[10:30, 10:30, cls] = 250
        sp = np.zeros((size, size + 6), np.int32)
        sp[10:30, 10:30] = 1
        images[f"i{i}"], sps[f"i{i}"] = img, sp
        labels.append([1.0, 0.0] if cls == 0 else [0.0, 1.0])
    return list(images), np.array(labels, np.float32), images.__getitem__, sps.__getitem__


def test_training_is_deterministic_and_finite(tmp_path):
    ids, labels, read_img, read_sp = _toy_data()
    cfg = icd_config(width=4, head_channels=8, epochs=2, batch_size=4, crop=41, lr=0.01, warmup_epochs=2.0,
                     optimizer="sgd", lr_mult=10.0, dropout=0.5, head_norm=False)

    def run():
        torch.manual_seed(1)
        model = build_icd_net(cfg, 2)
        hist = train_icd(model, ICDTrainData(ids, labels, read_img, read_sp, cfg, seed=5), cfg, seed=5, amp=False)
        return model, hist

    m1, h1 = run()
    m2, h2 = run()
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]
    assert strip(h1) == strip(h2)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    assert int(m1.step) == 4 and all(np.isfinite(h["loss_cls"]) for h in h1)
    assert h1[0]["omega"] < 1.0 and h1[1]["omega"] == 1.0
    # checkpoint round trip and inference shapes
    save_model(tmp_path / "model.pt", m1, cfg, [3, 7], h1)
    model, classes, _ = load_model(tmp_path / "model.pt")
    assert classes == [3, 7] and torch.equal(model.sign_state, m1.sign_state)
    scores = infer_image(model, read_img("i0"), [1])
    g = (canvas_size(41, 47) - 1) // 8 + 1
    assert scores["icd"].shape == (1, g, g) and scores["size"] == 49
    with ScoreStore(tmp_path / "s.h5", "w") as store:
        store.write("i0", scores, [7])
    with ScoreStore(tmp_path / "s.h5") as store:
        back = store.read("i0")
    assert back["classes"] == [7] and np.array_equal(back["cam"], scores["cam"])


def test_crop_must_be_stride_aligned():
    ids, labels, read_img, read_sp = _toy_data(2)
    with pytest.raises(ValueError):
        ICDTrainData(ids, labels, read_img, read_sp, icd_config(crop=40), seed=0)


def test_head_norm_copies_and_adam_trains():
    ids, labels, read_img, read_sp = _toy_data(4)
    cfg = icd_config(width=4, head_channels=8, epochs=1, batch_size=4, crop=41, optimizer="adam", lr=1e-3,
                     head_norm=True, lr_mult=1.0)
    model = build_icd_net(cfg, 2)
    assert isinstance(model.norm6, torch.nn.BatchNorm2d) and isinstance(model.norm7_ft, torch.nn.BatchNorm2d)
    assert all(g["lr_mult"] == 1.0 for g in model.param_groups(1.0, 0.0))
    before = model.fc6.weight.detach().clone()
    train_icd(model, ICDTrainData(ids, labels, read_img, read_sp, cfg, seed=0), cfg, seed=0, amp=False)
    assert not torch.equal(before, model.fc6.weight)
    with pytest.raises(ValueError):
        make_optimizer(model, icd_config(optimizer="rmsprop"))


def test_config_takes_every_key_explicitly_and_refuses_unknown_ones():
    with pytest.raises(ValueError, match="weak.model/weak.train: unknown key.*lr_multiplier"):
        icd_config(lr_multiplier=10.0)
    params = {**section("weak.model"), **section("weak.train")}
    del params["crop"]
    with pytest.raises(ValueError, match="missing key.*crop"):
        TrainConfig.from_params(params)
    assert icd_config().dropout == section("weak.model")["dropout"]


def test_base_mode_never_sees_novel_labels():
    from ncdss_core.weak.images import excluded_classes, label_matrix, output_classes, present_channels

    classes = output_classes("voc", "base", 0)  # fold 0: novel 1..5
    assert classes == list(range(6, 21))
    labels = {"a": [1, 7], "b": [2, 3], "c": [20]}
    ids, y = label_matrix(["a", "b", "c"], labels, classes)
    assert ids == ["a", "c"]  # b holds only novel classes: excluded
    assert y.shape == (2, 15) and y[0].tolist() == [0, 1] + [0] * 13 and y[1, -1] == 1 and y.sum() == 2
    assert present_channels([1, 7, 20], classes) == ([1, 14], [7, 20])
    assert excluded_classes("voc", "base", 0) == [1, 2, 3, 4, 5]
    assert output_classes("voc", "all", "all") == list(range(1, 21)) and excluded_classes("voc", "all", "all") == []
