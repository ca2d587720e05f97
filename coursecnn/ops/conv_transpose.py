"""Transposed convolution ("deconvolution"), forward and backward.

The transposed convolution is the adjoint of ``conv2d`` with respect to its input: every input
value ``x[n, c, i, j]`` stamps ``x[n, c, i, j] * w[c]`` onto the output at ``(i*sh, j*sw)``,
then ``padding`` rows and columns are cut from each border.
``OH = (H - 1)*sh - 2*ph + dh*(KH - 1) + output_padding_h + 1`` (likewise OW).
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    _like,
    _method,
    _ndim,
    _nonnegative_pair,
    _pair,
    _positive_pair,
    _shape,
    _x4d,
)
from .conv import conv2d, conv2d_backward
from .im2col import _add_columns, _scratch


def _convt_args(x, w, stride, padding, output_padding, dilation):
    x = _x4d(x)
    w = _like(w, x.dtype, "w")
    _ndim(w, 4, "w", "(C, F, KH, KW)")
    st = _positive_pair(stride, "stride")
    pd = _nonnegative_pair(padding, "padding")
    op = _nonnegative_pair(output_padding, "output_padding")
    dl = _positive_pair(dilation, "dilation")
    n, c, h, wd = x.shape
    if min(w.shape[2:]) <= 0:
        raise ValueError(
            f"kernel_size: expected positive values (1 or more) in the last two axes of w, "
            f"got shape {w.shape}"
        )
    if w.shape[0] != c:
        raise ValueError(
            f"w: expected {c} input channels in axis 0 (C, F, KH, KW) to match x, "
            f"got shape {w.shape}"
        )
    for axis, o, s, d in zip("HW", op, st, dl, strict=True):
        if o >= max(s, d):
            raise ValueError(
                f"output_padding: expected less than stride or dilation ({max(s, d)}) along "
                f"{axis}, got {_pair(output_padding, 'output_padding')}"
            )
    kh, kw = w.shape[2:]
    out_hw = []
    for axis, size, k, s, p, d, o in zip("HW", (h, wd), (kh, kw), st, pd, dl, op, strict=True):
        full = (size - 1) * s + d * (k - 1) + 1
        if full + o - 2 * p <= 0:
            raise ValueError(
                f"padding: expected 2*padding below the full output size {full + o} along "
                f"{axis}, got {p}"
            )
        out_hw.append(full + o - 2 * p)
    return x, w, st, pd, op, dl, (n, w.shape[1], out_hw[0], out_hw[1])


def conv_transpose2d(
    x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1, method="fast"
) -> np.ndarray:
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d`` (groups=1).

    x: (N, C, H, W); w: (C, F, KH, KW) as in torch; b: (F,) or None -> out: (N, F, OH, OW).
    ``"naive"`` stamps each input value times its kernel onto the output (loops);
    ``"fast"`` uses one matrix product w.T @ x and col2im.
    """
    x, w, st, pd, op, dl, out_shape = _convt_args(x, w, stride, padding, output_padding, dilation)
    if b is not None:
        b = _like(b, x.dtype, "b")
        _shape(b, (w.shape[1],), "b")
    if _method(method) == "naive":
        out = _conv_transpose2d_naive(x, w, st, pd, dl, out_shape)
    else:
        out = _conv_transpose2d_fast(x, w, st, pd, dl, out_shape)
    if b is not None:
        out += b[:, None, None]
    return out


def _conv_transpose2d_naive(x, w, stride, padding, dilation, out_shape):
    n_, c_, h, wd = x.shape
    _, f_, kh, kw = w.shape
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    oh, ow = out_shape[2:]
    # The full output before cropping `padding`, with room for output_padding at the bottom/right.
    hc = max(oh + ph, (h - 1) * sh + dh * (kh - 1) + 1)
    wc = max(ow + pw, (wd - 1) * sw + dw * (kw - 1) + 1)
    full = np.zeros((n_, f_, hc, wc), dtype=x.dtype)
    for n in range(n_):
        for c in range(c_):
            for i in range(h):
                for j in range(wd):
                    full[
                        n,
                        :,
                        i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                        j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                    ] += x[n, c, i, j] * w[c]  # stamp the kernel, scaled by the input value
    return full[:, :, ph : ph + oh, pw : pw + ow].copy()


def _conv_transpose2d_fast(x, w, stride, padding, dilation, out_shape):
    """One matrix product (F*KH*KW, C) @ (C, N*H*W), then col2im onto the output."""
    n, c, h, wd = x.shape
    _, f, kh, kw = w.shape
    oh, ow = out_shape[2:]
    ph, pw = padding
    x2 = _scratch("out", (c, n, h, wd), x.dtype)
    np.copyto(x2, x.transpose(1, 0, 2, 3))
    cols = _scratch("cols", (f * kh * kw, n * h * wd), x.dtype)
    np.matmul(w.reshape(c, f * kh * kw).T, x2.reshape(c, n * h * wd), out=cols)
    # Stamp onto a canvas holding the full output (and the output_padding rows), then crop.
    hc = max(oh + ph, (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1)
    wc = max(ow + pw, (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1)
    canvas = _add_columns(cols, (n, f, hc, wc), (kh, kw), stride, dilation, (h, wd))
    return canvas[:, :, ph : ph + oh, pw : pw + ow].transpose(1, 0, 2, 3).copy()  # never a view


def conv_transpose2d_backward(
    grad_out, x, w, stride=1, padding=0, output_padding=0, dilation=1, method="fast"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv_transpose2d`` with respect to x, w and b.

    grad_out: (N, F, OH, OW); x: (N, C, H, W); w: (C, F, KH, KW)
    -> (grad_x: (N, C, H, W), grad_w: (C, F, KH, KW), grad_b: (F,)).
    The transposed convolution is conv2d's input gradient, so its gradients are conv2d itself
    (for x) and conv2d's weight gradient (for w), with the roles of x and grad_out swapped.
    """
    x, w, st, pd, op, dl, out_shape = _convt_args(x, w, stride, padding, output_padding, dilation)
    grad_out = _like(grad_out, x.dtype, "grad_out")
    _shape(grad_out, out_shape, "grad_out")
    method = _method(method)
    n, c, h, wd = x.shape
    grad_x = conv2d(grad_out, w, None, st, pd, dl, method=method)
    # With output_padding >= stride the conv output can be longer than H: those rows are unused.
    xx = x
    if grad_x.shape[2:] != (h, wd):
        xx = np.zeros(grad_x.shape[:1] + (c,) + grad_x.shape[2:], dtype=x.dtype)
        xx[:, :, :h, :wd] = x
        grad_x = grad_x[:, :, :h, :wd].copy()
    _, grad_w, _ = conv2d_backward(xx, grad_out, w, st, pd, dl, method=method)
    return grad_x, grad_w, grad_out.sum(axis=(0, 2, 3))


__all__ = ["conv_transpose2d", "conv_transpose2d_backward"]
