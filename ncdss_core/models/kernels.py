"""Two operations of the models with faster CPU kernels, the same numbers bit for bit.

PyTorch's CPU kernels for a contiguous (NCHW) tensor handle one channel plane at a time, and two of
them are slow where the models spend much of a training step; their channels-last kernels,
vectorised over channels, compute the same values in the same order:

- max pooling: on one core, a 3x3/2 pool of a 32x16x81x81 batch takes about 25 ms, the
  channels-last kernel about 3 ms. Both scan a window in the same order with the same rule (a later
  value wins when it is greater, or NaN): the same maxima and argmax indices. `MaxPool2d` pools a
  channels-last copy, returns a contiguous result and computes the gradient with torch's own
  backward kernel from the contiguous input and those indices.
- the gradient of bilinear upsampling: 9 ms for the 8x26x96x96 logits of a segmentation batch, 2 ms
  through the channels-last kernel (copies included). Both add each output pixel's four weighted
  contributions in raster order of the output. `upsample_bilinear` runs torch's forward as it is
  (there the two kernels differ in the last bit) and only its backward through the channels-last
  kernel.

What comes after either sees a contiguous tensor, as before. tests/unit/models/test_kernels.py
checks outputs, indices and gradients against torch's own operations, ties and NaN included.
Elsewhere (cuda, an input already channels-last) torch's operations run unchanged. Neither has
state: checkpoints do not change.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class _MaxPoolCPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):  # type: ignore[override]
        out, indices = torch.ops.aten.max_pool2d_with_indices(
            x.contiguous(memory_format=torch.channels_last), kernel, stride, padding, dilation, ceil_mode)
        indices = indices.contiguous()
        ctx.save_for_backward(x, indices)
        ctx.pool = (kernel, stride, padding, dilation, ceil_mode)
        return out.contiguous()

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, indices = ctx.saved_tensors
        kernel, stride, padding, dilation, ceil_mode = ctx.pool
        grad_input = torch.ops.aten.max_pool2d_with_indices_backward(
            grad.contiguous(), x, kernel, stride, padding, dilation, ceil_mode, indices)
        return grad_input, None, None, None, None, None


def _pair(value: int | tuple[int, ...]) -> list[int]:
    return [value, value] if isinstance(value, int) else list(value)


def _plain_cpu(x: torch.Tensor) -> bool:
    """A contiguous 4-d floating-point CPU tensor, not channels-last already."""
    return (x.device.type == "cpu" and x.dim() == 4 and x.is_floating_point() and x.is_contiguous()
            and not x.is_contiguous(memory_format=torch.channels_last))


class MaxPool2d(nn.MaxPool2d):
    """nn.MaxPool2d, its CPU forward through the channels-last kernel (see the module doc)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.return_indices or not _plain_cpu(x):
            return super().forward(x)
        stride = self.stride if self.stride is not None else self.kernel_size
        return _MaxPoolCPU.apply(x, _pair(self.kernel_size), _pair(stride), _pair(self.padding),
                                 _pair(self.dilation), bool(self.ceil_mode))


class _UpsampleCPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, size):  # type: ignore[override]
        ctx.sizes = (list(size), list(x.shape))
        return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        size, input_size = ctx.sizes
        grad_input = torch.ops.aten.upsample_bilinear2d_backward(
            grad.contiguous(memory_format=torch.channels_last), size, input_size, False)
        return grad_input.contiguous(), None


def upsample_bilinear(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """`F.interpolate(x, size, mode="bilinear", align_corners=False)`, its CPU gradient through the
    channels-last kernel (see the module doc)."""
    if torch.is_grad_enabled() and x.requires_grad and _plain_cpu(x):
        return _UpsampleCPU.apply(x, [int(s) for s in size])
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
