"""The checks of 01_convolution_math pass a right answer and catch the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from coursecnn.checks import CheckFailed
from coursecnn.checks import conv_math as cm


def conv2d_single(image, kernel):
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out


def convolve_true(image, kernel):
    return conv2d_single(image, kernel[::-1, ::-1])


def output_size(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def conv2d_volume(x, w, b, stride=1):
    f, _, kh, kw = w.shape
    oh = (x.shape[1] - kh) // stride + 1
    ow = (x.shape[2] - kw) // stride + 1
    out = np.zeros((f, oh, ow))
    for k in range(f):
        for i in range(oh):
            for j in range(ow):
                patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
                out[k, i, j] = np.sum(patch * w[k]) + b[k]
    return out


def unfinished(*args, **kwargs):
    raise NotImplementedError()


def test_right_answers_pass(capsys):
    cm.check_conv2d_single(conv2d_single)
    cm.check_convolve_true(convolve_true)
    cm.check_output_size(output_size)
    cm.check_conv2d_volume(conv2d_volume)
    assert capsys.readouterr().out.count("passed") == 4


def test_seed_example():
    np.testing.assert_array_equal(conv2d_single(cm.SEED_INPUT, cm.SEED_KERNEL), cm.SEED_OUTPUT)


@pytest.mark.parametrize(
    "check",
    [cm.check_conv2d_single, cm.check_convolve_true, cm.check_output_size, cm.check_conv2d_volume],
)
def test_unfinished_fails(check):
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        check(unfinished)
    with pytest.raises(CheckFailed, match="not a function"):
        check(None)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (convolve_true, "does not flip"),
        (lambda im, k: conv2d_single(im, k[::-1, :]), "rows only"),
        (lambda im, k: conv2d_single(im, k)[:-1, :-1], "off by one"),
        (lambda im, k: None, "return"),
    ],
)
def test_conv2d_single_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cm.check_conv2d_single(wrong)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (conv2d_single, "no kernel flip"),
        (lambda im, k: conv2d_single(im, k[:, ::-1]), "columns only"),
    ],
)
def test_convolve_true_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cm.check_convolve_true(wrong)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - k) / stride + 1, "floor"),
        (
            lambda n, k, stride=1, padding=0, dilation=1: (
                (n + 2 * padding - dilation * (k - 1) - 1) // stride
            ),
            "\\+1",
        ),
        (
            lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - k) // stride + 1,
            "dilation",
        ),
        (
            lambda n, k, stride=1, padding=0, dilation=1: (
                (n + padding - dilation * (k - 1) - 1) // stride + 1
            ),
            "2\\*padding",
        ),
        (
            lambda n, k, stride=1, padding=0, dilation=1: -(-(n + 2 * padding - k) // stride) + 1,
            "round down",
        ),
        (  # right for 3x3 kernels only: span k + 2(d - 1)
            lambda n, k, stride=1, padding=0, dilation=1: (
                (n + 2 * padding - k - 2 * (dilation - 1)) // stride + 1
            ),
            "3x3 kernels only",
        ),
        (  # right for 3x3 kernels only: span 2d + 1
            lambda n, k, stride=1, padding=0, dilation=1: (
                (n + 2 * padding - 2 * dilation - 1) // stride + 1
            ),
            "3x3 kernels only",
        ),
    ],
)
def test_output_size_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cm.check_output_size(wrong)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, w, b, stride=1: conv2d_volume(x, w, 0 * b, stride), "bias is missing"),
        (lambda x, w, b, stride=1: conv2d_volume(x, w, b, 1), "stride is ignored"),
        (
            lambda x, w, b, stride=1: conv2d_volume(x, w[:, :, ::-1, ::-1], b, stride),
            "flipped",
        ),
        (
            lambda x, w, b, stride=1: conv2d_volume(x, w, x.shape[0] * b, stride),
            "once per channel",
        ),
    ],
)
def test_conv2d_volume_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cm.check_conv2d_volume(wrong)
