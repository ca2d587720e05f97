"""Inverted dropout: zero each value with probability p in training and scale the survivors by
1 / (1 - p), so that nothing changes at evaluation time (where dropout is the identity)."""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import _float_array, _like


def dropout(x, p: float = 0.5, training: bool = True, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Inverted dropout. Returns ``(out, mask)`` with ``out = x * mask``.

    x: any shape. ``mask`` has x's shape and holds 0 (dropped) or ``1 / (1 - p)`` (kept); keep it
    for ``dropout_backward``. In eval mode (``training=False``) or with p = 0, out is a copy of x
    and mask is all ones; with p = 1 everything is dropped (mask all zeros, as torch).
    rng: a ``np.random.Generator``, an int seed, or None (fresh entropy).
    """
    x = _float_array(x, "x")
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return x.copy(), np.ones_like(x)
    if p == 1:
        return np.zeros_like(x), np.zeros_like(x)
    if not isinstance(rng, np.random.Generator):
        if rng is not None and not isinstance(rng, numbers.Integral):
            raise ValueError(f"rng: expected a numpy Generator, an int seed or None, got {rng!r}")
        rng = np.random.default_rng(rng)
    keep = rng.random(x.shape) >= p
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(grad_out, mask) -> np.ndarray:
    """Gradient of ``dropout``: ``grad_out * mask`` (the mask that the forward returned)."""
    mask = _float_array(mask, "mask")
    grad_out = _like(grad_out, mask.dtype, "grad_out")
    if grad_out.shape != mask.shape:
        raise ValueError(
            f"grad_out: expected shape {mask.shape} (that of mask), got shape {grad_out.shape}"
        )
    return grad_out * mask


__all__ = ["dropout", "dropout_backward"]
