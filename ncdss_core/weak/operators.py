"""The ICD operators (reference icd.md §3.4-3.6) as pure functions of tensors.

Shapes: N images, K classes, P = h*w feature cells. `y` is the (N, K) multi-hot float label.
None of these allocate dense (image, superpixel, cell) one-hots: superpixel statistics go through
`scatter_add` over a flat (image, superpixel) index.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EPS = 1e-5


def normalize_rows(weight: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """w / sqrt(|w|^2 + eps), MXNet's instance-mode L2 normalisation."""
    return weight / torch.sqrt((weight * weight).sum(1, keepdim=True) + eps)


def bottom_up_scores(features: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """s = normalize(W) . sg[F]: (N, C, h, w) x (K, C) -> (N, K, h, w).

    The features are detached: the bottom-up objective is unbounded below in them (through them it
    drives the loss to NaN), so it trains W alone.
    """
    return torch.einsum("nchw,kc->nkhw", features.detach(), normalize_rows(weight))


def single_label_mask(y: torch.Tensor) -> torch.Tensor:
    """1 for images with at most one label (sum y < 1.001), else 0; shape (N, 1)."""
    return (y.sum(1, keepdim=True) < 1.001).to(y.dtype)


def bottom_up_loss(scores: torch.Tensor, y: torch.Tensor, grad_scale: float = 10.0) -> torch.Tensor:
    """L_bu / N = -(lambda / (2 P N)) sum over single-label images of s_{k(i)}(p)^2 (§3.4).

    Minimising it is Oja's rule: W_k tends to the leading eigenvector of the class-k second moment of
    the (BN-normalised) features of single-label class-k images.
    """
    n, _, h, w = scores.shape
    mask = y * single_label_mask(y)  # (N, K): one-hot on single-label images, 0 otherwise
    energy = (scores * scores).sum((2, 3))  # (N, K)
    return -grad_scale / (2.0 * h * w * n) * (mask * energy).sum()


@torch.no_grad()
def sign_statistics(scores: torch.Tensor, cam: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch statistic m_k = (m+, m-) of §3.5 and the mask of classes present in the batch.

    c+_ik = mean of ReLU(CAM) over the cells where s_ik > 0 (c- likewise where s_ik < 0);
    m_k averages c over all images holding class k (multi-label images included).
    """
    relu_cam = cam.clamp(min=0)
    pos = (scores > 0).to(cam.dtype)
    neg = (scores < 0).to(cam.dtype)
    c_pos = (relu_cam * pos).sum((2, 3)) / (pos.sum((2, 3))).clamp(min=EPS)
    c_neg = (relu_cam * neg).sum((2, 3)) / (neg.sum((2, 3))).clamp(min=EPS)
    count = y.sum(0)
    m = torch.stack([(y * c_pos).sum(0), (y * c_neg).sum(0)], 1) / count.clamp(min=EPS)[:, None]
    return m, count > 0


@torch.no_grad()
def update_sign_state(state: torch.Tensor, batch_stat: torch.Tensor, present: torch.Tensor,
                      momentum: float) -> torch.Tensor:
    """EMA a <- momentum a + (1 - momentum) m (weak.train.sign_momentum) for the classes present in
    the batch; the others keep a."""
    updated = momentum * state + (1.0 - momentum) * batch_stat
    return torch.where(present[:, None], updated, state)


def signs(state: torch.Tensor) -> torch.Tensor:
    """+1 where a+ >= a- (ties, e.g. a never-seen class, give +1), else -1; shape (K,)."""
    return torch.where(state[:, 0] >= state[:, 1], 1.0, -1.0).to(state.dtype)


@torch.no_grad()
def sp_refine(scores: torch.Tensor, y: torch.Tensor, superpixels: torch.Tensor) -> torch.Tensor:
    """Superpixel refinement of signed bottom-up scores (§3.5, SPRefine), by scatter operations.

    scores: (N, K, h, w) sign-resolved scores; y: (N, K); superpixels: (N, h, w) int ids >= 0 (the
    stride-8 sample of the image's map). Returns r, piecewise constant on superpixels: the positive
    superpixel mean on the superpixels assigned to class k, the negative mean elsewhere.
    """
    n, k, h, w = scores.shape
    s = scores * y[:, :, None, None]
    sp = superpixels.long().reshape(n, h * w)
    per_image = int(sp.max().item()) + 1
    index = (sp + torch.arange(n, device=sp.device)[:, None] * per_image).reshape(-1)  # (N*P,)
    groups = n * per_image
    flat = s.permute(1, 0, 2, 3).reshape(k, n * h * w)  # (K, N*P), cells in the order of `index`
    idx = index[None, :].expand(k, -1)

    def seg_sum(values: torch.Tensor) -> torch.Tensor:
        return torch.zeros(k, groups, dtype=values.dtype, device=values.device).scatter_add_(1, idx, values)

    size = torch.zeros(groups, dtype=s.dtype, device=s.device).scatter_add_(
        0, index, torch.ones_like(index, dtype=s.dtype)).clamp(min=EPS)
    votes = seg_sum(torch.sign(flat))
    eligible = votes.max(0).values > EPS  # (G,)
    pos = flat.clamp(min=0)
    # cross-class normalisation per cell, then the class with the largest superpixel mean wins
    cell_max = flat.max(0, keepdim=True).values.clamp(min=EPS)
    q = seg_sum(pos / cell_max) / size
    winner = q.argmax(0)  # first index on ties
    group_image = torch.arange(groups, device=s.device) // per_image
    present = y[group_image].t() > 0  # (K, G)
    fg = (torch.arange(k, device=s.device)[:, None] == winner[None, :]) & eligible[None, :] & present
    mean_pos = seg_sum(pos) / size
    mean_neg = seg_sum(flat.clamp(max=0)) / size
    refined = torch.where(fg, mean_pos, mean_neg)  # (K, G)
    out = refined.gather(1, idx)  # broadcast back to the cells
    return out.reshape(k, n, h, w).permute(1, 0, 2, 3).contiguous()


@torch.no_grad()
def top_down_targets(refined: torch.Tensor, margin: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets t = [r_hat > 0] and mask m = [|r_hat| > margin] from the refined scores (§3.6)."""
    r_max = refined.amax((2, 3), keepdim=True).clamp(min=EPS)
    r_min = refined.amin((2, 3), keepdim=True).clamp(max=-EPS)
    r_hat = refined.clamp(min=0) / r_max + refined.clamp(max=0) / (-r_min)
    return (r_hat > 0).to(refined.dtype), (r_hat.abs() > margin).to(refined.dtype)


def top_down_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, y: torch.Tensor,
                  omega: float = 1.0, grad_scale: float = 1.0) -> torch.Tensor:
    """L_td = omega * lambda / (N P) * sum_i sum_k y_ik sum_p m BCE(Z, t) (present classes only)."""
    n, _, h, w = logits.shape
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    weight = mask * y[:, :, None, None]
    return omega * grad_scale * (weight * bce).sum() / (n * h * w)


def cam_loss(cam: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits of the global average of the CAM, summed over classes, averaged over images."""
    logits = cam.mean((2, 3))
    return F.binary_cross_entropy_with_logits(logits, y, reduction="sum") / cam.shape[0]


def warmup_weight(step: int, warmup: int) -> float:
    """omega = exp(-10 (W - t) / W) for t < W, else 1 (§3.6)."""
    if warmup <= 0 or step >= warmup:
        return 1.0
    return math.exp(-10.0 * (warmup - step) / warmup)
