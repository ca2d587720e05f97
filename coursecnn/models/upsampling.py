"""Upsampling in a decoder: resize-then-convolve, and a measure of the checkerboard artefact.

A stride-2 transposed convolution whose kernel size is not a multiple of the stride stamps its
kernel with *uneven overlap*: some output pixels receive more kernel taps than their neighbours,
which leaves a period-2 "checkerboard" in the output (Odena, Dumoulin and Olah, "Deconvolution
and checkerboard artifacts", Distill 2016). Their fix, :class:`ResizeConv2d`, resizes first
(nearest neighbour by default) and then convolves with stride 1: every output pixel sees the
same number of taps.

``checkerboard_score(y)`` measures the artefact: the amplitude of the three period-2 patterns
``(-1)^i``, ``(-1)^j`` and ``(-1)^(i+j)`` in ``y``, relative to ``y``'s mean magnitude.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._util import check_choice, check_positive


class ResizeConv2d(nn.Module):
    """Resize, then a stride-1 convolution: x (N, C_in, H, W) -> (N, C_out, OH, OW).

    ``size`` fixes (OH, OW) (an int for a square); otherwise ``OH = H * scale_factor``.
    ``forward(x, output_size=...)`` overrides both for one call. ``mode``: ``"nearest"`` or
    ``"bilinear"``. The convolution has ``padding = kernel_size // 2`` (odd kernels keep the size).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        scale_factor: int = 2,
        size: int | tuple[int, int] | None = None,
        mode: str = "nearest",
    ) -> None:
        super().__init__()
        check_choice("mode", mode, ("nearest", "bilinear"))
        check_positive("scale_factor", scale_factor)
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size: expected an odd size (keeps H, W), got {kernel_size}")
        self.scale_factor, self.mode = scale_factor, mode
        self.size = (
            (size, size) if isinstance(size, int) else (None if size is None else tuple(size))
        )
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor, output_size: Any = None) -> torch.Tensor:
        size = self.size if output_size is None else tuple(output_size)[-2:]
        kw: dict[str, Any] = {"mode": self.mode}
        if self.mode == "bilinear":
            kw["align_corners"] = False
        if size is None:
            x = F.interpolate(x, scale_factor=self.scale_factor, **kw)
        else:
            x = F.interpolate(x, size=size, **kw)
        return self.conv(x)

    def extra_repr(self) -> str:
        target = f"size={self.size}" if self.size is not None else f"scale={self.scale_factor}"
        return f"{target}, mode={self.mode!r}"


def checkerboard_score(y: Any, border: int = 0) -> float:
    """How strongly ``y`` oscillates with period 2, relative to its mean magnitude.

    y: (H, W) or (..., H, W), a NumPy array or tensor; each (H, W) plane is cropped by ``border``
    pixels on every side (to leave out padding effects), then scored
    ``(|mean(y (-1)^i)| + |mean(y (-1)^j)| + |mean(y (-1)^(i+j))|) / mean(|y|)``, with i the row
    and j the column (0 for an all-zero plane); returns the mean score over the planes. A constant
    or smooth plane scores about 0; the overlap counts of a 3x3, stride-2 transposed convolution
    (4 2 / 2 1, repeated) score 1.75 / 2.25 = 0.78. For even H and W the three sums are the
    discrete Fourier coefficients at the highest frequencies, ``F[H/2, 0]``, ``F[0, W/2]`` and
    ``F[H/2, W/2]``.
    """
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().double().numpy()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim < 2:
        raise ValueError(
            f"y: expected an array (..., H, W) with at least 2 axes, got shape {y.shape}"
        )
    if isinstance(border, bool) or not isinstance(border, int | np.integer) or border < 0:
        raise ValueError(f"border: expected a non-negative integer, got {border!r}")
    h, w = y.shape[-2:]
    if 2 * border >= min(h, w):
        raise ValueError(f"border: expected less than half the plane size ({h}, {w}), got {border}")
    if border:
        y = y[..., border : h - border, border : w - border]
    planes = y.reshape(-1, *y.shape[-2:])
    i = (-1.0) ** np.arange(planes.shape[1])[:, None]
    j = (-1.0) ** np.arange(planes.shape[2])[None, :]
    amplitude = sum(np.abs((planes * p).mean(axis=(1, 2))) for p in (i, j, i * j))
    level = np.abs(planes).mean(axis=(1, 2))
    scores = np.divide(amplitude, level, out=np.zeros_like(level), where=level > 0)
    return float(scores.mean())


__all__ = ["ResizeConv2d", "checkerboard_score"]
