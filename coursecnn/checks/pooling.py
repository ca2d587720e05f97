"""Graded checks of notebook 03, pooling and activations.

References come from ``torch.nn.functional`` and autograd. Each check also computes the answers
that the classic mistakes give (gradient to every cell of the window, overwritten instead of
accumulated, no max subtracted, ...), so that a failure can name the mistake it recognises.

Tie rule for max pooling: the first maximum of a window in row-major order wins, as in PyTorch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from coursecnn.checks._guard import (
    AUTOGRAD,
    TORCH_POOL,
    declare,
)
from coursecnn.checks._report import as_float_array, call_student, fail, passed

__all__ = [
    "check_max_pool_forward",
    "check_max_pool_backward",
    "check_leaky_relu_grad",
    "check_stable_softmax",
]

_Candidates = Sequence[tuple[np.ndarray | None, str]]


def _as_array(check: str, got: Any, expected: np.ndarray, what: str) -> np.ndarray:
    """``got`` as a float array of ``expected``'s shape, or a failure saying why not."""
    arr = as_float_array(check, got, f"{what}: an array of shape {expected.shape}")
    if arr.shape != expected.shape:
        fail(
            check,
            f"{what}: shape {expected.shape}",
            f"shape {arr.shape}",
            "the output size is floor((H - k) / stride) + 1 rows by floor((W - k) / stride) + 1 columns; "
            "a gradient has the shape of the array it is taken with respect to",
        )
    return arr


def _match(
    check: str,
    got: np.ndarray,
    expected: np.ndarray,
    case: str,
    candidates: _Candidates,
    otherwise: str,
    atol: float = 1e-8,
) -> None:
    """Fail unless ``got`` equals ``expected``; name the mistake whose answer ``got`` equals."""
    if np.allclose(got, expected, atol=atol, rtol=1e-6):
        return
    for wrong, mistake in candidates:
        if (
            wrong is not None
            and wrong.shape == got.shape
            and np.allclose(got, wrong, atol=atol, rtol=1e-6)
        ):
            fail(check, f"{case}\n{_fmt(expected)}", _fmt(got), mistake)
    fail(check, f"{case}\n{_fmt(expected)}", _fmt(got), otherwise)


def _fmt(a: np.ndarray) -> str:
    with np.printoptions(precision=4, suppress=True, threshold=80, linewidth=100):
        return str(a)


def _windows(shape: tuple[int, int], k: int, s: int):
    """Top-left corners ``(i, j, r, c)`` of every pooling window: output cell (i, j), input (r, c)."""
    h_out, w_out = (shape[0] - k) // s + 1, (shape[1] - k) // s + 1
    for i in range(h_out):
        for j in range(w_out):
            yield i, j, i * s, j * s


def covered_shape(shape: tuple[int, int], k: int, s: int) -> tuple[int, int]:
    """The rows and columns that some pooling window covers, from the top-left corner."""
    return tuple((((n - k) // s) * s + k) for n in shape)  # type: ignore[return-value]


def fail_if_window_shaped(name: str, got: Any, shape: tuple[int, int], k: int, s: int) -> None:
    """Name the mistake of a gradient shaped by the windows instead of by ``x``."""
    got_shape = np.shape(got) if got is not None else None
    covered = covered_shape(shape, k, s)
    if got_shape is not None and got_shape != tuple(shape) and got_shape == covered:
        fail(
            name,
            f"grad_x of shape {tuple(shape)}, the shape of x",
            f"shape {got_shape}",
            "the gradient stops where the last window ends: rows and columns that no window "
            "covers are still part of x (their gradient is 0); start from np.zeros(x.shape)",
        )


def _torch_pool(x: np.ndarray, k: int, s: int, kind: str = "max") -> np.ndarray:
    t = torch.from_numpy(np.asarray(x, dtype=np.float64))[None, None]
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    return pool(t, k, s).numpy()[0, 0]


def _torch_max_pool_backward(grad_out: np.ndarray, x: np.ndarray, k: int, s: int) -> np.ndarray:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    F.max_pool2d(t[None, None], k, s).backward(torch.from_numpy(grad_out)[None, None])
    return t.grad.numpy()


# ------------------------------------------------------------------------------- max-pool forward
_FORWARD_CASES = [  # (name, shape, k, stride)
    ("2x2 windows, stride 2, a 4x6 input", (4, 6), 2, 2),
    ("overlapping 3x3 windows, stride 2 (AlexNet), a 5x7 input", (5, 7), 3, 2),
    ("2x2 windows, stride 1, a 4x5 input", (4, 5), 2, 1),
    ("3x3 windows, stride 3, a 7x8 input (the last row and columns are left over)", (7, 8), 3, 3),
]


def check_max_pool_forward(max_pool_forward: Callable[..., Any]) -> None:
    """``max_pool_forward(x, k, stride)`` on a 2-D ``x`` returns the max of each k x k window."""
    name = "check_max_pool_forward"
    rng = np.random.default_rng(3)
    for case, shape, k, s in _FORWARD_CASES:
        for sign in (1.0, -1.0):  # all-negative inputs expose a running max started at 0
            x = sign * (rng.permutation(shape[0] * shape[1]).reshape(shape) + 1.0)
            label = f"{case}, {'positive' if sign > 0 else 'all-negative'} values, x =\n{_fmt(x)}"
            expected = _torch_pool(x, k, s)
            got = _as_array(
                name, call_student(name, max_pool_forward, x.copy(), k, s), expected, "output"
            )
            _match(
                name,
                got,
                expected,
                label,
                [
                    (
                        _torch_pool(x, k, s, "avg"),
                        "you averaged the window: max pooling keeps its largest value",
                    ),
                    (
                        np.maximum(expected, 0),
                        "the running maximum starts at 0, so all-negative windows give 0: "
                        "start it at the window's first value or -inf",
                    ),
                    (
                        _torch_pool(x.T, k, s).T if shape[0] != shape[1] else None,
                        "rows and columns are swapped: x[r, c] has r going down (height), c across (width)",
                    ),
                ],
                "each output cell (i, j) is the max of x[i*stride : i*stride+k, j*stride : j*stride+k]",
            )
    passed(
        name, "non-square inputs, overlapping windows, stride 1, left-over borders, negative values"
    )


# ------------------------------------------------------------------------------ max-pool backward
def _wrong_max_pool_backward(grad_out: np.ndarray, x: np.ndarray, k: int, s: int) -> _Candidates:
    every = np.zeros_like(x)
    overwrite = np.zeros_like(x)
    ties_all = np.zeros_like(x)
    last = np.zeros_like(x)
    for i, j, r, c in _windows(x.shape, k, s):
        win = x[r : r + k, c : c + k]
        g = grad_out[i, j]
        every[r : r + k, c : c + k] += g
        a, b = np.unravel_index(np.argmax(win), win.shape)
        overwrite[r + a, c + b] = g
        ties_all[r : r + k, c : c + k] += g * (win == win.max())
        flat_last = win.size - 1 - np.argmax(win.ravel()[::-1])
        a2, b2 = np.unravel_index(flat_last, win.shape)
        last[r + a2, c + b2] += g
    return [
        (
            every,
            "the gradient was sent to every cell of the window: only the cell that held the max "
            "(the argmax) gets it; the others did not affect the output",
        ),
        (
            every / (k * k),
            "that is average-pool backward (grad / k^2 to every cell): max pooling sends "
            "the whole gradient to the argmax cell only",
        ),
        (
            overwrite,
            "in overlapping windows one cell can be the max of several windows: add (+=) the "
            "gradients, do not overwrite (=)",
        ),
        (
            ties_all,
            "with ties every tied cell got the gradient: send it to one cell, the first max in "
            "row-major order (np.argmax of the flattened window)",
        ),
        (
            last,
            "with ties the gradient went to the last max: use the first (np.argmax returns the first)",
        ),
    ]


def check_max_pool_backward(max_pool_backward: Callable[..., Any]) -> None:
    """``max_pool_backward(grad_out, x, k, stride)`` returns dL/dx, shaped like ``x``."""
    name = "check_max_pool_backward"
    rng = np.random.default_rng(4)
    distinct = lambda shape: rng.permutation(shape[0] * shape[1]).reshape(shape) - 10.0  # noqa: E731
    ties = np.array(
        [
            [1.0, 1.0, 0.0, 2.0, 2.0, 2.0],
            [1.0, 1.0, 0.0, 2.0, 2.0, 2.0],
            [0.0, 3.0, 3.0, 0.0, 5.0, 5.0],
            [0.0, 3.0, 3.0, 0.0, 5.0, 5.0],
        ]
    )
    cases = [
        ("2x2 windows, stride 2, a 4x6 input", distinct((4, 6)), 2, 2),
        ("overlapping 3x3 windows, stride 2, a 5x7 input", distinct((5, 7)), 3, 2),
        (
            "2x2 windows, stride 1, a 4x5 input with a large value shared by four windows",
            np.pad(np.full((1, 1), 50.0), ((1, 2), (2, 2))) + rng.random((4, 5)),
            2,
            1,
        ),
        ("ties: 2x2 windows, stride 2, windows full of equal values", ties, 2, 2),
        (
            "ties in overlapping windows: 3x3, stride 2, a 5x7 input of a few values",
            rng.integers(0, 3, (5, 7)).astype(np.float64),
            3,
            2,
        ),
        (
            "2x2 windows, stride 2, a 5x7 input: the last row and column are in no window",
            distinct((5, 7)),
            2,
            2,
        ),
        (
            "3x3 windows, stride 3, a 7x8 input: the last row and two columns are in no window",
            distinct((7, 8)),
            3,
            3,
        ),
    ]
    for case, x, k, s in cases:
        h_out, w_out = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
        grad_out = rng.integers(1, 10, (h_out, w_out)).astype(np.float64)
        expected = _torch_max_pool_backward(grad_out, x, k, s)
        label = f"{case},\nx =\n{_fmt(x)}\ngrad_out =\n{_fmt(grad_out)}\ngrad_x ="
        got = call_student(name, max_pool_backward, grad_out.copy(), x.copy(), k, s)
        fail_if_window_shaped(name, got, x.shape, k, s)
        got = _as_array(name, got, expected, "grad_x")
        _match(
            name,
            got,
            expected,
            label,
            _wrong_max_pool_backward(grad_out, x, k, s),
            "each grad_out[i, j] goes to the one cell of x that was the max of window (i, j) "
            "(the first max in row-major order), and contributions from overlapping windows add up",
        )
    passed(
        name,
        "argmax routing, overlapping windows accumulate, ties go to the first max, cells in "
        "no window get 0",
    )


# ------------------------------------------------------------------------------- leaky ReLU grad
def check_leaky_relu_grad(leaky_relu_grad: Callable[..., Any]) -> None:
    """``leaky_relu_grad(x, slope)`` returns d/dx max(slope * x, x), element by element."""
    name = "check_leaky_relu_grad"
    # x = 0 is included: the exercise asks for `slope` there, as PyTorch's backward gives
    x = np.array([[-3.0, -0.5, 0.0, 2.0], [4.0, -1e-3, 1e-3, -7.0], [0.7, -2.5, 9.0, -0.1]])
    shapes = {0.1: x, 0.3: x, 0.2: x.ravel(), 0.05: np.stack([x, -x])}  # 2-D, 1-D and 3-D
    for slope, x in shapes.items():
        t = torch.tensor(x, requires_grad=True)
        F.leaky_relu(t, slope).sum().backward()
        expected = t.grad.numpy()
        got = _as_array(
            name, call_student(name, leaky_relu_grad, x.copy(), slope), expected, "dy/dx"
        )
        _match(
            name,
            got,
            expected,
            f"slope = {slope}, x =\n{_fmt(x)}\ndy/dx =",
            [
                (
                    np.where(x > 0, x, slope * x),
                    "that is the activation itself; return its derivative",
                ),
                (
                    (x > 0).astype(float),
                    "negative inputs have derivative `slope`, not 0 (that is plain ReLU)",
                ),
                (
                    np.where(x > 0, 1.0, 0.1),
                    "the slope is hard-coded to 0.1: use the `slope` argument",
                ),
                (
                    np.where(x > 0, 1.0, slope * x),
                    "for x < 0 the derivative of slope * x is slope, not slope * x",
                ),
                (
                    np.where(x > 0, slope, 1.0),
                    "the two branches are swapped: 1 for x > 0, slope for x < 0",
                ),
                (
                    np.where(x >= 0, 1.0, slope),
                    "at x = 0 take `slope`, as PyTorch does: test x > 0, not x >= 0",
                ),
            ],
            "the derivative is 1 where x > 0 and slope where x <= 0",
        )
    passed(name, "both branches, any slope, inputs of any shape")


# -------------------------------------------------------------------------------- stable softmax
def check_stable_softmax(stable_softmax: Callable[..., Any]) -> None:
    """``stable_softmax(z)``: softmax of each row of a 2-D ``z``, finite even for logits of +-1000."""
    name = "check_stable_softmax"
    rng = np.random.default_rng(5)
    cases = [
        ("ordinary logits, 3 rows of 4", rng.normal(size=(3, 4))),
        (
            "huge logits, rows [1000, 999, 998] and [-1000, -1001, -1002]",
            np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]),
        ),
        (
            "rows of very different scales (one max for the whole array is not enough)",
            np.array([[1000.0, 0.0, -1000.0, 500.0], [-2000.0, -2001.0, -2003.0, -1999.0]]),
        ),
    ]
    for case, z in cases:
        expected = F.softmax(torch.from_numpy(z), dim=-1).numpy()
        z_in = z.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = _as_array(
                name, call_student(name, stable_softmax, z_in), expected, "probabilities"
            )
            naive = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
            global_max = np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=-1, keepdims=True)
            col = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
        if not np.array_equal(z_in, z):
            fail(
                name,
                "z left as it was",
                "z changed by the call",
                "`z -= z.max(...)` changes the caller's array in place: write `z = z - z.max(...)`",
            )
        if not np.all(np.isfinite(got)):
            if np.allclose(got, global_max, equal_nan=True) and not np.allclose(
                got, naive, equal_nan=True
            ):
                fail(
                    name,
                    f"{case}: finite probabilities\n{_fmt(expected)}",
                    _fmt(got),
                    "one max for the whole array: a row far below it underflows to 0 / 0; subtract "
                    "each row's own max (axis=-1, keepdims=True)",
                )
            fail(
                name,
                f"{case}: finite probabilities\n{_fmt(expected)}",
                _fmt(got),
                "exp overflows (inf / inf = nan) or underflows (0 / 0): subtract each row's max "
                "before exp; softmax(z) = softmax(z - c) for any constant c",
            )
        _match(
            name,
            got,
            expected,
            case,
            [
                (naive, "no max subtracted: exp(1000) overflows; subtract each row's max first"),
                (
                    global_max,
                    "one max for the whole array: subtract each row's own max (axis=-1, keepdims=True)",
                ),
                (col, "softmax over columns: each row (axis=-1) must sum to 1"),
            ],
            "softmax(z)_k = exp(z_k - max(z)) / sum_j exp(z_j - max(z)), row by row; each row sums to 1",
        )
    passed(name, "rows sum to 1, finite for logits of +-1000, input left unchanged")


# ------------------------------------------------------------- what each exercise rules out
declare("check_max_pool_forward", "max pooling", forbid=TORCH_POOL)
declare("check_max_pool_backward", "max pooling's backward pass", forbid=TORCH_POOL + AUTOGRAD)
declare(
    "check_leaky_relu_grad",
    "leaky ReLU's derivative",
    forbid=("torch.nn.functional:leaky_relu", "torch.nn:LeakyReLU") + AUTOGRAD,
)
declare(
    "check_stable_softmax",
    "the stable softmax",
    forbid=[
        "scipy.special:softmax",
        "scipy.special:log_softmax",
        "torch.nn.functional:softmax",
        "torch.nn.functional:log_softmax",
        "torch:softmax",
        "torch:log_softmax",
        "torch:Tensor.softmax",
        "torch:Tensor.log_softmax",
    ],
)
