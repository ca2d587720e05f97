"""Softmax and log-softmax along an axis, stable for logits of any size (e.g. +-1000).

``softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m)`` with ``m = max_j x_j``: subtracting the
maximum changes nothing mathematically and keeps every exponent <= 0, so nothing overflows.
``log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m))``.
``cross_entropy(logits, labels) = -mean_n log_softmax(logits)[n, labels[n]]``, the loss of a
classifier, with ``cross_entropy_backward`` its gradient ``(softmax(logits) - onehot) / N``.
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


def _ce_args(logits, labels):
    logits = _float_array(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits: expected a 2-D array (N, K), got shape {logits.shape}")
    if logits.shape[0] == 0:
        raise ValueError(f"logits: expected at least one row, got shape {logits.shape}")
    labels = np.asarray(labels)
    if labels.shape != (logits.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels: expected {logits.shape[0]} integer class indices, shape "
            f"({logits.shape[0]},), got dtype {labels.dtype} and shape {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(
            f"labels: expected class indices in [0, {logits.shape[1] - 1}], got values from "
            f"{labels.min()} to {labels.max()}"
        )
    return logits, labels


def cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of logits (N, K) against integer labels (N,), as ``F.cross_entropy``:
    ``-mean_n log_softmax(logits)[n, labels[n]]``, a Python float."""
    logits, labels = _ce_args(logits, labels)
    picked = log_softmax(logits, axis=1)[np.arange(len(labels)), labels]
    return float(-picked.mean())


def cross_entropy_backward(grad_out, logits, labels) -> np.ndarray:
    """Gradient of ``cross_entropy`` with respect to the logits, times the scalar ``grad_out``:
    ``grad_out * (softmax(logits) - onehot(labels)) / N``, shape (N, K)."""
    logits, labels = _ce_args(logits, labels)
    grad = softmax(logits, axis=1)
    grad[np.arange(len(labels)), labels] -= 1
    return grad * logits.dtype.type(float(grad_out) / len(labels))


__all__ = [
    "cross_entropy",
    "cross_entropy_backward",
    "log_softmax",
    "log_softmax_backward",
    "softmax",
    "softmax_backward",
]
