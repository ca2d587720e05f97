"""Activation functions and their gradients, elementwise (maxout: over groups of channels).

Each ``f(x, ...)`` has ``f_backward(grad_out, x, ...)`` returning ``grad_out * f'(x)``; x keeps
its shape and float dtype. At the kink of relu-like functions (x == 0) the gradient is the one
torch uses (that of the x <= 0 side).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import _float_array, _like


def _grad_args(grad_out, x):
    x = _float_array(x, "x")
    grad_out = _like(grad_out, x.dtype, "grad_out")
    if grad_out.shape != x.shape:
        raise ValueError(
            f"grad_out: expected shape {x.shape} (that of x), got shape {grad_out.shape}"
        )
    return grad_out, x


def sigmoid(x) -> np.ndarray:
    """``1 / (1 + exp(-x))``, computed as ``(1 + tanh(x/2)) / 2`` so it never overflows."""
    x = _float_array(x, "x")
    half = x.dtype.type(0.5)
    return half * (1 + np.tanh(half * x))


def sigmoid_backward(grad_out, x) -> np.ndarray:
    """``grad_out * s * (1 - s)`` with ``s = sigmoid(x)``."""
    grad_out, x = _grad_args(grad_out, x)
    s = sigmoid(x)
    return grad_out * s * (1 - s)


def tanh(x) -> np.ndarray:
    """``(exp(x) - exp(-x)) / (exp(x) + exp(-x))``."""
    return np.tanh(_float_array(x, "x"))


def tanh_backward(grad_out, x) -> np.ndarray:
    """``grad_out * (1 - tanh(x)**2)``."""
    grad_out, x = _grad_args(grad_out, x)
    t = np.tanh(x)
    return grad_out * (1 - t * t)


def relu(x) -> np.ndarray:
    """``max(x, 0)``."""
    x = _float_array(x, "x")
    return np.maximum(x, x.dtype.type(0))


def relu_backward(grad_out, x) -> np.ndarray:
    """``grad_out`` where x > 0, else 0."""
    grad_out, x = _grad_args(grad_out, x)
    return np.where(x > 0, grad_out, x.dtype.type(0))


def _slope(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    return float(value)


def leaky_relu(x, negative_slope: float = 0.01) -> np.ndarray:
    """``x`` where x > 0, else ``negative_slope * x``."""
    x = _float_array(x, "x")
    a = x.dtype.type(_slope(negative_slope, "negative_slope"))
    return np.where(x > 0, x, a * x)


def leaky_relu_backward(grad_out, x, negative_slope: float = 0.01) -> np.ndarray:
    """``grad_out`` where x > 0, else ``negative_slope * grad_out``."""
    grad_out, x = _grad_args(grad_out, x)
    a = x.dtype.type(_slope(negative_slope, "negative_slope"))
    return np.where(x > 0, grad_out, a * grad_out)


def elu(x, alpha: float = 1.0) -> np.ndarray:
    """``x`` where x > 0, else ``alpha * (exp(x) - 1)``."""
    x = _float_array(x, "x")
    a = x.dtype.type(_slope(alpha, "alpha"))
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def elu_backward(grad_out, x, alpha: float = 1.0) -> np.ndarray:
    """``grad_out`` where x > 0, else ``grad_out * alpha * exp(x)``."""
    grad_out, x = _grad_args(grad_out, x)
    a = x.dtype.type(_slope(alpha, "alpha"))
    return np.where(x > 0, grad_out, grad_out * a * np.exp(np.minimum(x, 0)))


def _prelu_args(x, weight):
    x = _float_array(x, "x")
    weight = _like(weight, x.dtype, "weight")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ValueError(
            f"weight: expected shape (1,) or ({channels},) (one slope per channel of x, axis 1), "
            f"got shape {weight.shape}"
        )
    # broadcast the per-channel slope along axis 1
    shape = [1] * x.ndim
    if x.ndim >= 2:
        shape[1] = weight.shape[0]
    return x, weight, weight.reshape(shape)


def prelu(x, weight) -> np.ndarray:
    """Parametric ReLU, as ``torch.nn.functional.prelu``: ``x`` where x > 0, else ``a_c * x``.

    x: (N, C, ...); weight: (C,) one learned slope per channel, or (1,) shared.
    """
    x, _, a = _prelu_args(x, weight)
    return np.where(x > 0, x, a * x)


def prelu_backward(grad_out, x, weight) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``prelu``: ``(grad_x, grad_weight)``, grad_weight with the shape of weight.

    ``grad_weight[c] = sum of grad_out * x over the positions of channel c where x <= 0``.
    """
    x, weight, a = _prelu_args(x, weight)
    grad_out, _ = _grad_args(grad_out, x)
    neg = x <= 0
    grad_x = np.where(neg, a * grad_out, grad_out)
    contrib = np.where(neg, grad_out * x, x.dtype.type(0))
    if weight.shape[0] == 1 or x.ndim < 2:
        grad_w = np.array([contrib.sum()], dtype=x.dtype)
    else:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        grad_w = contrib.sum(axis=axes)
    return grad_x, grad_w


def _maxout_args(x, pieces):
    x = _float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(
            f"x: expected an array (N, C, ...) with at least 2 dimensions, got shape {x.shape}"
        )
    if not isinstance(pieces, numbers.Integral) or pieces <= 0:
        raise ValueError(f"pieces: expected a positive int, got {pieces!r}")
    c = x.shape[1]
    if c % pieces:
        raise ValueError(f"pieces: expected a divisor of the {c} channels of x, got {pieces}")
    grouped = x.reshape(x.shape[0], c // pieces, int(pieces), *x.shape[2:])
    return x, grouped


def maxout(x, pieces: int) -> np.ndarray:
    """Maxout over groups of ``pieces`` consecutive channels.

    x: (N, C, ...) -> (N, C // pieces, ...), ``out[:, k] = max(x[:, k*pieces : (k+1)*pieces])``.
    """
    _, grouped = _maxout_args(x, pieces)
    return grouped.max(axis=2)


def maxout_backward(grad_out, x, pieces: int) -> np.ndarray:
    """Gradient of ``maxout``: each output's gradient goes to the (first) channel that won.

    grad_out: (N, C // pieces, ...); x: (N, C, ...) -> grad_x: (N, C, ...).
    """
    x, grouped = _maxout_args(x, pieces)
    expected = (x.shape[0], x.shape[1] // pieces, *x.shape[2:])
    grad_out = _like(grad_out, x.dtype, "grad_out")
    if grad_out.shape != expected:
        raise ValueError(f"grad_out: expected shape {expected}, got shape {grad_out.shape}")
    winner = grouped.argmax(axis=2)
    onehot = np.arange(pieces).reshape(1, 1, pieces, *([1] * (x.ndim - 2))) == winner[:, :, None]
    return (onehot * grad_out[:, :, None]).reshape(x.shape)


__all__ = [
    "elu",
    "elu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "maxout",
    "maxout_backward",
    "prelu",
    "prelu_backward",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
]
