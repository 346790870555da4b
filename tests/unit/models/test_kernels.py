"""models.kernels gives torch's own numbers bit for bit: MaxPool2d nn.MaxPool2d's outputs, argmax
and gradients, upsample_bilinear F.interpolate's outputs and gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ncdss_core.models.kernels import MaxPool2d, upsample_bilinear


def _input(shape, seed, nan=False):
    g = torch.Generator().manual_seed(seed)
    # ReLU output with many exact ties (zeros and repeated small integers), as after a ReLU
    x = torch.relu(torch.randint(-3, 4, shape, generator=g).float() + (torch.rand(shape, generator=g) < 0.3) * 0.5)
    if nan:
        x.view(-1)[torch.randint(0, x.numel(), (7,), generator=g)] = float("nan")
    return x


@pytest.mark.parametrize("shape, args", [
    ((4, 16, 81, 81), (3, 2, 1)),   # the ICD trunk's pools
    ((2, 8, 48, 47), (3, 2, 1)),    # the ResNet stem's, odd width
    ((3, 5, 11, 11), (3, 1, 1)),    # ICD's pool5
    ((2, 3, 10, 9), (2, None, 0)),  # stride = kernel
])
@pytest.mark.parametrize("nan", [False, True])
def test_outputs_indices_and_gradients_are_those_of_nn_maxpool(shape, args, nan):
    kernel, stride, padding = args
    ours, theirs = MaxPool2d(kernel, stride, padding), nn.MaxPool2d(kernel, stride, padding)
    x = _input(shape, 0, nan)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a, out_b = ours(a), theirs(b)
    assert torch.equal(out_a.nan_to_num(-1.0), out_b.nan_to_num(-1.0))
    assert out_a.is_contiguous() and out_a.stride() == out_b.stride()
    _, indices = F.max_pool2d(x, kernel, stride, padding, return_indices=True)
    grad = torch.randn(out_b.shape, generator=torch.Generator().manual_seed(1))
    out_a.backward(grad)
    out_b.backward(grad)
    assert torch.equal(a.grad, b.grad)
    assert a.grad.is_contiguous()
    # the gradient lands exactly on torch's argmax (ties resolved the same way)
    routed = torch.zeros_like(x).view(*x.shape[:2], -1).scatter_add_(2, indices.view(*x.shape[:2], -1),
                                                                      grad.view(*x.shape[:2], -1))
    assert torch.equal(a.grad, routed.view_as(x))


def test_no_grad_inference_and_fallbacks_match():
    pool = MaxPool2d(3, 2, 1)
    x = _input((2, 4, 17, 17), 3)
    with torch.inference_mode():
        assert torch.equal(pool(x), F.max_pool2d(x, 3, 2, 1))
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(pool(channels_last), F.max_pool2d(channels_last, 3, 2, 1))
    assert torch.equal(pool(x[0]), F.max_pool2d(x[0], 3, 2, 1))  # unbatched
    assert pool.state_dict() == {}


def test_a_network_trains_to_the_same_weights_with_either_pool():
    def net(pool):
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), pool(3, 2, 1),
                             nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True), pool(3, 2, 1),
                             nn.Conv2d(8, 2, 1))
    weights = []
    for pool in (nn.MaxPool2d, MaxPool2d):
        model = net(pool)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        g = torch.Generator().manual_seed(2)
        for _ in range(3):
            x = torch.randn(4, 3, 33, 35, generator=g)
            loss = model(x).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        weights.append(model.state_dict())
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key


@pytest.mark.parametrize("shape, size", [
    ((8, 26, 12, 12), (96, 96)),   # the default model's logits: k 10 over-clustering
    ((8, 16, 12, 12), (96, 96)),   # the base model's
    ((8, 21, 12, 12), (96, 96)),   # k 5
    ((3, 7, 9, 11), (70, 85)),     # odd channels, a non-integer ratio
    ((2, 33, 5, 5), (5, 5)),       # no change of size
    ((4, 64, 1, 1), (12, 12)),     # ASPP's pooling branch
])
def test_upsampling_outputs_and_gradients_are_those_of_interpolate(shape, size):
    g = torch.Generator().manual_seed(shape[1])
    x = torch.randn(shape, generator=g)
    grad = torch.randn((shape[0], shape[1], *size), generator=g)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a = upsample_bilinear(a, size)
    out_b = F.interpolate(b, size=size, mode="bilinear", align_corners=False)
    assert torch.equal(out_a, out_b) and out_a.is_contiguous()
    out_a.backward(grad)
    out_b.backward(grad)
    assert torch.equal(a.grad, b.grad) and a.grad.is_contiguous()


def test_upsampling_without_gradients_is_interpolate():
    x = torch.randn(2, 5, 6, 6)
    with torch.no_grad():
        assert torch.equal(upsample_bilinear(x, (24, 24)), F.interpolate(x, size=(24, 24), mode="bilinear",
                                                                         align_corners=False))
