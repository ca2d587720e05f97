"""2-D convolution (cross-correlation, as in every deep-learning library), forward and backward.

``out[n, f, i, j] = b[f] + sum_{c, p, q} x_pad[n, c, i*sh + p*dh, j*sw + q*dw] * w[f, c, p, q]``
where ``c`` runs over the channels of the group that filter ``f`` belongs to.
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    _like,
    _method,
    _ndim,
    _nonnegative_pair,
    _positive_pair,
    _shape,
    _x4d,
)
from .im2col import _add_columns, _im2col, _im2col_wide, _pad_hw, _scratch
from .shapes import _out_sizes


def _conv_args(x, w, stride, padding, dilation, groups, w_name="w"):
    """Checked arrays and hyper-parameters shared by conv2d and conv2d_backward."""
    x = _x4d(x)
    w = _like(w, x.dtype, w_name)
    _ndim(w, 4, w_name, "(F, C/groups, KH, KW)")
    st = _positive_pair(stride, "stride")
    pd = _nonnegative_pair(padding, "padding")
    dl = _positive_pair(dilation, "dilation")
    if not isinstance(groups, int | np.integer) or groups <= 0:
        raise ValueError(f"groups: expected a positive int, got {groups!r}")
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if kh <= 0 or kw <= 0:
        raise ValueError(
            f"kernel_size: expected positive values (1 or more) in the last two axes of "
            f"{w_name}, got shape {w.shape}"
        )
    if c % groups:
        raise ValueError(f"groups: expected a divisor of the {c} input channels, got {groups}")
    if f % groups:
        raise ValueError(f"groups: expected a divisor of the {f} filters of {w_name}, got {groups}")
    if cg != c // groups:
        raise ValueError(
            f"{w_name}: expected {c // groups} input channels (x has {c} channels, groups="
            f"{groups}), got shape {w.shape}"
        )
    oh, ow = _out_sizes((h, wd), (kh, kw), st, pd, dl)
    return x, w, st, pd, dl, int(groups), (n, f, oh, ow)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, method="fast") -> np.ndarray:
    """2-D convolution, as ``torch.nn.functional.conv2d``.

    x: (N, C, H, W); w: (F, C/groups, KH, KW); b: (F,) or None -> out: (N, F, OH, OW),
    ``OH = (H + 2*ph - dh*(KH-1) - 1) // sh + 1`` (likewise OW).
    ``method="naive"`` loops over every output value (a small case runs in under a second);
    ``"fast"`` uses im2col and one matrix product per group. w and b take x's dtype.
    """
    x, w, st, pd, dl, groups, out_shape = _conv_args(x, w, stride, padding, dilation, groups)
    if b is not None:
        b = _like(b, x.dtype, "b")
        _shape(b, (w.shape[0],), "b")
    if _method(method) == "naive":
        return _conv2d_naive(x, w, b, st, pd, dl, groups, out_shape)
    return _conv2d_fast(x, w, b, st, pd, dl, groups, out_shape)


def _conv2d_naive(x, w, b, stride, padding, dilation, groups, out_shape):
    n_, f_, oh, ow = out_shape
    sh, sw = stride
    dh, dw = dilation
    _, cg, kh, kw = w.shape
    fg = f_ // groups
    xp = _pad_hw(x, *padding)
    bias = np.zeros(f_, dtype=x.dtype) if b is None else b
    out = np.zeros(out_shape, dtype=x.dtype)
    for n in range(n_):
        for f in range(f_):
            g = f // fg  # the group of filter f sees channels g*cg ... (g+1)*cg - 1
            for i in range(oh):
                for j in range(ow):
                    window = xp[
                        n,
                        g * cg : (g + 1) * cg,
                        i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                        j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                    ]
                    out[n, f, i, j] = np.sum(window * w[f]) + bias[f]
    return out


# Images per im2col block in the fast passes: about this many bytes of columns, so that they are
# still in cache when the matrix products read them (measured on the ResNet layer, float32:
# forward 28 -> 24 ms, backward 58 -> 53 ms; float64 backward 126 -> 90 ms).
_BLOCK_BYTES = 8 * 2**20
# Float32 forward outputs at most this wide use _im2col_wide: long copies, but a product Wp/OW
# larger (LeNet conv2, measured under load: 0.82 -> 0.67 ms best; in float64 the larger product
# costs more than the copy saves, 1.9 -> 2.7 ms, so float64 keeps _im2col).
_WIDE_MAX_OW = 16


def _conv2d_fast(x, w, b, stride, padding, dilation, groups, out_shape):
    """im2col, then one matrix product (F/groups, C/groups*KH*KW) @ (..., images*OH*OW) per group,
    a block of images at a time, each block written straight into the (N, F, OH, OW) result."""
    n, f, oh, ow = out_shape
    _, cg, kh, kw = w.shape
    fg, rows = f // groups, cg * kh * kw
    w2 = w.reshape(f, rows)
    xp = _pad_hw(x, *padding)
    # Narrow stride-1 float32 outputs: columns a whole padded row wide (junk dropped at the end)
    wide = stride == (1, 1) and ow <= _WIDE_MAX_OW and x.itemsize <= 4
    owc = xp.shape[3] if wide else ow
    block = max(1, min(n, _BLOCK_BYTES // max(1, x.shape[1] * kh * kw * oh * owc * x.itemsize)))
    result = np.empty(out_shape, dtype=x.dtype)
    for n0 in range(0, n, block):
        n1 = min(n, n0 + block)
        if wide:
            cols = _im2col_wide(xp[n0:n1], (kh, kw), dilation, oh)
        else:
            cols = _im2col(xp[n0:n1], (kh, kw), stride, 0, dilation, scratch=True)
        out = _scratch("out", (f, (n1 - n0) * oh * owc), x.dtype)
        for g in range(groups):
            np.matmul(
                w2[g * fg : (g + 1) * fg],
                cols[g * rows : (g + 1) * rows],
                out=out[g * fg : (g + 1) * fg],
            )
        out4 = out.reshape(f, n1 - n0, oh, owc)[..., :ow].transpose(1, 0, 2, 3)
        if b is None:
            result[n0:n1] = out4
        else:
            np.add(out4, b[:, None, None], out=result[n0:n1])
    return result


def conv2d_backward(
    grad_out, x, w, stride=1, padding=0, dilation=1, groups=1, method="fast"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv2d`` with respect to x, w and b.

    grad_out: (N, F, OH, OW); x: (N, C, H, W); w: (F, C/groups, KH, KW)
    -> (grad_x: (N, C, H, W), grad_w: (F, C/groups, KH, KW), grad_b: (F,)).
    ``grad_b`` is always returned (the sum of grad_out over N, OH, OW).
    ``"naive"`` loops over output values and scatters each into its window; ``"fast"`` uses
    im2col, two matrix products per group and col2im.
    """
    x, w, st, pd, dl, groups, out_shape = _conv_args(x, w, stride, padding, dilation, groups)
    grad_out = _like(grad_out, x.dtype, "grad_out")
    _shape(grad_out, out_shape, "grad_out")
    if _method(method) == "naive":
        return _conv2d_backward_naive(grad_out, x, w, st, pd, dl, groups)
    return _conv2d_backward_fast(grad_out, x, w, st, pd, dl, groups)


def _conv2d_backward_naive(grad_out, x, w, stride, padding, dilation, groups):
    n_, f_, oh, ow = grad_out.shape
    sh, sw = stride
    dh, dw = dilation
    ph, pw = padding
    _, cg, kh, kw = w.shape
    fg = f_ // groups
    xp = _pad_hw(x, ph, pw)
    grad_xp = np.zeros_like(xp)
    grad_w = np.zeros_like(w)
    for n in range(n_):
        for f in range(f_):
            g = f // fg
            for i in range(oh):
                for j in range(ow):
                    window = (
                        n,
                        slice(g * cg, (g + 1) * cg),
                        slice(i * sh, i * sh + dh * (kh - 1) + 1, dh),
                        slice(j * sw, j * sw + dw * (kw - 1) + 1, dw),
                    )
                    # out[n, f, i, j] = sum(window * w[f]): each factor gets the other's value
                    grad_w[f] += grad_out[n, f, i, j] * xp[window]
                    grad_xp[window] += grad_out[n, f, i, j] * w[f]
    grad_x = grad_xp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]].copy()
    grad_b = grad_out.sum(axis=(0, 2, 3))
    return grad_x, grad_w, grad_b


def _conv2d_backward_fast(grad_out, x, w, stride, padding, dilation, groups):
    """Per block of images: im2col; per group grad_w += grad_out @ cols.T and
    grad_cols = w.T @ grad_out; col2im of grad_cols into grad_x."""
    n, f, oh, ow = grad_out.shape
    _, cg, kh, kw = w.shape
    c, h, wd = x.shape[1:]
    fg, rows = f // groups, cg * kh * kw
    w2 = w.reshape(f, rows)
    ph, pw = padding
    xp = _pad_hw(x, ph, pw)
    block = max(1, min(n, _BLOCK_BYTES // max(1, c * kh * kw * oh * ow * x.itemsize)))
    grad_w = np.zeros((f, rows), dtype=x.dtype)
    grad_x = np.empty(x.shape, dtype=x.dtype)
    for n0 in range(0, n, block):
        n1 = min(n, n0 + block)
        go = _scratch("out", (f, n1 - n0, oh, ow), x.dtype)
        np.copyto(go, grad_out[n0:n1].transpose(1, 0, 2, 3))
        go = go.reshape(f, (n1 - n0) * oh * ow)
        cols = _im2col(xp[n0:n1], (kh, kw), stride, 0, dilation, scratch=True)
        for g in range(groups):
            fs, rs = slice(g * fg, (g + 1) * fg), slice(g * rows, (g + 1) * rows)
            # grad_w.T = cols @ go.T: OpenBLAS splits this (tall result) far better than go @ cols.T
            grad_w[fs] += (cols[rs] @ go[fs].T).T
            # grad_cols overwrites this group's rows of cols, which nothing reads any more
            np.matmul(w2[fs].T, go[fs], out=cols[rs])
        canvas = _add_columns(
            cols, (n1 - n0, c) + xp.shape[2:], (kh, kw), stride, dilation, (oh, ow)
        )
        grad_x[n0:n1] = canvas[:, :, ph : ph + h, pw : pw + wd].transpose(1, 0, 2, 3)
    return grad_x, grad_w.reshape(w.shape), grad_out.sum(axis=(0, 2, 3))


__all__ = ["conv2d", "conv2d_backward"]
