"""2-D cross-correlation and true convolution of two plain 2-D arrays, as ``scipy.signal``.

``correlate:  out[i, j] = sum_{p, q} in1[i + p, j + q] * in2[p, q]``  (the kernel slides as is)
``convolve:   out[i, j] = sum_{p, q} in1[i - p, j - q] * in2[p, q]``  (the kernel is flipped)

Modes: ``"full"`` (every overlap, size M1 + M2 - 1), ``"same"`` (the size of in1, centred as
scipy does), ``"valid"`` (only complete overlaps, size M1 - M2 + 1; if in2 is the larger array in
every dimension the roles swap, as in scipy).
"""

from __future__ import annotations

import numpy as np

from ._validate import _method, _ndim

MODES = ("full", "same", "valid")


def _as_2d(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name}: expected a real (int or float) array, got dtype {arr.dtype}")
    _ndim(arr, 2, name, "(H, W)")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    return arr


def _prepare(in1, in2, mode):
    a, k = _as_2d(in1, "in1"), _as_2d(in2, "in2")
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    dtype = np.result_type(a.dtype, k.dtype)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64  # integer images are computed (and returned) in float64
    return a.astype(dtype, copy=False), k.astype(dtype, copy=False)


def _valid(a: np.ndarray, k: np.ndarray, method: str) -> np.ndarray:
    """Valid cross-correlation of a (M1, N1) with a kernel k (M2, N2) no larger than a."""
    oh, ow = a.shape[0] - k.shape[0] + 1, a.shape[1] - k.shape[1] + 1
    out = np.zeros((oh, ow), dtype=a.dtype)
    if method == "naive":
        for i in range(oh):
            for j in range(ow):
                out[i, j] = np.sum(a[i : i + k.shape[0], j : j + k.shape[1]] * k)
        return out
    # fast: one shifted copy of the image per kernel tap, scaled and added
    for p in range(k.shape[0]):
        for q in range(k.shape[1]):
            out += k[p, q] * a[p : p + oh, q : q + ow]
    return out


def _swap_needed(a: np.ndarray, k: np.ndarray) -> bool:
    ok1 = a.shape[0] >= k.shape[0] and a.shape[1] >= k.shape[1]
    ok2 = k.shape[0] >= a.shape[0] and k.shape[1] >= a.shape[1]
    if not (ok1 or ok2):
        raise ValueError(
            f"in2: expected, for mode 'valid', one array at least as large as the other in every "
            f"dimension, got shapes {a.shape} and {k.shape}"
        )
    return not ok1


def _full(a: np.ndarray, k: np.ndarray, method: str) -> np.ndarray:
    padded = np.pad(a, ((k.shape[0] - 1,) * 2, (k.shape[1] - 1,) * 2))
    return _valid(padded, k, method)


def correlate2d(in1, in2, mode: str = "full", method: str = "fast") -> np.ndarray:
    """Cross-correlation of two 2-D arrays, equal to ``scipy.signal.correlate2d(in1, in2, mode)``.

    in1: (M1, N1); in2: (M2, N2) -> full: (M1+M2-1, N1+N2-1), same: (M1, N1),
    valid: (M1-M2+1, N1-N2+1). Integer inputs give float64. ``"naive"`` loops over outputs;
    ``"fast"`` adds one scaled, shifted copy of in1 per kernel tap.
    """
    method = _method(method)
    a, k = _prepare(in1, in2, mode)
    if mode == "valid":
        if _swap_needed(a, k):
            return _valid(k, a, method)[::-1, ::-1].copy()
        return _valid(a, k, method)
    full = _full(a, k, method)
    if mode == "full":
        return full
    r, c = k.shape[0] // 2, k.shape[1] // 2
    return full[r : r + a.shape[0], c : c + a.shape[1]].copy()


def convolve2d(in1, in2, mode: str = "full", method: str = "fast") -> np.ndarray:
    """True convolution (the kernel flipped), equal to ``scipy.signal.convolve2d(in1, in2, mode)``.

    Same shapes as ``correlate2d``; convolution is correlation with ``in2[::-1, ::-1]``.
    """
    method = _method(method)
    a, k = _prepare(in1, in2, mode)
    if mode == "valid":
        if _swap_needed(a, k):
            a, k = k, a  # convolution commutes
        return _valid(a, k[::-1, ::-1], method)
    full = _full(a, k[::-1, ::-1], method)
    if mode == "full":
        return full
    r, c = (k.shape[0] - 1) // 2, (k.shape[1] - 1) // 2
    return full[r : r + a.shape[0], c : c + a.shape[1]].copy()


__all__ = ["convolve2d", "correlate2d"]
