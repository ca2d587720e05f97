"""Max and average pooling, forward and backward, and max unpooling.

``max:  out[n, c, i, j] = max_{p, q} x_pad[n, c, i*sh + p, j*sw + q]``  (x_pad padded with -inf)
``avg:  out[n, c, i, j] = mean_{p, q} x_pad[n, c, i*sh + p, j*sw + q]`` (padded with 0, and the
zeros count: torch's default ``count_include_pad=True``)
"""

from __future__ import annotations

import numpy as np

from ._validate import _float_array, _like, _method, _nonnegative_pair, _positive_pair, _shape, _x4d
from .im2col import _pad_hw
from .shapes import _out_sizes


def _pool_args(x, kernel_size, stride, padding):
    x = _x4d(x)
    k = _positive_pair(kernel_size, "kernel_size")
    s = k if stride is None else _positive_pair(stride, "stride")
    p = _nonnegative_pair(padding, "padding")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(
            f"padding: expected at most half the kernel size {k} (i.e. {(k[0] // 2, k[1] // 2)}), "
            f"got {p}"
        )
    out_hw = _out_sizes(x.shape[2:], k, s, p, (1, 1))
    return x, k, s, p, x.shape[:2] + out_hw


def _unpad(xp, p):
    """The interior of a padded (N, C, Hp, Wp) array, as a contiguous array."""
    if p == (0, 0):
        return xp
    return xp[:, :, p[0] : xp.shape[2] - p[0], p[1] : xp.shape[3] - p[1]].copy()


def _tap(k_i, k_j, stride, out_hw):
    """The strided slice of the padded input that kernel tap (k_i, k_j) sees for every output."""
    (sh, sw), (oh, ow) = stride, out_hw
    return (
        Ellipsis,
        slice(k_i, k_i + sh * (oh - 1) + 1, sh),
        slice(k_j, k_j + sw * (ow - 1) + 1, sw),
    )


# ---------------------------------------------------------------------------------------------
# max pooling


def max_pool2d(
    x, kernel_size, stride=None, padding=0, return_indices=False, method="fast"
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Max pooling, as ``torch.nn.functional.max_pool2d``.

    x: (N, C, H, W) -> out: (N, C, OH, OW), and with ``return_indices`` also indices:
    (N, C, OH, OW) int64, the flat position ``h*W + w`` of each maximum in its input plane
    (the first maximum in the window, in row-major order, as torch does).
    ``stride`` defaults to ``kernel_size``; ``padding`` is at most half the kernel.
    ``"naive"`` loops over outputs; ``"fast"`` takes ``np.maximum`` over the KH*KW strided
    slices of the input, one per kernel tap.
    """
    x, k, s, p, out_shape = _pool_args(x, kernel_size, stride, padding)
    if _method(method) == "naive":
        out, idx = _max_pool_naive(x, k, s, p, out_shape)
    else:
        out, idx = _max_pool_fast(x, k, s, p, out_shape, return_indices)
    return (out, idx) if return_indices else out


def _max_pool_naive(x, k, s, p, out_shape):
    n_, c_, oh, ow = out_shape
    w_in = x.shape[3]
    xp = _pad_hw(x, *p, value=-np.inf)
    out = np.empty(out_shape, dtype=x.dtype)
    idx = np.empty(out_shape, dtype=np.int64)
    for n in range(n_):
        for c in range(c_):
            for i in range(oh):
                for j in range(ow):
                    window = xp[n, c, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    out[n, c, i, j] = window[r, q]
                    # position in the unpadded input plane
                    idx[n, c, i, j] = (i * s[0] + r - p[0]) * w_in + (j * s[1] + q - p[1])
    return out, idx


def _max_pool_fast(x, k, s, p, out_shape, with_indices):
    """np.maximum over the KH*KW strided slices; indices from the first slice equal to the max."""
    xp = _pad_hw(x, *p, value=-np.inf)
    out = _max_over_taps(xp, k, s, out_shape[2:])
    if not with_indices:
        return out, None
    # flat input index of tap (r, q) at output (i, j): (i*sh + r - ph) * W + (j*sw + q - pw)
    w_in = x.shape[3]
    oh, ow = out_shape[2:]
    base = (np.arange(oh)[:, None] * s[0] - p[0]) * w_in + np.arange(ow) * s[1] - p[1]
    idx = np.zeros(out.shape, dtype=np.int64)
    for r, q, hit in _first_max_hits(xp, k, s, out):
        idx += hit * (base + (r * w_in + q))  # exactly one tap hits each output
    return out, idx


def _max_over_taps(xp, k, s, out_hw):
    taps = [xp[_tap(i, j, s, out_hw)] for i in range(k[0]) for j in range(k[1])]
    if len(taps) == 1:
        return taps[0].copy()
    out = np.maximum(taps[0], taps[1])
    for view in taps[2:]:
        np.maximum(out, view, out=out)
    return out


def _first_max_hits(xp, k, s, out):
    """For each tap (r, q) in row-major order: a boolean mask of the outputs whose first maximum
    sits at that tap (the mask array is reused: consume it before the next one). Branch-free
    (compare, and, xor), which beats ``np.copyto(..., where=)`` on random data several times."""
    unclaimed = np.ones(out.shape, dtype=bool)
    hit = np.empty(out.shape, dtype=bool)
    has_nan = bool(np.isnan(out).any())  # a NaN is the maximum of its window, as in torch
    for r in range(k[0]):
        for q in range(k[1]):
            view = xp[_tap(r, q, s, out.shape[2:])]
            np.equal(view, out, out=hit)
            if has_nan:
                hit |= np.isnan(view)
            np.logical_and(hit, unclaimed, out=hit)
            np.logical_xor(unclaimed, hit, out=unclaimed)
            yield r, q, hit


def max_pool2d_backward(
    grad_out, x, kernel_size, stride=None, padding=0, method="fast"
) -> np.ndarray:
    """Gradient of ``max_pool2d``: each output's gradient goes to the (first) maximum it chose.

    grad_out: (N, C, OH, OW); x: (N, C, H, W) -> grad_x: (N, C, H, W).
    ``"fast"`` adds ``grad_out``, masked where each tap wins, onto the KH*KW strided slices.
    """
    x, k, s, p, out_shape = _pool_args(x, kernel_size, stride, padding)
    grad_out = _like(grad_out, x.dtype, "grad_out")
    _shape(grad_out, out_shape, "grad_out")
    if _method(method) == "naive":
        _, idx = _max_pool_naive(x, k, s, p, out_shape)
        grad_x = np.zeros_like(x)
        n_, c_, oh, ow = out_shape
        for n in range(n_):
            for c in range(c_):
                for i in range(oh):
                    for j in range(ow):
                        h, w = divmod(idx[n, c, i, j], x.shape[3])
                        grad_x[n, c, h, w] += grad_out[n, c, i, j]
        return grad_x
    xp = _pad_hw(x, *p, value=-np.inf)
    out_hw = out_shape[2:]
    out = _max_over_taps(xp, k, s, out_hw)
    grad_xp = np.zeros(xp.shape, dtype=x.dtype)
    share = np.empty_like(grad_out)
    for r, q, hit in _first_max_hits(xp, k, s, out):
        np.multiply(grad_out, hit, out=share)
        grad_xp[_tap(r, q, s, out_hw)] += share
    return _unpad(grad_xp, p)


# ---------------------------------------------------------------------------------------------
# average pooling


def avg_pool2d(x, kernel_size, stride=None, padding=0, method="fast") -> np.ndarray:
    """Average pooling, as ``torch.nn.functional.avg_pool2d`` (``count_include_pad=True``).

    x: (N, C, H, W) -> out: (N, C, OH, OW). ``"fast"`` sums the KH*KW strided slices.
    """
    x, k, s, p, out_shape = _pool_args(x, kernel_size, stride, padding)
    xp = _pad_hw(x, *p)
    scale = 1.0 / (k[0] * k[1])
    if _method(method) == "naive":
        n_, c_, oh, ow = out_shape
        out = np.empty(out_shape, dtype=x.dtype)
        for n in range(n_):
            for c in range(c_):
                for i in range(oh):
                    for j in range(ow):
                        window = xp[n, c, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]]
                        out[n, c, i, j] = np.sum(window) * scale
        return out
    out_hw = out_shape[2:]
    out = xp[_tap(0, 0, s, out_hw)].copy()
    for i in range(k[0]):
        for j in range(k[1]):
            if i or j:
                out += xp[_tap(i, j, s, out_hw)]
    out *= x.dtype.type(scale)
    return out


def avg_pool2d_backward(
    grad_out, x, kernel_size, stride=None, padding=0, method="fast"
) -> np.ndarray:
    """Gradient of ``avg_pool2d``: each output spreads grad/(KH*KW) over its window.

    grad_out: (N, C, OH, OW); x: (N, C, H, W) -> grad_x: (N, C, H, W).
    """
    x, k, s, p, out_shape = _pool_args(x, kernel_size, stride, padding)
    grad_out = _like(grad_out, x.dtype, "grad_out")
    _shape(grad_out, out_shape, "grad_out")
    h, w = x.shape[2:]
    grad_xp = np.zeros((*x.shape[:2], h + 2 * p[0], w + 2 * p[1]), dtype=x.dtype)
    share = grad_out * x.dtype.type(1.0 / (k[0] * k[1]))
    if _method(method) == "naive":
        n_, c_, oh, ow = out_shape
        for n in range(n_):
            for c in range(c_):
                for i in range(oh):
                    for j in range(ow):
                        window = (
                            n,
                            c,
                            slice(i * s[0], i * s[0] + k[0]),
                            slice(j * s[1], j * s[1] + k[1]),
                        )
                        grad_xp[window] += share[n, c, i, j]
    else:
        for i in range(k[0]):
            for j in range(k[1]):
                grad_xp[_tap(i, j, s, out_shape[2:])] += share
    return _unpad(grad_xp, p)


# ---------------------------------------------------------------------------------------------
# max unpooling


def _unpool_args(x, indices, kernel_size, stride, output_size, padding):
    x = _x4d(x)
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices: expected an integer array, got dtype {indices.dtype}")
    _shape(indices, x.shape, "indices")
    k = _positive_pair(kernel_size, "kernel_size")
    s = k if stride is None else _positive_pair(stride, "stride")
    p = _nonnegative_pair(padding, "padding")
    default = tuple((x.shape[2 + a] - 1) * s[a] - 2 * p[a] + k[a] for a in range(2))
    out_hw = default
    if output_size is not None:
        size = tuple(int(v) for v in output_size)
        if len(size) not in (2, 4):
            raise ValueError(f"output_size: expected (H, W) or (N, C, H, W), got {output_size!r}")
        out_hw = size[-2:]
        for a in range(2):
            if not default[a] - s[a] < out_hw[a] < default[a] + s[a]:
                raise ValueError(
                    f"output_size: expected sizes strictly between default - stride and "
                    f"default + stride ({default} -/+ {s}), got {out_hw}"
                )
    if min(out_hw) <= 0:
        raise ValueError(f"output_size: expected positive sizes, got {out_hw}")
    plane = out_hw[0] * out_hw[1]
    if indices.size and (indices.min() < 0 or indices.max() >= plane):
        raise ValueError(
            f"indices: expected values in [0, {plane}) for an output of size {out_hw}, "
            f"got values in [{indices.min()}, {indices.max()}]"
        )
    return x, indices, x.shape[:2] + tuple(out_hw)


def max_unpool2d(
    x, indices, kernel_size, stride=None, output_size=None, padding=0, method="fast"
) -> np.ndarray:
    """Partial inverse of ``max_pool2d``, as ``torch.nn.functional.max_unpool2d``.

    x, indices: (N, C, H, W) (indices from ``max_pool2d(..., return_indices=True)``)
    -> out: (N, C, OH, OW), zero except ``out.flat_plane[indices] = x``.
    Default ``OH = (H - 1)*sh - 2*ph + KH``; ``output_size`` is (OH, OW) or (N, C, OH, OW).
    ``"fast"`` is one ``np.put_along_axis`` on the flattened planes.
    """
    x, indices, out_shape = _unpool_args(x, indices, kernel_size, stride, output_size, padding)
    out = np.zeros(out_shape, dtype=x.dtype)
    if _method(method) == "naive":
        ow = out_shape[3]
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                for i in range(x.shape[2]):
                    for j in range(x.shape[3]):
                        h, w = divmod(int(indices[n, c, i, j]), ow)
                        out[n, c, h, w] = x[n, c, i, j]
        return out
    flat = out.reshape(*out_shape[:2], -1)
    np.put_along_axis(flat, indices.reshape(*x.shape[:2], -1), x.reshape(*x.shape[:2], -1), 2)
    return out


def max_unpool2d_backward(grad_out, indices) -> np.ndarray:
    """Gradient of ``max_unpool2d`` with respect to x: grad_out read back at ``indices``.

    grad_out: (N, C, OH, OW); indices: (N, C, H, W) -> grad_x: (N, C, H, W).
    """
    grad_out = _float_array(grad_out, "grad_out")
    indices = np.asarray(indices)
    n, c = grad_out.shape[:2]
    flat = grad_out.reshape(n, c, -1)
    return np.take_along_axis(flat, indices.reshape(n, c, -1), 2).reshape(indices.shape)


__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool2d",
    "max_unpool2d_backward",
]
