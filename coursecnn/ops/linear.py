"""Fully connected (affine) layer: ``out = x @ w.T + b``, as ``torch.nn.functional.linear``."""

from __future__ import annotations

import numpy as np

from ._validate import _float_array, _like, _ndim, _shape


def _args(x, w):
    x = _float_array(x, "x")
    if x.ndim < 1:
        raise ValueError(f"x: expected an array (..., in_features), got shape {x.shape}")
    w = _like(w, x.dtype, "w")
    _ndim(w, 2, "w", "(out_features, in_features)")
    if w.shape[1] != x.shape[-1]:
        raise ValueError(
            f"w: expected {x.shape[-1]} in_features (the last axis of x) in axis 1, "
            f"got shape {w.shape}"
        )
    return x, w


def linear(x, w, b=None) -> np.ndarray:
    """x: (..., in); w: (out, in); b: (out,) or None -> (..., out)."""
    x, w = _args(x, w)
    out = x @ w.T
    if b is not None:
        b = _like(b, x.dtype, "b")
        _shape(b, (w.shape[0],), "b")
        out += b
    return out


def linear_backward(grad_out, x, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``linear``: (grad_x (..., in), grad_w (out, in), grad_b (out,)).

    ``grad_x = grad_out @ w``, ``grad_w = grad_out.T @ x``, ``grad_b = grad_out`` summed over rows.
    """
    x, w = _args(x, w)
    grad_out = _like(grad_out, x.dtype, "grad_out")
    _shape(grad_out, x.shape[:-1] + (w.shape[0],), "grad_out")
    g2 = grad_out.reshape(-1, w.shape[0])
    x2 = x.reshape(-1, w.shape[1])
    return grad_out @ w, g2.T @ x2, g2.sum(axis=0)


__all__ = ["linear", "linear_backward"]
