"""Normalisation layers: AlexNet's local response normalisation and batch normalisation.

Local response normalisation (torch's formula, which divides alpha by ``size``):
``out[:, c] = x[:, c] / (k + alpha/size * sum_{c' in window(c)} x[:, c']**2) ** beta``,
window(c) = channels ``c - size//2 ... c + (size-1)//2`` (those that exist).

Batch normalisation over (N, H, W) for every channel c:
``out = gamma_c * (x - mean_c) / sqrt(var_c + eps) + beta_c``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import _float_array, _like, _shape, _x4d

# ---------------------------------------------------------------------------------------------
# local response normalisation


def _window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """``out[:, c] = sum(a[:, c - before : c + after + 1])`` along axis 1 (missing channels = 0)."""
    c = a.shape[1]
    padded = np.zeros((a.shape[0], c + before + after, *a.shape[2:]), dtype=a.dtype)
    padded[:, before : before + c] = a
    out = padded[:, 0:c].copy()
    for t in range(1, before + after + 1):
        out += padded[:, t : t + c]
    return out


def _lrn_args(x, size, alpha, beta, k):
    x = _float_array(x, "x")
    if x.ndim < 3:
        raise ValueError(
            f"x: expected an array (N, C, ...) with at least 3 dimensions, got shape {x.shape}"
        )
    if not isinstance(size, numbers.Integral) or size <= 0:
        raise ValueError(f"size: expected a positive int (channels in the window), got {size!r}")
    for name, v in (("alpha", alpha), ("beta", beta), ("k", k)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise ValueError(f"{name}: expected a real number, got {v!r}")
    size = int(size)
    t = x.dtype.type
    denom = t(k) + t(alpha / size) * _window_sum(x * x, size // 2, (size - 1) // 2)
    return x, size, denom


def local_response_norm(
    x, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0
) -> np.ndarray:
    """Local response normalisation across channels (AlexNet, section 3.3).

    x: (N, C, ...) -> same shape. Matches ``torch.nn.functional.local_response_norm(x, size,
    alpha, beta, k)``; the defaults are AlexNet's (n=5, alpha=1e-4, beta=0.75, k=2), whereas
    torch's default k is 1.0, so pass k explicitly when comparing. Note torch (and so this
    function) divides alpha by size; the paper's alpha=1e-4 does not.
    """
    x, _, denom = _lrn_args(x, size, alpha, beta, k)
    return x * denom ** x.dtype.type(-beta)


def local_response_norm_backward(
    grad_out, x, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0
) -> np.ndarray:
    """Gradient of ``local_response_norm`` with respect to x; shape of x.

    With ``D_c = k + alpha/size * sum_window x**2``:
    ``grad_x[j] = g[j] * D_j**-beta - 2*beta*alpha/size * x[j] * sum_{c: j in window(c)}
    g[c] * x[c] * D_c**(-beta-1)``.
    """
    x, size, denom = _lrn_args(x, size, alpha, beta, k)
    grad_out = _like(grad_out, x.dtype, "grad_out")
    _shape(grad_out, x.shape, "grad_out")
    t = x.dtype.type
    scaled = denom ** t(-beta)
    inner = grad_out * x * scaled / denom
    back = _window_sum(inner, (size - 1) // 2, size // 2)  # the channels c whose window holds j
    return grad_out * scaled - t(2 * beta * alpha / size) * x * back


# ---------------------------------------------------------------------------------------------
# batch normalisation


def _bn_params(x, gamma, beta):
    c = x.shape[1]
    params = []
    for name, v, default in (("gamma", gamma, 1.0), ("beta", beta, 0.0)):
        if v is None:
            v = np.full(c, default, dtype=x.dtype)
        v = _like(v, x.dtype, name)
        _shape(v, (c,), name)
        params.append(v)
    return params


def _running(v, c, name):
    if not isinstance(v, np.ndarray):
        raise ValueError(
            f"{name}: expected a float ndarray of shape ({c},), got {type(v).__name__}"
        )
    v = _float_array(v, name)
    _shape(v, (c,), name)
    return v


def batch_norm2d(
    x,
    gamma,
    beta,
    running_mean=None,
    running_var=None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> np.ndarray:
    """Batch normalisation of x: (N, C, H, W) -> out (N, C, H, W), as ``F.batch_norm``.

    gamma, beta: (C,) or None (ones / zeros). Training mode normalises with the batch mean and
    the biased batch variance over (N, H, W) and, when running_mean and running_var (float arrays
    (C,)) are given, updates them **in place** as torch does:
    ``running_mean = (1 - momentum) * running_mean + momentum * mean`` and
    ``running_var = (1 - momentum) * running_var + momentum * var * M / (M - 1)`` (unbiased,
    M = N*H*W). Eval mode (``training=False``) normalises with the running statistics, which are
    then required, and changes nothing. Returns only ``out``.
    """
    x = _x4d(x)
    gamma, beta = _bn_params(x, gamma, beta)
    c = x.shape[1]
    m = x.shape[0] * x.shape[2] * x.shape[3]
    t = x.dtype.type
    if training:
        if m <= 1:
            raise ValueError(
                f"x: expected more than 1 value per channel in training, got shape {x.shape}"
            )
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
        for name, v in (("running_mean", running_mean), ("running_var", running_var)):
            if v is not None:
                _running(v, c, name)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (m / (m - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("running_mean: expected arrays of shape (C,) in eval mode, got None")
        mean = _running(running_mean, c, "running_mean").astype(x.dtype, copy=False)
        var = _running(running_var, c, "running_var").astype(x.dtype, copy=False)
    inv_std = 1 / np.sqrt(var + t(eps))
    scale = (gamma * inv_std)[:, None, None]
    return (x - mean[:, None, None]) * scale + beta[:, None, None]


def batch_norm2d_backward(
    grad_out,
    x,
    gamma,
    running_mean=None,
    running_var=None,
    training: bool = True,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``batch_norm2d``: (grad_x (N, C, H, W), grad_gamma (C,), grad_beta (C,)).

    Training mode (the batch statistics depend on x), with ``xhat = (x - mean) / std``:
    ``grad_x = gamma / std * (g - mean(g) - xhat * mean(g * xhat))`` (means over N, H, W).
    Eval mode: ``grad_x = g * gamma / sqrt(running_var + eps)``. running_mean is accepted for
    symmetry with the forward and not needed. Running statistics are never changed here.
    """
    x = _x4d(x)
    gamma, _ = _bn_params(x, gamma, None)
    grad_out = _like(grad_out, x.dtype, "grad_out")
    _shape(grad_out, x.shape, "grad_out")
    c = x.shape[1]
    t = x.dtype.type
    if training:
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("running_var: expected arrays of shape (C,) in eval mode, got None")
        mean = _running(running_mean, c, "running_mean").astype(x.dtype, copy=False)
        var = _running(running_var, c, "running_var").astype(x.dtype, copy=False)
    inv_std = 1 / np.sqrt(var + t(eps))
    xhat = (x - mean[:, None, None]) * inv_std[:, None, None]
    grad_beta = grad_out.sum(axis=(0, 2, 3))
    grad_gamma = (grad_out * xhat).sum(axis=(0, 2, 3))
    if training:
        m = x.shape[0] * x.shape[2] * x.shape[3]
        centred = grad_out - (grad_beta / m)[:, None, None] - xhat * (grad_gamma / m)[:, None, None]
        grad_x = (gamma * inv_std)[:, None, None] * centred
    else:
        grad_x = grad_out * (gamma * inv_std)[:, None, None]
    return grad_x, grad_gamma, grad_beta


__all__ = [
    "batch_norm2d",
    "batch_norm2d_backward",
    "local_response_norm",
    "local_response_norm_backward",
]
