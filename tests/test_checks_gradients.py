"""The checks of 04_gradients pass a right answer and catch the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from coursecnn.checks import CheckFailed
from coursecnn.checks import gradients as cg


def conv_backward(dout, x, w):
    dx = signal.convolve(dout, w, mode="full")  # full convolution = full correlation with w flipped
    dw = signal.correlate(x, dout, mode="valid")
    return dx, dw, dout.sum()


def avg_pool_backward(grad_out, x_shape, k, stride):
    dx = np.zeros(x_shape)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            dx[i * stride : i * stride + k, j * stride : j * stride + k] += grad_out[i, j] / k**2
    return dx


def sigmoid_backward(grad_out, x):
    s = 1 / (1 + np.exp(-x))
    return grad_out * s * (1 - s)


def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        fp = f(x)
        x[idx] = old - eps
        fm = f(x)
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * eps)
    return grad


def unfinished(*args, **kwargs):
    raise NotImplementedError()


CHECKS = [
    cg.check_conv_backward,
    cg.check_avg_pool_backward,
    cg.check_sigmoid_backward,
    cg.check_numerical_gradient,
]


def test_right_answers_pass(capsys):
    cg.check_conv_backward(conv_backward)
    cg.check_avg_pool_backward(avg_pool_backward)
    cg.check_sigmoid_backward(sigmoid_backward)
    cg.check_numerical_gradient(numerical_gradient)
    assert capsys.readouterr().out.count("passed") == 4


@pytest.mark.parametrize("check", CHECKS)
def test_unfinished_fails(check):
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        check(unfinished)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (
            lambda d, x, w: (signal.correlate(d, w, "full"),) + conv_backward(d, x, w)[1:],
            "unflipped",
        ),
        (lambda d, x, w: conv_backward(d, x, w)[:2] + (None,), "forgot the bias"),
        (lambda d, x, w: conv_backward(d, x, w)[:2] + (0.0,), "dout.sum"),
        (lambda d, x, w: conv_backward(d, x, w)[:2] + (d,), "SUM of dout"),
        (
            lambda d, x, w: (conv_backward(d, x, w)[0], signal.convolve(x, d, "valid"), d.sum()),
            "flipped",
        ),
        (lambda d, x, w: conv_backward(d, x, w)[:2], "tuple"),
    ],
)
def test_conv_backward_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cg.check_conv_backward(wrong)


def _avg_overwrite(grad_out, x_shape, k, stride):
    dx = np.zeros(x_shape)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            dx[i * stride : i * stride + k, j * stride : j * stride + k] = grad_out[i, j] / k**2
    return dx


def _avg_window_shaped(grad_out, x_shape, k, stride):  # sized by the windows, not by x
    h = (grad_out.shape[0] - 1) * stride + k
    w = (grad_out.shape[1] - 1) * stride + k
    return avg_pool_backward(grad_out, (h, w), k, stride)


def _avg_kron(grad_out, x_shape, k, stride):  # right when stride == k and nothing is left over
    dx = np.zeros(x_shape)
    up = np.kron(grad_out, np.ones((k, k))) / k**2
    dx[: up.shape[0], : up.shape[1]] = up[: x_shape[0], : x_shape[1]]
    return dx


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda g, sh, k, s: avg_pool_backward(g, sh, k, s) * k * k, "MEAN"),
        (_avg_overwrite, "do not overwrite"),
        (_avg_window_shaped, "no window covers"),
        (_avg_kron, None),
    ],
)
def test_avg_pool_backward_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cg.check_avg_pool_backward(wrong)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda g, x: sigmoid_backward(np.ones_like(g), x), "multiply it by grad_out"),
        (lambda g, x: g * x * (1 - x), "not to x"),
    ],
)
def test_sigmoid_backward_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cg.check_sigmoid_backward(wrong)


def _one_sided(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    f0 = f(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xp[idx] += eps
        grad[idx] = (f(xp) - f0) / eps
    return grad


def _rows_and_columns_only(f, x, eps=1e-5):  # two loops: right for 2-D x only
    grad = np.zeros(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            old = x[i, j]
            x[i, j] = old + eps
            fp = f(x)
            x[i, j] = old - eps
            fm = f(x)
            x[i, j] = old
            grad[i, j] = (fp - fm) / (2 * eps)
    return grad


def _no_restore(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += eps
        fp = f(x)
        x[idx] -= 2 * eps
        grad[idx] = (fp - f(x)) / (2 * eps)
    return grad


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_one_sided, "one-sided"),
        (_no_restore, "restore"),
        (lambda f, x, eps=1e-5: 2 * numerical_gradient(f, x, eps), "not by eps"),
        (lambda f, x, eps=1e-5: numerical_gradient(f, x, 1e-5), "the eps that is passed in"),
    ],
)
def test_numerical_gradient_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cg.check_numerical_gradient(wrong)


def test_numerical_gradient_needs_x_of_any_shape():
    with pytest.raises((CheckFailed, IndexError, ValueError)):
        cg.check_numerical_gradient(_rows_and_columns_only)
