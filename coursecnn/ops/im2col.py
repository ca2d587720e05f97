"""im2col and col2im: the data movement that turns a convolution into one matrix product.

``im2col`` copies every receptive field of a padded image into a column, so that a convolution
becomes ``w.reshape(F, C*KH*KW) @ cols``. ``col2im`` is its adjoint: it adds every column back
onto the image position it came from (overlapping fields add up), which is what the backward pass
and the transposed convolution need.

Layout: ``cols`` is (C*KH*KW, N*OH*OW); rows in the order (c, kh, kw), columns (n, oh, ow).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._validate import _nonnegative_pair, _positive_pair, _x4d
from .shapes import _out_sizes

_SCRATCH = threading.local()
_SCRATCH_MAX_BYTES = 128 * 2**20


def _scratch(name: str, shape, dtype) -> np.ndarray:
    """An uninitialised array for an intermediate that never leaves ``coursecnn.ops``.

    One buffer per name and thread is kept and reused: a fresh array of 10-100 MB costs a page
    fault per 4 KiB on first touch, about as long as filling it (measured: im2col of the ResNet
    layer 20 ms fresh, 9 ms reused). Arrays above 128 MiB are allocated afresh and not kept.
    Never return a scratch array (or a view of one) to the caller.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype=dtype)
    buffer = getattr(_SCRATCH, name, None)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = np.empty(nbytes, dtype=np.uint8)
        setattr(_SCRATCH, name, buffer)
    return buffer[:nbytes].view(dtype).reshape(shape)


def _pad_hw(x: np.ndarray, ph: int, pw: int, value: float = 0.0) -> np.ndarray:
    """Constant padding of the last two axes (no copy when there is nothing to pad)."""
    if ph == 0 and pw == 0:
        return x
    shape = x.shape[:-2] + (x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw)
    xp = np.full(shape, value, dtype=x.dtype)
    xp[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]] = x
    return xp


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Receptive fields of ``x`` as columns.

    x: (N, C, H, W) -> cols: (C*KH*KW, N*OH*OW), a contiguous copy.
    Trick: one ``as_strided`` view (C, KH, KW, N, OH, OW) of the padded input, copied once.
    """
    return _im2col(_x4d(x), kernel_size, stride, padding, dilation, scratch=False)


def _im2col(x, kernel_size, stride, padding, dilation, scratch: bool) -> np.ndarray:
    """im2col of a checked x; ``scratch=True`` writes into the reusable scratch buffer."""
    kh, kw = _positive_pair(kernel_size, "kernel_size")
    sh, sw = _positive_pair(stride, "stride")
    ph, pw = _nonnegative_pair(padding, "padding")
    dh, dw = _positive_pair(dilation, "dilation")
    n, c, h, w = x.shape
    oh, ow = _out_sizes((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    xp = _pad_hw(x, ph, pw)
    s_n, s_c, s_h, s_w = xp.strides
    view = as_strided(
        xp,
        shape=(c, kh, kw, n, oh, ow),
        strides=(s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw),
        writeable=False,
    )
    if scratch:
        cols = _scratch("cols", view.shape, x.dtype)
    else:
        cols = np.empty(view.shape, dtype=x.dtype)  # a fresh, writable copy
    np.copyto(cols, view)
    return cols.reshape(c * kh * kw, n * oh * ow)


def _im2col_wide(xp: np.ndarray, kernel, dilation, oh: int) -> np.ndarray:
    """Stride-1 columns of an already padded ``xp`` (N, C, Hp, Wp), each output row Wp wide.

    Returns the scratch array (C*KH*KW, N*OH*Wp); columns (n, oh, ow) with ``ow >= OW`` are junk
    (they wrap into the next row) and must be dropped from the product. Trick: for a fixed tap
    and image, the OH*Wp values are one contiguous run of ``xp``, so the copy moves long runs
    instead of OW-long rows (LeNet conv2: runs of 140, not 10, values).
    """
    n, c, hp, wp = xp.shape
    kh, kw = kernel
    dh, dw = dilation
    tail = dw * (kw - 1)  # the last tap's run overshoots the array by this many values
    flat = _scratch("wide_x", (xp.size + tail,), xp.dtype)
    flat[: xp.size].reshape(xp.shape)[...] = xp
    flat[xp.size :] = 0
    s = flat.itemsize
    view = as_strided(
        flat,
        shape=(c, kh, kw, n, oh * wp),
        strides=(hp * wp * s, dh * wp * s, dw * s, c * hp * wp * s, s),
        writeable=False,
    )
    cols = _scratch("cols", view.shape, xp.dtype)
    np.copyto(cols, view)
    return cols.reshape(c * kh * kw, n * oh * wp)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Add columns back onto the image they were taken from: the adjoint of ``im2col``.

    cols: (C*KH*KW, N*OH*OW) -> (N, C, H, W) with ``x_shape = (N, C, H, W)``.
    Trick: KH*KW strided-slice additions (one per kernel tap), never ``np.add.at``.
    """
    n, c, h, w = (int(v) for v in x_shape)
    kh, kw = _positive_pair(kernel_size, "kernel_size")
    sh, sw = _positive_pair(stride, "stride")
    ph, pw = _nonnegative_pair(padding, "padding")
    dh, dw = _positive_pair(dilation, "dilation")
    oh, ow = _out_sizes((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    cols = np.asarray(cols)
    if cols.shape != (c * kh * kw, n * oh * ow):
        raise ValueError(
            f"cols: expected shape {(c * kh * kw, n * oh * ow)}, got shape {cols.shape}"
        )
    xp = _add_columns(cols, (n, c, h + 2 * ph, w + 2 * pw), (kh, kw), (sh, sw), (dh, dw), (oh, ow))
    return xp[:, :, ph : ph + h, pw : pw + w].transpose(1, 0, 2, 3).copy()  # never a view


def _add_columns(cols, canvas_shape, kernel, stride, dilation, out_hw) -> np.ndarray:
    """Add each column onto its receptive field of a zero canvas (N, C, Hc, Wc).

    Returns the canvas in (C, N, Hc, Wc) layout: each tap then adds one (C, N, OH, OW) block
    without a transpose. The canvas only needs to contain every receptive field. It is a scratch
    buffer: copy what you keep.
    """
    n, c, hc, wc = canvas_shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    oh, ow = out_hw
    cols6 = cols.reshape(c, kh, kw, n, oh, ow)
    canvas = _scratch("canvas", (c, n, hc, wc), cols.dtype)
    canvas.fill(0)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            canvas[:, :, rows, columns] += cols6[:, i, j]
    return canvas
