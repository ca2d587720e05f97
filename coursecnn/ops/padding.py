"""Padding the two spatial axes: with zeros, by reflection, or by replicating the border value.

For a row ``a b c d`` padded by 2:  zero ``0 0 a b c d 0 0``, reflect ``c b a b c d c b``
(the border value is not repeated), replicate ``a a a b c d d d`` (the neighbouring value).
"""

from __future__ import annotations

import numbers

import numpy as np

MODES = {"zero": "constant", "constant": "constant", "reflect": "reflect", "replicate": "edge"}


def _padding4(padding) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) from an int, a pair (ph, pw) or a 4-tuple as in torch's F.pad."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        pads = (int(padding),) * 4
    else:
        try:
            items = tuple(int(v) for v in padding)
        except (TypeError, ValueError):
            raise ValueError(
                f"padding: expected an int, (ph, pw) or (left, right, top, bottom), got {padding!r}"
            ) from None
        if len(items) == 2:
            pads = (items[1], items[1], items[0], items[0])
        elif len(items) == 4:
            pads = items
        else:
            raise ValueError(
                f"padding: expected an int, (ph, pw) or (left, right, top, bottom), got {padding!r}"
            )
    if min(pads) < 0:
        raise ValueError(f"padding: expected non-negative values, got {padding!r}")
    return pads


def _args(x, padding, mode):
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(
            f"x: expected an array with at least 2 dimensions (..., H, W), got shape {x.shape}"
        )
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {tuple(MODES)}, got {mode!r}")
    left, right, top, bottom = _padding4(padding)
    h, w = x.shape[-2:]
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise ValueError(
            f"padding: expected, for mode 'reflect', less than the input size {(h, w)} on each "
            f"side, got {padding!r}"
        )
    if mode == "replicate" and (h == 0 or w == 0):
        raise ValueError(f"x: expected a non-empty plane for mode 'replicate', got shape {x.shape}")
    return x, (left, right, top, bottom)


def pad2d(x, padding, mode: str = "zero", value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of x (..., H, W), as ``torch.nn.functional.pad``.

    padding: int, (ph, pw) or (left, right, top, bottom); mode: ``"zero"`` (alias
    ``"constant"``, filled with ``value``), ``"reflect"`` or ``"replicate"``.
    -> (..., H + top + bottom, W + left + right), same dtype.
    """
    x, (left, right, top, bottom) = _args(x, padding, mode)
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    np_mode = MODES[mode]
    if np_mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=np_mode)


def pad2d_backward(grad_out, x_shape, padding, mode: str = "zero") -> np.ndarray:
    """Gradient of ``pad2d``: each padded value's gradient goes back to the value it copies.

    grad_out: (..., Hp, Wp) -> grad_x: x_shape = (..., H, W). Computed as ``R.T @ grad_out @ C``
    where R (Hp, H) and C (Wp, W) are the 0/1 matrices saying which input row/column each padded
    row/column copies (zero padding copies nothing).
    """
    shape = tuple(int(v) for v in x_shape)
    _, (left, right, top, bottom) = _args(np.empty(shape[-2:]), padding, mode)
    grad_out = np.asarray(grad_out)
    h, w = shape[-2:]
    expected = shape[:-2] + (h + top + bottom, w + left + right)
    if grad_out.shape != expected:
        raise ValueError(f"grad_out: expected shape {expected}, got shape {grad_out.shape}")

    def selector(n, before, after):
        src = np.arange(n)
        if MODES[mode] == "constant":
            padded_src = np.concatenate([np.full(before, -1), src, np.full(after, -1)])
        else:
            padded_src = np.pad(src, (before, after), mode=MODES[mode])
        onehot = (padded_src[:, None] == src[None, :]).astype(grad_out.dtype)
        return onehot  # (n + before + after, n)

    rows, cols = selector(h, top, bottom), selector(w, left, right)
    return np.matmul(np.matmul(rows.T, grad_out), cols)


__all__ = ["pad2d", "pad2d_backward"]
