"""The checks of 03_pooling_and_activations pass a right answer and catch the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from coursecnn.checks import CheckFailed
from coursecnn.checks import pooling as cp


def _windows(x, k, s):
    h_out, w_out = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    for i in range(h_out):
        for j in range(w_out):
            yield i, j, x[i * s : i * s + k, j * s : j * s + k]


def max_pool_forward(x, k, stride):
    out = np.zeros(((x.shape[0] - k) // stride + 1, (x.shape[1] - k) // stride + 1))
    for i, j, win in _windows(x, k, stride):
        out[i, j] = win.max()
    return out


def max_pool_backward(grad_out, x, k, stride):
    dx = np.zeros_like(x, dtype=float)
    for i, j, win in _windows(x, k, stride):
        a, b = np.unravel_index(np.argmax(win), win.shape)
        dx[i * stride + a, j * stride + b] += grad_out[i, j]
    return dx


def leaky_relu_grad(x, slope=0.1):
    return np.where(x > 0, 1.0, slope)


def stable_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def unfinished(*args, **kwargs):
    raise NotImplementedError()


def test_right_answers_pass(capsys):
    cp.check_max_pool_forward(max_pool_forward)
    cp.check_max_pool_backward(max_pool_backward)
    cp.check_leaky_relu_grad(leaky_relu_grad)
    cp.check_stable_softmax(stable_softmax)
    assert capsys.readouterr().out.count("passed") == 4


@pytest.mark.parametrize(
    "check",
    [
        cp.check_max_pool_forward,
        cp.check_max_pool_backward,
        cp.check_leaky_relu_grad,
        cp.check_stable_softmax,
    ],
)
def test_unfinished_fails(check):
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        check(unfinished)


def _forward_zero_start(x, k, stride):
    out = np.zeros(((x.shape[0] - k) // stride + 1, (x.shape[1] - k) // stride + 1))
    for i, j, win in _windows(x, k, stride):
        m = 0.0
        for v in win.ravel():
            m = max(m, v)
        out[i, j] = m
    return out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_forward_zero_start, "starts at 0"),
        (
            lambda x, k, s: np.zeros(((x.shape[0] - k) // s + 2, (x.shape[1] - k) // s + 1)),
            "output size",
        ),
        (lambda x, k, s: -max_pool_forward(-x, k, s), "each output cell"),
        (lambda x, k, s: None, "returns nothing"),
    ],
)
def test_max_pool_forward_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cp.check_max_pool_forward(wrong)


def _backward_every_cell(grad_out, x, k, stride):
    dx = np.zeros_like(x, dtype=float)
    for i, j, _ in _windows(x, k, stride):
        dx[i * stride : i * stride + k, j * stride : j * stride + k] += grad_out[i, j]
    return dx


def _backward_window_shaped(grad_out, x, k, stride):  # sized by the windows, not by x
    h = (grad_out.shape[0] - 1) * stride + k
    w = (grad_out.shape[1] - 1) * stride + k
    return max_pool_backward(grad_out, x[:h, :w], k, stride)


def _backward_overwrite(grad_out, x, k, stride):
    dx = np.zeros_like(x, dtype=float)
    for i, j, win in _windows(x, k, stride):
        a, b = np.unravel_index(np.argmax(win), win.shape)
        dx[i * stride + a, j * stride + b] = grad_out[i, j]
    return dx


def _backward_mask_all_ties(grad_out, x, k, stride):
    dx = np.zeros_like(x, dtype=float)
    for i, j, win in _windows(x, k, stride):
        dx[i * stride : i * stride + k, j * stride : j * stride + k] += grad_out[i, j] * (
            win == win.max()
        )
    return dx


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_backward_every_cell, "every cell of the window"),
        (_backward_overwrite, "do not overwrite"),
        (_backward_mask_all_ties, "every tied cell"),
        (lambda g, x, k, s: np.zeros((1, 1)), "shape"),
        (_backward_window_shaped, "no window covers"),
    ],
)
def test_max_pool_backward_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cp.check_max_pool_backward(wrong)


def _leaky_two_loops(x, slope=0.1):  # right for 2-D x only
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = 1.0 if x[i, j] > 0 else slope
    return out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, slope=0.1: (x > 0).astype(float), "not 0"),
        (lambda x, slope=0.1: np.where(x > 0, 1.0, 0.1), "hard-coded"),
        (lambda x, slope=0.1: np.where(x > 0, x, slope * x), "activation itself"),
        (lambda x, slope=0.1: np.where(x >= 0, 1.0, slope), "x >= 0"),
    ],
)
def test_leaky_relu_grad_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cp.check_leaky_relu_grad(wrong)


def _softmax_in_place(z):
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True), "subtract each row's max"),
        (
            lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=-1, keepdims=True),
            "one max for the whole array",
        ),
        (lambda z: np.exp(z - z.max(0)) / np.exp(z - z.max(0)).sum(axis=0), "columns"),
        (_softmax_in_place, "in place"),
    ],
)
def test_stable_softmax_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cp.check_stable_softmax(wrong)


def test_torch_tie_rule_is_first_max_in_row_major_order():
    """The checks' reference (PyTorch) and our stated rule agree on ties."""
    x = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    g = np.ones((2, 2))
    np.testing.assert_array_equal(
        cp._torch_max_pool_backward(g, x, 2, 1), max_pool_backward(g, x, 2, 1)
    )


def test_leaky_relu_grad_needs_x_of_any_shape():
    with pytest.raises((CheckFailed, IndexError, ValueError)):
        cp.check_leaky_relu_grad(_leaky_two_loops)
