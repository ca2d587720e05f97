"""Softmax and log-softmax along an axis, stable for logits of any size (e.g. +-1000).

``softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m)`` with ``m = max_j x_j``: subtracting the
maximum changes nothing mathematically and keeps every exponent <= 0, so nothing overflows.
``log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m))``.
"""

from __future__ import annotations

import numpy as np

from ._validate import _axis, _float_array, _like


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """Log of the softmax along ``axis``, as ``torch.nn.functional.log_softmax``; shape of x."""
    x = _float_array(x, "x")
    axis = _axis(axis, x.ndim)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` (values in [0, 1] summing to 1), as ``F.softmax``; shape of x."""
    x = _float_array(x, "x")
    axis = _axis(axis, x.ndim)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _grad_args(grad_out, x, axis):
    x = _float_array(x, "x")
    grad_out = _like(grad_out, x.dtype, "grad_out")
    if grad_out.shape != x.shape:
        raise ValueError(
            f"grad_out: expected shape {x.shape} (that of x), got shape {grad_out.shape}"
        )
    return grad_out, x, _axis(axis, x.ndim)


def softmax_backward(grad_out, x, axis: int = -1) -> np.ndarray:
    """``s * (grad_out - sum(grad_out * s))`` with ``s = softmax(x)`` (the Jacobian-vector product)."""
    grad_out, x, axis = _grad_args(grad_out, x, axis)
    s = softmax(x, axis)
    return s * (grad_out - (grad_out * s).sum(axis=axis, keepdims=True))


def log_softmax_backward(grad_out, x, axis: int = -1) -> np.ndarray:
    """``grad_out - softmax(x) * sum(grad_out)`` along ``axis``."""
    grad_out, x, axis = _grad_args(grad_out, x, axis)
    return grad_out - softmax(x, axis) * grad_out.sum(axis=axis, keepdims=True)


__all__ = ["log_softmax", "log_softmax_backward", "softmax", "softmax_backward"]
