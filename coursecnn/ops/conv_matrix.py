"""Convolution as a matrix product: the sparse, weight-shared matrix behind a 2-D conv layer."""

from __future__ import annotations

import numpy as np

from ._validate import _ndim, _positive_pair


def conv_matrix(kernel, input_shape) -> np.ndarray:
    """The dense (OH*OW, H*W) matrix M with ``M @ image.ravel() == correlate2d(image, kernel,
    "valid").ravel()``.

    kernel: (KH, KW); input_shape: (H, W); OH = H - KH + 1, OW = W - KW + 1. Row ``i*OW + j`` holds
    the kernel at the columns of the pixels its window covers and zeros elsewhere: every row has
    the same KH*KW weights (weight sharing), and most entries are zero (sparsity).
    Integer kernels give float64.
    """
    k = np.asarray(kernel)
    _ndim(k, 2, "kernel", "(KH, KW)")
    if not (np.issubdtype(k.dtype, np.floating) or np.issubdtype(k.dtype, np.integer)):
        raise ValueError(f"kernel: expected a real (int or float) array, got dtype {k.dtype}")
    if not np.issubdtype(k.dtype, np.floating):
        k = k.astype(np.float64)
    h, w = _positive_pair(tuple(input_shape), "input_shape")
    kh, kw = k.shape
    if kh > h or kw > w or kh == 0 or kw == 0:
        raise ValueError(
            f"kernel: expected a non-empty kernel no larger than input_shape {(h, w)}, "
            f"got shape {k.shape}"
        )
    oh, ow = h - kh + 1, w - kw + 1
    m = np.zeros((oh * ow, h * w), dtype=k.dtype)
    i, j, p, q = np.meshgrid(
        np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw), indexing="ij"
    )
    m[i * ow + j, (i + p) * w + (j + q)] = k[p, q]
    return m


__all__ = ["conv_matrix"]
