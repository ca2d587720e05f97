"""``occlusion``: cover part of the image, watch the class score drop (Zeiler & Fergus 2013).

A ``window`` (a grey square in the paper; here the value ``baseline``, over all channels) slides
over the image in steps of ``stride``. For each position the covered image goes through the
model, and the drop of the target's score, ``S_c(x) - S_c(x with the window covered)``, is
credited to every pixel under the window. A pixel covered by several windows gets their average.

Window positions follow ``captum.attr.Occlusion``: top-left corners at ``0, s, 2s, ...``,
``ceil((H - h) / s) + 1`` of them down (likewise across), so that the last one reaches the
border; when ``(H - h)`` is not a multiple of ``s`` the last window is cut at the edge.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from coursecnn.explain._common import (
    check_images,
    check_model,
    check_targets,
    model_device,
    pair,
    scores,
    untouched,
)

__all__ = ["occlusion", "occlusion_masks"]


def _starts(size: int, window: int, stride: int) -> list[int]:
    return [i * stride for i in range(math.ceil((size - window) / stride) + 1)]


def occlusion_masks(
    size: tuple[int, int], window: int | tuple[int, int], stride: int | tuple[int, int]
) -> torch.Tensor:
    """The windows as boolean masks ``(P, H, W)``, row-major over their top-left corners."""
    (H, W), (h, w), (sh, sw) = pair(size, "size"), pair(window, "window"), pair(stride, "stride")
    if h > H or w > W:
        raise ValueError(f"window: expected at most the image size {(H, W)}, got {(h, w)}")
    masks = []
    for top in _starts(H, h, sh):
        for left in _starts(W, w, sw):
            m = torch.zeros(H, W, dtype=torch.bool)
            m[top : top + h, left : left + w] = True
            masks.append(m)
    return torch.stack(masks)


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: Any,
    window: int | tuple[int, int],
    stride: int | tuple[int, int],
    baseline: float | torch.Tensor = 0.0,
    *,
    batch_size: int = 256,
) -> torch.Tensor:
    """Mean drop of the target's score when a window covering a pixel is occluded: ``(N, H, W)``.

    model: maps ``(N, C, H, W)`` to class scores ``(N, K)``; run in eval mode, left as found.
    x: images ``(N, C, H, W)``. target: one class for all (int) or one per image.
    window: ``(h, w)`` (or one int) with ``1 <= h <= H``, ``1 <= w <= W``; it covers every channel.
    stride: ``(s_h, s_w)`` (or one int), at most the window where the window is smaller than the
    image (otherwise pixels between windows would never be covered).
    baseline: the value a covered pixel takes: a number, or a tensor that broadcasts to ``x``
    (e.g. ``(C, 1, 1)`` channel means). In normalised inputs 0 is the data's mean.
    batch_size: occluded copies per forward pass.
    Positive values: covering the pixel lowers the score (evidence for the class); negative:
    covering it raises the score. Equals ``captum.attr.Occlusion(model).attribute(x,
    sliding_window_shapes=(C, h, w), strides=(C, s_h, s_w), target=target,
    baselines=baseline)[:, 0]``.
    """
    check_model(model)
    check_images(x)
    N, C, H, W = x.shape
    (h, w), (sh, sw) = pair(window, "window"), pair(stride, "stride")
    if h > H or w > W:
        raise ValueError(f"window: expected at most the image size {(H, W)}, got {(h, w)}")
    if (h < H and sh > h) or (w < W and sw > w):
        raise ValueError(
            f"stride: expected at most the window {(h, w)} (so that every pixel is covered), "
            f"got {(sh, sw)}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    device = model_device(model)
    xd = x.detach().to(device)
    if isinstance(baseline, torch.Tensor):
        try:
            base = torch.broadcast_to(baseline.to(device, xd.dtype), xd.shape)
        except RuntimeError:
            raise ValueError(
                f"baseline: expected a number or a tensor that broadcasts to {tuple(x.shape)}, "
                f"got shape {tuple(baseline.shape)}"
            ) from None
    elif isinstance(baseline, int | float) and not isinstance(baseline, bool):
        base = torch.full_like(xd, float(baseline))
    else:
        raise ValueError(f"baseline: expected a number or a tensor, got {baseline!r}")
    masks = occlusion_masks((H, W), (h, w), (sh, sw)).to(device)  # (P, H, W)
    counts = masks.sum(0).to(xd.dtype)  # how many windows cover each pixel, all >= 1
    out = torch.empty(N, H, W, dtype=xd.dtype, device=device)
    with untouched(model), torch.no_grad():
        s0 = scores(model(xd))
        t = check_targets(target, N, s0.shape[1]).to(device)
        for i in range(N):
            c = int(t[i])
            total = torch.zeros(H, W, dtype=xd.dtype, device=device)
            for j in range(0, len(masks), batch_size):
                m = masks[j : j + batch_size, None]  # (B, 1, H, W), broadcast over channels
                covered = torch.where(m, base[i], xd[i])  # (B, C, H, W)
                drop = s0[i, c] - scores(model(covered))[:, c]  # (B,)
                total += (drop[:, None, None] * m[:, 0]).sum(0)
            out[i] = total / counts
    return out.to(x.device)
