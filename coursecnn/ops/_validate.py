"""Shared argument checks for ``coursecnn.ops``.

Every check raises ``ValueError`` naming the argument, what was expected and what came, e.g.
``x: expected a 4-D array (N, C, H, W), got shape (3, 5)``.
"""

from __future__ import annotations

import numbers

import numpy as np

METHODS = ("fast", "naive")


def _pair(value, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair ``(h, w)``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}") from None
    if len(items) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items
    ):
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    return int(items[0]), int(items[1])


def _positive_pair(value, name: str) -> tuple[int, int]:
    pair = _pair(value, name)
    if min(pair) <= 0:
        raise ValueError(f"{name}: expected positive values (1 or more), got {value!r}")
    return pair


def _nonnegative_pair(value, name: str) -> tuple[int, int]:
    pair = _pair(value, name)
    if min(pair) < 0:
        raise ValueError(f"{name}: expected non-negative values (0 or more), got {value!r}")
    return pair


def _float_array(x, name: str) -> np.ndarray:
    """``x`` as an ndarray of float32 or float64 (anything else raises)."""
    arr = np.asarray(x)
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected a float32 or float64 array, got dtype {arr.dtype}")
    return arr


def _like(x, dtype, name: str) -> np.ndarray:
    """A float parameter (weight, bias...) converted to the dtype of the data it acts on."""
    return _float_array(x, name).astype(dtype, copy=False)


def _ndim(arr: np.ndarray, ndim: int, name: str, layout: str) -> None:
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array {layout}, got shape {arr.shape}")


def _x4d(x, name: str = "x") -> np.ndarray:
    arr = _float_array(x, name)
    _ndim(arr, 4, name, "(N, C, H, W)")
    return arr


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    return method


def _shape(arr: np.ndarray, expected: tuple, name: str) -> None:
    if tuple(arr.shape) != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)}, got shape {arr.shape}")


def _axis(axis: int, ndim: int, name: str = "axis") -> int:
    if not isinstance(axis, numbers.Integral) or not -ndim <= axis < ndim:
        raise ValueError(f"{name}: expected an int in [{-ndim}, {ndim - 1}], got {axis!r}")
    return int(axis) % ndim
