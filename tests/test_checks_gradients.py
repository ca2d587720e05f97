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


# ------------------------------------------------------------------ the ConvNet of section 6
def convnet_loss(params, x, y, pad=None):
    from coursecnn import ops

    w1, w2, w3 = params["W1"], params["W2"], params["W3"]
    pad = (w1.shape[2] - 1) // 2 if pad is None else pad
    a1 = ops.conv2d(x, w1, params["b1"], padding=pad)
    r1 = ops.relu(a1)
    p1 = ops.max_pool2d(r1, 2)
    flat = p1.reshape(len(x), -1)
    a2 = ops.linear(flat, w2, params["b2"])
    r2 = ops.relu(a2)
    scores = ops.linear(r2, w3, params["b3"])
    d_scores = ops.cross_entropy_backward(1.0, scores, y)
    d_r2, dw3, db3 = ops.linear_backward(d_scores, r2, w3)
    d_a2 = ops.relu_backward(d_r2, a2)
    d_flat, dw2, db2 = ops.linear_backward(d_a2, flat, w2)
    d_r1 = ops.max_pool2d_backward(d_flat.reshape(p1.shape), r1, 2)
    d_a1 = ops.relu_backward(d_r1, a1)
    _, dw1, db1 = ops.conv2d_backward(d_a1, x, w1, padding=pad)
    grads = {"W1": dw1, "b1": db1, "W2": dw2, "b2": db2, "W3": dw3, "b3": db3}
    return ops.cross_entropy(scores, y), grads


def test_convnet_loss_passes(capsys):
    from coursecnn import numpy_cnn

    cg.check_convnet_loss(convnet_loss)
    cg.check_convnet_loss(numpy_cnn.loss_and_grads)
    assert capsys.readouterr().out.count("passed") == 2


def _scaled(factor_loss, factor_grads):
    def wrong(params, x, y):
        loss, grads = convnet_loss(params, x, y)
        f = len(x) if factor_grads == "N" else 1
        return loss * (len(x) if factor_loss == "N" else 1), {k: f * v for k, v in grads.items()}

    return wrong


def _no_relu_mask(which):
    from coursecnn import ops

    def wrong(params, x, y):
        original = ops.relu_backward
        calls = []

        def skip(grad, z):
            calls.append(1)
            return grad if len(calls) == which else original(grad, z)

        ops.relu_backward = skip
        try:
            return convnet_loss(params, x, y)
        finally:
            ops.relu_backward = original

    return wrong


def _stepping(params, x, y):
    loss, grads = convnet_loss(params, x, y)
    for k in grads:
        params[k] -= 0.1 * grads[k]
    return loss, grads


def _channels_last(params, x, y):
    # flattening (N, H, W, F) instead of (N, F, H, W): another order than nn.Flatten's
    p = {**params}
    f = params["W1"].shape[0]
    h2, w2 = x.shape[2] // 2, x.shape[3] // 2
    p["W2"] = params["W2"].reshape(-1, f, h2, w2).transpose(0, 2, 3, 1).reshape(len(p["W2"]), -1)
    loss, grads = convnet_loss(p, x, y)
    return loss, grads


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_scaled("N", "N"), "SUM over the batch"),
        (_scaled(1, "N"), "N times too large"),
        (_no_relu_mask(1), "hidden ReLU"),  # backward meets the hidden ReLU first
        (_no_relu_mask(2), "first ReLU"),
        (_stepping, "the SGD step"),
        (_channels_last, "forward pass differs"),
        (lambda p, x, y: convnet_loss(p, x, y)[1], "pair"),
        (lambda p, x, y: (convnet_loss(p, x, y)[0], {}), "keys"),
        (lambda p, x, y: (np.array([convnet_loss(p, x, y)[0], 0.0]), {}), "one number"),
        (unfinished, "NotImplementedError"),
    ],
)
def test_convnet_loss_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cg.check_convnet_loss(wrong)


def test_convnet_loss_shape_errors_are_explained():
    # padding 2 is right for the 5x5 kernel of the first case, not for the 3x3 of the second
    with pytest.raises(CheckFailed, match=r"\(K - 1\) // 2 for any kernel size"):
        cg.check_convnet_loss(lambda p, x, y: convnet_loss(p, x, y, pad=2))


def conv_backward_nchw(dout, x, w, stride, padding, crop="right", step="right", batch="all"):
    """The loop solution of notebook 04's Exercise 1b, with switches for the classic mistakes."""
    p, (_, _, h, wd), (kh, kw) = padding, x.shape, w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    s = stride if step == "right" else 1
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]
            window = xp[:, :, i * s : i * s + kh, j * s : j * s + kw]
            if batch == "all":
                dw += np.einsum("nf,nckl->fckl", g, window)
            else:  # only the first image
                dw += np.einsum("f,ckl->fckl", g[0], window[0])
            dxp[:, :, i * s : i * s + kh, j * s : j * s + kw] += np.einsum("nf,fckl->nckl", g, w)
    if crop == "right":
        dx = dxp[:, :, p : p + h, p : p + wd]
    elif crop == "minus":
        dx = dxp[:, :, p:-p, p:-p]
    else:
        dx = dxp
    return dx, dw, dout.sum(axis=(0, 2, 3))


def test_conv_backward_nchw_passes_and_fails_unfinished(capsys):
    cg.check_conv_backward_nchw(conv_backward_nchw)
    assert "passed" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        cg.check_conv_backward_nchw(unfinished)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda d, x, w, s, p: conv_backward_nchw(d, x, w, s, p, crop="none"), "cropped off"),
        (lambda d, x, w, s, p: conv_backward_nchw(d, x, w, s, p, crop="minus"), "cropped off"),
        (lambda d, x, w, s, p: conv_backward_nchw(d, x, w, s, p, step="one"), "i \\* stride"),
        (lambda d, x, w, s, p: conv_backward_nchw(d, x, w, s, p, batch="first"), "every image"),
        (
            lambda d, x, w, s, p: conv_backward_nchw(d, x, w, s, p)[:2] + (d.sum(),),
            "one number per",
        ),
        (
            lambda d, x, w, s, p: (
                conv_backward_nchw(d, x, w, s, p)[:2] + (d.sum(axis=(2, 3)).mean(0),)
            ),
            "summed over images",
        ),
        (lambda d, x, w, s, p: conv_backward_nchw(d, x, w, s, p)[:2], "tuple"),
    ],
)
def test_conv_backward_nchw_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cg.check_conv_backward_nchw(wrong)
