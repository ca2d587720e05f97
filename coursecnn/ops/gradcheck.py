"""Gradient checking with centred finite differences.

For a function ``f(*inputs)`` and an upstream gradient ``grad_out`` (the shape of f's output),
the gradient of the scalar ``L = sum(f(*inputs) * grad_out)`` with respect to an input x is what
every ``*_backward`` in this package returns for x. Numerically, for each entry x_i::

    dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 * eps)       (error O(eps**2))

and the check compares the two with the relative error ``||a - n|| / max(||a||, ||n||)``
(``0`` when both are zero). In float64, a correct gradient gives about 1e-8 or less; a wrong one
gives something near 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _differentiable(inputs) -> list[int]:
    """Positions of the inputs that are float arrays (the ones we differentiate)."""
    return [
        i
        for i, v in enumerate(inputs)
        if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating)
    ]


def numerical_gradient(
    f: Callable, *inputs, grad_out=None, eps: float = 1e-6
) -> tuple[np.ndarray, ...]:
    """Centred finite-difference gradients of ``sum(f(*inputs) * grad_out)``.

    Returns one float64 array per float ndarray input (in order; other inputs, such as ints or
    None, are passed through unchanged and skipped). ``grad_out`` defaults to ones, i.e. the
    gradient of ``f(*inputs).sum()``. Costs 2 calls of f per input entry: keep inputs small.
    """
    if not eps > 0:
        raise ValueError(f"eps: expected a positive step, got {eps!r}")
    which = _differentiable(inputs)
    args = [np.array(v, dtype=np.float64) if i in which else v for i, v in enumerate(inputs)]
    if not which:
        raise ValueError("inputs: expected at least one float ndarray to differentiate, got none")
    out = np.asarray(f(*args), dtype=np.float64)
    g = np.ones_like(out) if grad_out is None else np.asarray(grad_out, dtype=np.float64)
    if g.shape != out.shape:
        raise ValueError(
            f"grad_out: expected shape {out.shape} (that of f's output), got shape {g.shape}"
        )
    grads = []
    for i in which:
        x = args[i]
        grad = np.zeros_like(x)
        flat, gflat = x.reshape(-1), grad.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = np.sum(np.asarray(f(*args), dtype=np.float64) * g)
            flat[j] = old - eps
            minus = np.sum(np.asarray(f(*args), dtype=np.float64) * g)
            flat[j] = old
            gflat[j] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return tuple(grads)


def relative_error(a, b) -> float:
    """``||a - b|| / max(||a||, ||b||)`` (Frobenius norms), 0.0 when both are zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected shape {a.shape}, got shape {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def gradcheck(
    f: Callable,
    *inputs,
    analytic: Callable | np.ndarray | Sequence[np.ndarray],
    grad_out=None,
    eps: float = 1e-6,
    seed: int = 0,
) -> float:
    """The largest relative error between analytic and numerical gradients of ``f`` at ``inputs``.

    ``analytic`` is either
      * a callable ``analytic(grad_out) -> grads``: gradcheck draws a random ``grad_out``
        (seeded by ``seed``; random weights catch more mistakes than ones), or
      * the gradients themselves, computed by the caller for the given ``grad_out``
        (default: ones, i.e. the gradient of ``f(*inputs).sum()``).
    ``grads`` is one array, or a sequence with one array per float ndarray input, in order.
    Inputs are copied to float64. Example, with a student's conv backward::

        err = gradcheck(lambda x, w: conv2d(x, w, stride=2), x, w,
                        analytic=lambda g: my_conv_backward(g, x, w, stride=2)[:2])
        assert err < 1e-6
    """
    which = _differentiable(inputs)
    out = np.asarray(
        f(*[np.array(v, dtype=np.float64) if i in which else v for i, v in enumerate(inputs)])
    )
    if callable(analytic):
        if grad_out is None:
            grad_out = np.random.default_rng(seed).standard_normal(out.shape)
        grads = analytic(np.asarray(grad_out, dtype=np.float64))
    else:
        grads = analytic
    if isinstance(grads, np.ndarray):
        grads = (grads,)
    grads = tuple(grads)
    if len(grads) != len(which):
        raise ValueError(
            f"analytic: expected {len(which)} gradient(s), one per float ndarray input, "
            f"got {len(grads)}"
        )
    numeric = numerical_gradient(f, *inputs, grad_out=grad_out, eps=eps)
    errors = []
    for k, (a, n) in enumerate(zip(grads, numeric, strict=True)):
        a = np.asarray(a)
        if a.shape != n.shape:
            raise ValueError(
                f"analytic: expected gradient {k} of shape {n.shape}, got shape {a.shape}"
            )
        errors.append(relative_error(a, n))
    return max(errors)


__all__ = ["gradcheck", "numerical_gradient", "relative_error"]
