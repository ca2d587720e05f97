"""Graded checks of notebook 04, gradients.

References come from PyTorch autograd and ``scipy.signal``. Each check also computes the answers
that the classic mistakes give (no kernel flip, bias gradient not summed, one-sided differences,
...), so that a failure can name the mistake it recognises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import signal

from coursecnn.checks._guard import (
    AUTOGRAD,
    TORCH_CONV,
    TORCH_POOL,
    declare,
)
from coursecnn.checks._report import as_float_array, call_student, fail, passed
from coursecnn.checks.pooling import _as_array, _fmt, _match, _windows, fail_if_window_shaped

__all__ = [
    "check_conv_backward",
    "check_conv_backward_nchw",
    "check_avg_pool_backward",
    "check_sigmoid_backward",
    "check_numerical_gradient",
    "check_convnet_loss",
]


# --------------------------------------------------------------------------------- conv backward
def _torch_conv_grads(dout: np.ndarray, x: np.ndarray, w: np.ndarray):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    out = F.conv2d(xt[None, None], wt[None, None], bt)  # cross-correlation, as in every DL library
    out.backward(torch.from_numpy(dout)[None, None])
    return xt.grad.numpy(), wt.grad.numpy(), float(bt.grad.item())


def check_conv_backward(conv_backward: Callable[..., Any]) -> None:
    """``conv_backward(dout, x, w) -> (dx, dw, db)`` for ``out = correlate(x, w, 'valid') + b``.

    Single channel, stride 1, no padding; ``x: (H, W)``, ``w: (kh, kw)``, ``dout: (H-kh+1, W-kw+1)``.
    """
    name = "check_conv_backward"
    rng = np.random.default_rng(6)
    cases = [
        ("a 5x7 input and an asymmetric 2x3 kernel", (5, 7), (2, 3)),
        ("a 6x4 input and a 3x2 kernel", (6, 4), (3, 2)),
        ("a 4x4 input and a 3x3 kernel", (4, 4), (3, 3)),
    ]
    for case, xs, ws in cases:
        x = rng.normal(size=xs)
        w = rng.normal(size=ws)
        dout = rng.normal(size=(xs[0] - ws[0] + 1, xs[1] - ws[1] + 1))
        dx_ref, dw_ref, db_ref = _torch_conv_grads(dout, x, w)
        got = call_student(name, conv_backward, dout.copy(), x.copy(), w.copy())
        if not isinstance(got, tuple | list) or len(got) != 3:
            fail(
                name, "a tuple (dx, dw, db)", got, "return all three gradients: `return dx, dw, db`"
            )
        dx, dw, db = got
        label = f"{case}: x =\n{_fmt(x)}\nw =\n{_fmt(w)}\ndout =\n{_fmt(dout)}\n"
        dx = _as_array(name, dx, dx_ref, "dx (shape of x)")
        _match(
            name,
            dx,
            dx_ref,
            label + "dx =",
            [
                (
                    signal.correlate(dout, w, mode="full"),
                    "dx is the FULL convolution of dout with the kernel, i.e. a full correlation with the "
                    "kernel flipped by 180 degrees (w[::-1, ::-1]); you used the kernel unflipped",
                ),
                (
                    signal.correlate(dout, w, mode="same") if dout.shape == x.shape else None,
                    "use mode='full': dx has the shape of x",
                ),
            ],
            "dx[r, c] = sum over (i, j) of dout[i, j] * w[r - i, c - j]: pad dout by (kh-1, kw-1) "
            "with zeros and correlate with the flipped kernel",
        )
        dw = _as_array(name, dw, dw_ref, "dw (shape of w)")
        _match(
            name,
            dw,
            dw_ref,
            label + "dw =",
            [
                (
                    dw_ref[::-1, ::-1],
                    "dw came out flipped: dw = correlate(x, dout, 'valid'), "
                    "dw[m, n] = sum over (i, j) of dout[i, j] * x[i + m, j + n]",
                ),
                (
                    signal.convolve(x, dout, mode="valid"),
                    "dout got flipped: a convolution flips its second argument; dw = correlate(x, dout, "
                    "'valid') slides dout over x unflipped",
                ),
                (
                    dw_ref.T if dw_ref.shape[0] == dw_ref.shape[1] else None,
                    "dw came out transposed: rows of w move down the rows of x",
                ),
            ],
            "dw[m, n] = sum over (i, j) of dout[i, j] * x[i + m, j + n], a valid correlation of x with dout",
        )
        if db is None:
            fail(
                name,
                f"db = {db_ref:.6f} (a number)",
                None,
                "you forgot the bias gradient: out = ... + b, so db = dout.sum()",
            )
        db_arr = np.asarray(db, dtype=np.float64)
        if db_arr.shape == dout.shape:
            fail(
                name,
                f"db = {db_ref:.6f} (one number)",
                f"an array of shape {db_arr.shape}",
                "the bias is added to every output cell, so its gradient is the SUM of dout: dout.sum()",
            )
        if db_arr.size != 1 or not np.isclose(float(db_arr.ravel()[0]), db_ref, atol=1e-8):
            value = db_arr.ravel()[0] if db_arr.size == 1 else db_arr
            hint = (
                "db = dout.sum(): one bias is added to every output cell, so every cell contributes"
                if np.all(db_arr == 0) or np.isclose(db_arr.ravel()[0], dout.mean())
                else "db = dout.sum()"
            )
            fail(name, f"db = {db_ref:.6f}", value, hint)
    passed(name, "dx, dw and db match PyTorch autograd on non-square inputs and asymmetric kernels")


# ------------------------------------------------- conv backward: batch, channels, stride, padding
def _torch_conv_grads_nchw(dout, x, w, stride: int, padding: int):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    F.conv2d(xt, wt, bt, stride=stride, padding=padding).backward(torch.from_numpy(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def _nchw_mistakes(dout, x, w, stride: int, padding: int) -> dict[str, tuple[np.ndarray, ...]]:
    """What the classic mistakes return: ``{hint: (dx, dw, db)}``."""
    out = {}
    if stride > 1:  # every window taken at i, j instead of i * stride, j * stride
        n, c, h, wd = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        kh, kw = w.shape[2:]
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                g = dout[:, :, i, j]
                dw += np.einsum("nf,nckl->fckl", g, xp[:, :, i : i + kh, j : j + kw])
                dxp[:, :, i : i + kh, j : j + kw] += np.einsum("nf,fckl->nckl", g, w)
        out[
            "output cell (i, j) saw the window starting at (i * stride, j * stride) of the padded "
            "input, not at (i, j)"
        ] = (dxp[:, :, padding : padding + h, padding : padding + wd], dw, dout.sum(axis=(0, 2, 3)))
    return out


def check_conv_backward_nchw(conv_backward_nchw: Callable[..., Any]) -> None:
    """``conv_backward_nchw(dout, x, w, stride, padding) -> (dx, dw, db)`` for a conv layer.

    ``x: (N, C, H, W)``, ``w: (F, C, kh, kw)``, zero padding ``padding`` on every side, then a
    cross-correlation with step ``stride``; ``dout: (N, F, OH, OW)`` with ``OH = (H + 2 padding -
    kh) // stride + 1``. References: PyTorch autograd of ``F.conv2d``.
    """
    name = "check_conv_backward_nchw"
    rng = np.random.default_rng(16)
    cases = [  # (what, x shape, w shape, stride, padding)
        ("1 image, 1 channel, stride 1, no padding", (1, 1, 5, 6), (1, 1, 2, 3), 1, 0),
        ("2 images, 3 channels, 4 filters, stride 1, padding 1", (2, 3, 5, 4), (4, 3, 3, 3), 1, 1),
        ("2 images, 2 channels, 3 filters, stride 2, no padding", (2, 2, 7, 6), (3, 2, 3, 2), 2, 0),
        (
            "3 images, 2 channels, 2 filters, stride 2, padding 2 (the last row of the padded "
            "input falls outside every window)",
            (3, 2, 6, 7),
            (2, 2, 3, 3),
            2,
            2,
        ),
        ("1 image, 1 channel, stride 3, padding 1", (1, 1, 8, 8), (1, 1, 3, 3), 3, 1),
    ]
    for case, xs, ws, stride, padding in cases:
        x, w = rng.normal(size=xs), rng.normal(size=ws)
        oh = (xs[2] + 2 * padding - ws[2]) // stride + 1
        ow = (xs[3] + 2 * padding - ws[3]) // stride + 1
        dout = rng.normal(size=(xs[0], ws[0], oh, ow))
        refs = _torch_conv_grads_nchw(dout, x, w, stride, padding)
        got = call_student(
            name, conv_backward_nchw, dout.copy(), x.copy(), w.copy(), stride, padding
        )
        if not isinstance(got, tuple | list) or len(got) != 3:
            fail(
                name, "a tuple (dx, dw, db)", got, "return all three gradients: `return dx, dw, db`"
            )
        label = f"{case}: x {xs}, w {ws}, dout {dout.shape}"
        hints = {
            "dx": "crop the padding off: dx = dx_padded[:, :, p:p + H, p:p + W] (not [p:-p], which "
            "is empty when p = 0); each window of the padded input receives dout[n, f, i, j] * "
            "w[f] for every filter f",
            "dw": "dw[f] sums dout[n, f, i, j] * window over every image n and every output cell "
            "(i, j); the windows are those of the padded input",
            "db": "db[f] = dout[:, f].sum(): one bias per filter, summed over images and positions, "
            "shape (F,)",
        }
        arrays = []
        for what, value, ref in zip(("dx", "dw", "db"), got, refs, strict=True):
            arr = as_float_array(name, value, f"{what}: an array of shape {ref.shape}")
            if arr.shape != ref.shape:
                fail(
                    name,
                    f"{label}\n{what} of shape {ref.shape}",
                    f"shape {arr.shape}",
                    "a gradient has the shape of what it is taken with respect to: dx that of x "
                    "(the padding cropped off), dw that of w, db one number per filter",
                )
            arrays.append(arr)
        mistakes = _nchw_mistakes(dout, x, w, stride, padding)
        for what, arr, ref in zip(("dx", "dw", "db"), arrays, refs, strict=True):
            if np.allclose(arr, ref, atol=1e-8, rtol=1e-6):
                continue
            for hint, wrong in mistakes.items():
                if all(np.allclose(a, b, atol=1e-8) for a, b in zip(arrays, wrong, strict=True)):
                    fail(name, f"{label}: {what} as autograd computes it", "another array", hint)
            fail(
                name,
                f"{label}: {what} as autograd computes it",
                f"an array that differs by up to {np.abs(arr - ref).max():.3g}",
                hints[what],
            )
    passed(
        name,
        "dx, dw and db match PyTorch autograd with batches, channels, filters, strides 1 to 3 "
        "and padding 0 to 2",
    )


# ------------------------------------------------------------------------------ avg-pool backward
def check_avg_pool_backward(avg_pool_backward: Callable[..., Any]) -> None:
    """``avg_pool_backward(grad_out, x_shape, k, stride)`` returns dL/dx of average pooling."""
    name = "check_avg_pool_backward"
    rng = np.random.default_rng(7)
    cases = [
        ("2x2 windows, stride 2, a 4x6 input", (4, 6), 2, 2),
        ("overlapping 3x3 windows, stride 2, a 5x7 input", (5, 7), 3, 2),
        ("2x2 windows, stride 1, a 4x5 input", (4, 5), 2, 1),
        (
            "2x2 windows, stride 2, a 5x7 input: the last row and column are in no window",
            (5, 7),
            2,
            2,
        ),
        (
            "3x3 windows, stride 3, a 7x8 input: the last row and two columns are in no window",
            (7, 8),
            3,
            3,
        ),
        (
            "overlapping 3x3 windows, stride 2, a 6x8 input: the last row and column are left over",
            (6, 8),
            3,
            2,
        ),
    ]
    for case, shape, k, s in cases:
        h_out, w_out = (shape[0] - k) // s + 1, (shape[1] - k) // s + 1
        grad_out = rng.integers(1, 10, (h_out, w_out)).astype(np.float64)
        t = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        F.avg_pool2d(t[None, None], k, s).backward(torch.from_numpy(grad_out)[None, None])
        expected = t.grad.numpy()
        no_div, overwrite = np.zeros(shape), np.zeros(shape)
        for i, j, r, c in _windows(shape, k, s):
            no_div[r : r + k, c : c + k] += grad_out[i, j]
            overwrite[r : r + k, c : c + k] = grad_out[i, j] / (k * k)
        got = call_student(name, avg_pool_backward, grad_out.copy(), shape, k, s)
        fail_if_window_shaped(name, got, shape, k, s)
        got = _as_array(name, got, expected, "grad_x")
        _match(
            name,
            got,
            expected,
            f"{case}, grad_out =\n{_fmt(grad_out)}\ngrad_x =",
            [
                (
                    no_div,
                    "each output is the MEAN of k*k inputs, so each input gets grad_out / (k*k)",
                ),
                (
                    overwrite,
                    "overlapping windows share cells: add (+=) their contributions, do not overwrite",
                ),
                (no_div / k, "divide by the window's area k*k, not by k"),
            ],
            "every cell of window (i, j) receives grad_out[i, j] / (k*k); overlapping windows add up",
        )
    passed(
        name, "every cell gets grad / k^2, overlapping windows accumulate, cells in no window get 0"
    )


# ------------------------------------------------------------------------------- sigmoid backward
def check_sigmoid_backward(sigmoid_backward: Callable[..., Any]) -> None:
    """``sigmoid_backward(grad_out, x)`` returns dL/dx for ``y = sigmoid(x)``."""
    name = "check_sigmoid_backward"
    rng = np.random.default_rng(8)
    x = np.array([[-30.0, -4.0, -1.0, 0.0], [0.5, 2.0, 6.0, 30.0], [-0.2, 0.1, 3.0, -2.5]])
    grad_out = rng.normal(size=x.shape)
    t = torch.tensor(x, requires_grad=True)
    torch.sigmoid(t).backward(torch.from_numpy(grad_out))
    expected = t.grad.numpy()
    s = 1 / (1 + np.exp(-x))
    got = _as_array(
        name, call_student(name, sigmoid_backward, grad_out.copy(), x.copy()), expected, "grad_x"
    )
    _match(
        name,
        got,
        expected,
        f"x =\n{_fmt(x)}\ngrad_out =\n{_fmt(grad_out)}\ngrad_x =",
        [
            (
                s * (1 - s),
                "that is the local derivative only: multiply it by grad_out (chain rule)",
            ),
            (
                grad_out * x * (1 - x),
                "sigma'(x) = sigma(x) * (1 - sigma(x)): apply the formula to sigma(x), not to x",
            ),
            (
                grad_out * s,
                "sigma'(x) = sigma(x) * (1 - sigma(x)), you left out the (1 - sigma(x)) factor",
            ),
            (
                grad_out * (1 - s**2),
                "1 - sigma^2 is not it (1 - tanh^2 is tanh's derivative): use sigma * (1 - sigma)",
            ),
        ],
        "grad_x = grad_out * sigma(x) * (1 - sigma(x))",
        atol=1e-10,
    )
    passed(name, "chain rule with sigma'(x) = sigma(x)(1 - sigma(x))")


# ----------------------------------------------------------------------------- numerical gradient
# The functions to differentiate live at module level: a grader sends them to the student's
# kernel by name (coursecnn.checks._remote).
def _sum_exp(v: np.ndarray) -> float:
    return float(np.sum(np.exp(v)))


def _neighbours_and_cubes(v: np.ndarray) -> float:
    return float(np.sum(v[:, :-1] * v[:, 1:]) + np.sum(v**3))


def _sum_cubes(v: np.ndarray) -> float:
    return float(np.sum(v**3))


def check_numerical_gradient(numerical_gradient: Callable[..., Any]) -> None:
    """``numerical_gradient(f, x, eps)`` returns the centred-difference gradient of scalar ``f`` at ``x``."""
    name = "check_numerical_gradient"
    rng = np.random.default_rng(9)
    x = rng.uniform(-1.0, 2.0, size=(3, 4))
    eps = 1e-5
    f = _sum_exp
    expected = np.exp(x)
    x_in = x.copy()
    got = call_student(name, numerical_gradient, f, x_in, eps)
    got = _as_array(name, got, expected, "gradient (shape of x)")
    if not np.allclose(x_in, x, atol=1e-12):
        fail(
            name,
            "x unchanged after the call",
            f"x changed by up to {np.abs(x_in - x).max():.2e}",
            "restore x[i] to its original value after evaluating f at x[i] + eps and x[i] - eps",
        )
    one_sided = np.zeros_like(x)
    f0 = f(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xp[idx] += eps
        one_sided[idx] = (f(xp) - f0) / eps
    err = float(np.abs(got - expected).max())
    if err > 1e-7:
        label = (
            f"f(x) = sum(exp(x)) on a 3x4 x, eps = {eps}: gradient exp(x) within 1e-7 "
            f"(largest error here {err:.1e})\n"
        )
        _match(
            name,
            got,
            expected,
            label,
            [
                (
                    one_sided,
                    "one-sided differences (f(x+eps) - f(x)) / eps have an error of order eps "
                    "(here ~1e-5); centred ones (f(x+eps) - f(x-eps)) / (2*eps) of order eps^2",
                ),
                (2 * expected, "divide the centred difference by 2*eps, not by eps"),
                (expected / 2, "divide by 2*eps, not by 4*eps (or do not halve twice)"),
            ],
            "grad[i] = (f(x with x[i] + eps) - f(x with x[i] - eps)) / (2 * eps) for every index i "
            "of x, including every row of a 2-D x (np.ndindex(x.shape) or np.nditer)",
            atol=1e-9,
        )
    quad = _neighbours_and_cubes
    x2 = rng.normal(size=(2, 5))
    exp2 = 3 * x2**2
    exp2[:, :-1] += x2[:, 1:]
    exp2[:, 1:] += x2[:, :-1]
    got2 = _as_array(
        name, call_student(name, numerical_gradient, quad, x2.copy(), eps), exp2, "gradient"
    )
    if not np.allclose(got2, exp2, atol=1e-7):
        fail(
            name,
            f"f(x) = sum of neighbour products + sum(x^3): gradient\n{_fmt(exp2)}",
            _fmt(got2),
            "perturb one entry at a time and restore it before moving on to the next",
        )
    cube = _sum_cubes
    for shape, step in (((7,), 1e-2), ((2, 3, 2), 0.05)):  # 1-D and 3-D x, a large eps
        x3 = rng.normal(size=shape)
        # for a cubic the centred difference is exact up to eps^2: (x+e)^3 - (x-e)^3 = 6x^2 e + 2e^3
        want = 3 * x3**2 + step**2
        got3 = call_student(name, numerical_gradient, cube, x3.copy(), step)
        got3 = _as_array(name, got3, want, f"gradient (x of shape {shape})")
        if not np.allclose(got3, want, atol=1e-8, rtol=1e-8):
            hard_coded = 3 * x3**2 + 1e-10
            fail(
                name,
                f"f(x) = sum(x^3) on x of shape {shape}, eps = {step}: (f(x+eps) - f(x-eps)) / "
                f"(2 eps) = 3x^2 + eps^2 =\n{_fmt(want)}",
                _fmt(got3),
                "use the eps that is passed in, not a fixed step"
                if np.allclose(got3, hard_coded, atol=1e-8)
                else "perturb every entry of an x of any shape: loop over np.ndindex(x.shape)",
            )
    passed(
        name,
        f"centred differences with the given eps, x of any shape, error {err:.1e} on exp, "
        "x left unchanged",
    )


# ------------------------------------------------------------------ a ConvNet from coursecnn.ops
CONVNET_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")

#: (case, N, C, H, W, filters, kernel, hidden, classes): non-square and odd-sized images (the
#: pool drops the last row and column), 3x3 and 5x5 kernels, 2 channels, a batch of 1.
CONVNET_CASES = (
    ("5 non-square 12x16 images, 4 filters 5x5, 9 hidden units", 5, 1, 12, 16, 4, 5, 9, 10),
    ("3 odd-sized 9x11 images with 2 channels, 3 filters 3x3, 6 hidden units, 4 classes",
     3, 2, 9, 11, 3, 3, 6, 4),
    ("a batch of 1: one 28x28 digit-sized image, 8 filters 5x5, 20 hidden units",
     1, 1, 28, 28, 8, 5, 20, 10),
)  # fmt: skip


def _convnet_case(rng: np.random.Generator, n, c, h, w, f, k, hidden, classes):
    flat = f * (h // 2) * (w // 2)
    params = {
        "W1": rng.normal(size=(f, c, k, k)) * np.sqrt(2 / (c * k * k)),
        "b1": 0.1 * rng.normal(size=f),
        "W2": rng.normal(size=(hidden, flat)) * np.sqrt(2 / flat),
        "b2": 0.1 * rng.normal(size=hidden),
        "W3": rng.normal(size=(classes, hidden)) * np.sqrt(2 / hidden),
        "b3": 0.1 * rng.normal(size=classes),
    }
    x = rng.normal(size=(n, c, h, w))
    y = rng.integers(0, classes, size=n)
    return params, x, y


def _straight_relu(h: torch.Tensor, through: bool) -> torch.Tensor:
    """ReLU forward; with ``through``, a backward that forgets ReLU's mask (the classic slip)."""
    return h + (F.relu(h) - h).detach() if through else F.relu(h)


def _torch_convnet(params, x, y, relu1_through=False, relu2_through=False):
    """Loss and gradients by PyTorch autograd, float64: conv (padding (K-1)//2) - ReLU - 2x2 max
    pool - flatten - linear - ReLU - linear - mean cross-entropy."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    pad = (params["W1"].shape[2] - 1) // 2
    a1 = F.conv2d(torch.from_numpy(x), t["W1"], t["b1"], padding=pad)
    p1 = F.max_pool2d(_straight_relu(a1, relu1_through), 2)
    r2 = _straight_relu(F.linear(p1.flatten(1), t["W2"], t["b2"]), relu2_through)
    loss = F.cross_entropy(F.linear(r2, t["W3"], t["b3"]), torch.from_numpy(y))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in t.items()}


_LAYER_HINTS = {
    "W3": "the output layer: ops.linear_backward(d_scores, r2, W3) with d_scores = "
    "ops.cross_entropy_backward(1.0, scores, y) and r2 the hidden ReLU's output",
    "W2": "the hidden layer: the hidden ReLU's backward (keep the gradient where a2 > 0), then "
    "ops.linear_backward(d_a2, flat, W2) with the flattened pooled maps as its input",
    "W1": "the conv layer: reshape the gradient of the flattened maps back to the pooled shape, "
    "ops.max_pool2d_backward(d_pooled, r1, 2) with the pool's input r1, the first ReLU's "
    "backward (where a1 > 0), then ops.conv2d_backward(d_a1, x, W1, padding=pad), the padding "
    "of the forward pass",
}


def check_convnet_loss(convnet_loss: Callable[..., Any]) -> None:
    """``convnet_loss(params, x, y) -> (loss, grads)`` of the three-layer ConvNet
    conv - ReLU - 2x2 max pool - linear - ReLU - linear - softmax cross-entropy.

    params: ``W1 (F, C, K, K)``, ``b1 (F,)``, ``W2 (hidden, F*(H//2)*(W//2))``, ``b2``,
    ``W3 (classes, hidden)``, ``b3``; the conv has stride 1 and padding (K-1)//2. x: (N, C, H, W)
    float64, y: (N,) ints. loss: the mean cross-entropy (a float); grads: ``{name: dL/dparam}``.
    Compared with PyTorch autograd in float64.
    """
    name = "check_convnet_loss"
    rng = np.random.default_rng(12)
    for case, *dims in CONVNET_CASES:
        params, x, y = _convnet_case(rng, *dims)
        want_loss, want = _torch_convnet(params, x, y)
        given = {k: v.copy() for k, v in params.items()}
        try:
            got = call_student(name, convnet_loss, given, x.copy(), y.copy())
        except ValueError as err:  # a shape that does not fit: say which settings make them fit
            fail(name, f"{case}: a forward and backward pass", f"ValueError: {err}",
                 "the shapes do not fit: the conv's padding is (K - 1) // 2 for any kernel size "
                 "K (1 for 3x3, 2 for 5x5), ops.conv2d_backward takes the same padding as the "
                 "forward, and each *_backward gets its forward's input")  # fmt: skip
        if not isinstance(got, tuple | list) or len(got) != 2:
            fail(name, f"{case}: a pair (loss, grads)", got,
                 "return the loss and the dict of gradients: `return loss, grads`")  # fmt: skip
        loss, grads = got
        changed = [k for k in CONVNET_KEYS if not np.array_equal(given[k], params[k])]
        if changed:
            fail(name, f"{case}: params left as they were", f"{', '.join(changed)} changed",
                 "the loss function only computes; the SGD step (sgd_step) updates the "
                 "parameters afterwards")  # fmt: skip
        try:
            loss = float(np.asarray(loss).item())
        except (TypeError, ValueError):
            fail(name, f"{case}: the loss, one number ({want_loss:.6f})", loss,
                 "return the mean cross-entropy as a float: ops.cross_entropy(scores, y)")  # fmt: skip
        n = len(x)
        if not np.isclose(loss, want_loss, rtol=1e-8, atol=1e-10):
            mistake = (
                "that is the SUM over the batch: the loss is the MEAN cross-entropy "
                "(ops.cross_entropy averages over the N images)"
                if n > 1 and np.isclose(loss, n * want_loss, rtol=1e-8)
                else "the forward pass differs from conv (padding (K-1)//2) -> ReLU -> 2x2 max "
                "pool -> flatten with p.reshape(N, -1) (torch's order: channel, row, column) -> "
                "linear -> ReLU -> linear -> cross-entropy"
            )
            fail(name, f"{case}: loss {want_loss:.8f} (PyTorch)", loss, mistake)
        if not isinstance(grads, dict) or set(grads) != set(CONVNET_KEYS):
            fail(name, f"{case}: a dict of gradients with the keys {list(CONVNET_KEYS)}",
                 sorted(grads) if isinstance(grads, dict) else type(grads).__name__,
                 "return grads = {'W1': dW1, 'b1': db1, ..., 'b3': db3}")  # fmt: skip
        for key in ("W3", "b3", "W2", "b2", "W1", "b1"):  # in the order backprop finds them
            g = _as_array(name, grads[key], want[key], f"grads[{key!r}] (the shape of {key})")
            if np.allclose(g, want[key], rtol=1e-6, atol=1e-9):
                continue
            layer = "W" + key[1]
            mistake = _LAYER_HINTS[layer]
            if n > 1 and np.allclose(g, n * want[key], rtol=1e-6, atol=1e-9):
                mistake = (
                    "every gradient is N times too large: the loss is a mean over the batch, so "
                    "d_scores = (softmax - one_hot) / N"
                )
            elif layer != "W3":
                through = _torch_convnet(params, x, y, layer == "W1", layer == "W2")[1][key]
                if np.allclose(g, through, rtol=1e-6, atol=1e-9):
                    relu = "hidden ReLU (a2)" if layer == "W2" else "first ReLU (a1)"
                    mistake = (
                        f"the backward pass skips the {relu}: multiply the gradient by its "
                        "derivative, ops.relu_backward(grad, pre-activation), 0 where the "
                        "input was <= 0"
                    )
            fail(name, f"{case}: grads[{key!r}] (PyTorch autograd)\n{_fmt(want[key])}",
                 _fmt(g), mistake)  # fmt: skip
    passed(
        name,
        "the loss and all six gradients match PyTorch autograd (float64) on non-square and "
        "odd-sized images, 3x3 and 5x5 kernels, 2 channels and a batch of 1",
    )


# ------------------------------------------------------------- what each exercise rules out
declare("check_conv_backward", "the convolution's backward pass", forbid=TORCH_CONV + AUTOGRAD)
declare("check_conv_backward_nchw", "the conv layer's backward pass", forbid=TORCH_CONV + AUTOGRAD)
declare("check_avg_pool_backward", "average pooling's backward pass", forbid=TORCH_POOL + AUTOGRAD)
declare("check_sigmoid_backward", "the sigmoid's backward pass", forbid=AUTOGRAD)
declare(
    "check_numerical_gradient",
    "the numerical gradient",
    changed_hint="put each entry of x back after perturbing it (restore x[idx] = old)",
    forbid=(
        "scipy.optimize:approx_fprime",
        "scipy.optimize:check_grad",
        "scipy.differentiate:jacobian",
        "torch.autograd.gradcheck:gradcheck",
    )
    + AUTOGRAD,
)
declare(
    "check_convnet_loss",
    "the ConvNet's forward and backward pass",
    changed_hint="do not change params: the SGD step comes afterwards",
    allow=["coursecnn.ops"],
    forbid=AUTOGRAD,
)  # built from the ops; numpy_cnn is the answer
