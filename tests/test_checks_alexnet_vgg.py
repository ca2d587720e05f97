"""The checks of 06_alexnet_vgg_nin pass right answers and catch the classic mistakes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursecnn import ops
from coursecnn.checks import CheckFailed
from coursecnn.checks import alexnet_vgg as cv

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------------------ right answers
def conv_layer(in_shape, out_channels, kernel_size, stride=1, padding=0):
    c, h, w = in_shape
    h_out = (h + 2 * padding - kernel_size) // stride + 1
    w_out = (w + 2 * padding - kernel_size) // stride + 1
    return (out_channels, h_out, w_out), out_channels * (c * kernel_size**2 + 1)


def vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for i in range(num_convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1)]
        layers += [nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2, stride=2))


def conv1x1(x, weight, bias):
    n, c, h, w = x.shape
    out = x.permute(0, 2, 3, 1).reshape(-1, c) @ weight.T + bias
    return out.reshape(n, h, w, -1).permute(0, 3, 1, 2)


def inverted_dropout(x, p, training, rng):
    if not training:
        return x
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p)


def unfinished(*args, **kwargs):
    raise NotImplementedError()


def test_right_answers_pass(capsys):
    cv.check_conv_layer(conv_layer)
    cv.check_vgg_block(vgg_block)
    cv.check_conv1x1(conv1x1)
    cv.check_inverted_dropout(inverted_dropout)
    assert capsys.readouterr().out.count("passed") == 4


def test_other_right_answers_pass(capsys):
    def conv_layer_float(in_shape, f, k, s=1, p=0):
        c, h, w = in_shape
        sides = [math.floor((n + 2 * p - k) / s) + 1 for n in (h, w)]
        return [f, *sides], f * c * k * k + f  # a list is fine

    def vgg_block_nested(num_convs, c_in, c_out):  # nested Sequentials, non-inplace ReLU
        convs = [
            nn.Sequential(nn.Conv2d(c_in if i == 0 else c_out, c_out, (3, 3), padding=(1, 1)),
                          nn.ReLU())
            for i in range(num_convs)
        ]  # fmt: skip
        return nn.Sequential(*convs, nn.MaxPool2d(kernel_size=2))

    def vgg_block_same(num_convs, c_in, c_out):  # padding="same" is padding 1 for a 3x3
        layers = []
        for i in range(num_convs):
            layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding="same"), nn.ReLU()]
        return nn.Sequential(*layers, nn.MaxPool2d(2, 2))

    def conv1x1_einsum(x, weight, bias):
        return torch.einsum("nchw,fc->nfhw", x, weight) + bias[None, :, None, None]

    def conv1x1_numpy(x, weight, bias):
        return np.einsum("nchw,fc->nfhw", x.numpy(), weight.numpy()) + bias.numpy()[:, None, None]

    def dropout_course_op(x, p, training, rng):  # coursecnn.ops.dropout, the course's op
        return ops.dropout(x, p, training=training, rng=rng)[0]

    def dropout_binomial(x, p, training, rng):
        if not training:
            return x.copy()
        return x * rng.binomial(1, 1 - p, size=x.shape) / (1 - p)

    cv.check_conv_layer(conv_layer_float)
    cv.check_vgg_block(vgg_block_nested)
    cv.check_vgg_block(vgg_block_same)
    cv.check_conv1x1(conv1x1_einsum)
    cv.check_conv1x1(conv1x1_numpy)
    with pytest.raises(CheckFailed, match="you called coursecnn.ops.dropout.dropout"):
        cv.check_inverted_dropout(dropout_course_op)  # the course's own op skips the exercise
    cv.check_inverted_dropout(dropout_binomial)
    assert capsys.readouterr().out.count("passed") == 6


@pytest.mark.parametrize(
    "check",
    [cv.check_conv_layer, cv.check_vgg_block, cv.check_conv1x1, cv.check_inverted_dropout],
)
def test_unfinished_fails(check):
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        check(unfinished)


def test_not_run_yet_fails():
    with pytest.raises(CheckFailed, match="a function"):
        cv.check_conv_layer(None)


# -------------------------------------------------------------------------------- conv layer
def _conv_wrong(side=None, params=None, shape=None):
    def f(in_shape, out_channels, k, s=1, p=0):
        c, h, w = in_shape
        right_shape, right_params = conv_layer(in_shape, out_channels, k, s, p)
        got_shape = right_shape
        if side is not None:
            got_shape = (out_channels, side(h, k, s, p), side(w, k, s, p))
        if shape is not None:
            got_shape = shape(in_shape, out_channels, k, s, p)
        got_params = right_params if params is None else params(c, out_channels, k)
        return got_shape, got_params

    return f


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_conv_wrong(side=lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1), "floored"),
        (_conv_wrong(side=lambda n, k, s, p: (n + 2 * p - k) // s), r"\+1 is missing"),
        (_conv_wrong(side=lambda n, k, s, p: (n + p - k) // s + 1), "both"),
        (_conv_wrong(side=lambda n, k, s, p: (n - k) // s + 1), "padding is missing"),
        (_conv_wrong(side=lambda n, k, s, p: (n + 2 * p - k) / s + 1), "whole numbers"),
        (_conv_wrong(side=lambda n, k, s, p: (n + 2 * p - k) // s + 2), "floor"),
        (
            _conv_wrong(shape=lambda i, f, k, s, p: conv_layer(i, f, k, s, p)[0][1:]),
            "three numbers",
        ),
        (
            _conv_wrong(shape=lambda i, f, k, s, p: (i[0],) + conv_layer(i, f, k, s, p)[0][1:]),
            "one channel per filter",
        ),
        (
            _conv_wrong(shape=lambda i, f, k, s, p: (f,) + (conv_layer(i, f, k, s, p)[0][1],) * 2),
            "own input side",
        ),
        (_conv_wrong(params=lambda c, f, k: f * c * k * k), "biases are missing"),
        (_conv_wrong(params=lambda c, f, k: f * (k * k + 1)), r"\*each\* input channel"),
        (_conv_wrong(params=lambda c, f, k: f * c * k * k + 1), "one bias per filter"),
        (_conv_wrong(params=lambda c, f, k: f * (c * k + 1)), r"k \* k weights"),
        (_conv_wrong(params=lambda c, f, k: c * k * k + 1), "one filter"),
        (_conv_wrong(params=lambda c, f, k: f * c * k * k + c), "not per input"),
        (_conv_wrong(params=lambda c, f, k: (f + 1) * c * k * k), "params = out_channels"),
        (lambda i, f, k, s=1, p=0: conv_layer(i, f, k, s, p)[0], "a pair"),
        (lambda i, f, k, s=1, p=0: None, "a pair"),
        (lambda i, f, k, s=1, p=0: (conv_layer(i, f, k, s, p)[0], "many"), "whole number"),
    ],
)
def test_conv_layer_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cv.check_conv_layer(wrong)


def test_conv_layer_cases_hold_awkward_ones():
    cases = cv._CONV_CASES
    assert any(c[0][1] != c[0][2] for c in cases)  # non-square input
    assert any((c[0][1] + 2 * c[4] - c[2]) % c[3] for c in cases)  # stride leaves a remainder
    assert {c[2] for c in cases} >= {1, 2, 3, 5, 11}
    assert any(c[0][0] == 1 and c[1] == 1 for c in cases)  # one channel in and out
    assert cv._torch_conv((3, 227, 227), 96, 11, 4, 0) == ((96, 55, 55), 34_944)
    assert cv._torch_conv((3, 224, 224), 96, 11, 4, 0)[0] == (96, 54, 54)


# --------------------------------------------------------------------------------- VGG block
def _block(builder):
    def f(num_convs, c_in, c_out):
        return builder(num_convs, c_in, c_out)

    return f


def _convs(n, c_in, c_out, **kw):
    return [nn.Conv2d(c_in if i == 0 else c_out, c_out, kw.get("k", 3),
                      padding=kw.get("padding", 1), stride=kw.get("stride", 1),
                      bias=kw.get("bias", True)) for i in range(n)]  # fmt: skip


class Reversed(nn.Module):
    """The right layers, registered in the right order, run in the wrong one (pool first)."""

    def __init__(self, n, c_in, c_out):
        super().__init__()
        acts = [nn.ReLU() for _ in range(n)]
        self.layers = nn.ModuleList([*_interleave(_convs(n, c_in, c_out), acts), nn.MaxPool2d(2)])

    def forward(self, x):
        x = self.layers[-1](x)
        for layer in self.layers[:-1]:
            x = layer(x)
        return x


def _interleave(convs, acts):
    return [m for pair in zip(convs, acts, strict=True) for m in pair]


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (  # a pooling after every conv
            lambda n, a, b: nn.Sequential(
                *[m for conv in _convs(n, a, b) for m in (conv, nn.ReLU(), nn.MaxPool2d(2))]
            ),
            "one pooling at the end",
        ),
        (  # one conv too many (range(num_convs + 1))
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n + 1, a, b), [nn.ReLU() for _ in range(n + 1)]),
                nn.MaxPool2d(2),
            ),
            "num_convs",
        ),
        (  # no ReLU
            lambda n, a, b: nn.Sequential(*_convs(n, a, b), nn.MaxPool2d(2)),
            "own nn.ReLU",
        ),
        (  # all convs first, then the ReLUs
            lambda n, a, b: nn.Sequential(
                *_convs(n, a, b), *[nn.ReLU() for _ in range(n)], nn.MaxPool2d(2)
            ),
            "right after its convolution",
        ),
        (  # ReLU after the pooling
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b), [nn.ReLU() for _ in range(n)])[:-1],
                nn.MaxPool2d(2),
                nn.ReLU(),
            ),
            "pooling comes last",
        ),
        (  # average pooling
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b), [nn.ReLU() for _ in range(n)]), nn.AvgPool2d(2)
            ),
            "MaxPool2d",
        ),
        (  # no pooling
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b), [nn.ReLU() for _ in range(n)])
            ),
            "ends with nn.MaxPool2d",
        ),
        (  # batch norm added
            lambda n, a, b: nn.Sequential(
                *[m for conv in _convs(n, a, b) for m in (conv, nn.BatchNorm2d(b), nn.ReLU())],
                nn.MaxPool2d(2),
            ),
            "no batch norm",
        ),
        (  # padding 0
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b, padding=0), [nn.ReLU() for _ in range(n)]),
                nn.MaxPool2d(2),
            ),
            "padding=1",
        ),
        (  # 5x5 kernels with padding 2 (same shapes, wrong kernel)
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b, k=5, padding=2), [nn.ReLU() for _ in range(n)]),
                nn.MaxPool2d(2),
            ),
            "3x3",
        ),
        (  # stride 2 in the convolutions
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b, stride=2), [nn.ReLU() for _ in range(n)]),
                nn.MaxPool2d(2),
            ),
            "stride 1",
        ),
        (  # no bias
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b, bias=False), [nn.ReLU() for _ in range(n)]),
                nn.MaxPool2d(2),
            ),
            "biases",
        ),
        (  # pooling with stride 1
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, a, b), [nn.ReLU() for _ in range(n)]),
                nn.MaxPool2d(2, stride=1),
            ),
            "halves",
        ),
        (  # every conv from in_channels
            lambda n, a, b: nn.Sequential(
                *_interleave(
                    [nn.Conv2d(a, b, 3, padding=1) for _ in range(n)],
                    [nn.ReLU() for _ in range(n)],
                ),
                nn.MaxPool2d(2),
            ),
            "first conv maps in_channels",
        ),
        (  # in and out swapped
            lambda n, a, b: nn.Sequential(
                *_interleave(_convs(n, b, a), [nn.ReLU() for _ in range(n)]), nn.MaxPool2d(2)
            ),
            "first conv maps in_channels",
        ),
        (Reversed, "order conv, ReLU"),
        (lambda n, a, b: [*_convs(n, a, b), nn.MaxPool2d(2)], "nn.Module"),
    ],
)
def test_vgg_block_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cv.check_vgg_block(_block(wrong))


def test_vgg_block_reference_is_vgg_a_first_block():
    ref = cv._vgg_reference(2, 3, 64)
    assert sum(p.numel() for p in ref.parameters()) == 38_720  # 1,792 + 36,928
    assert [type(m).__name__ for m in ref] == ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d"]


# ---------------------------------------------------------------------------- 1x1 convolution
def _perm_in(x):
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (
            lambda x, w, b: F.conv2d(x, w[:, :, None, None], b),
            "you called torch.nn.functional.conv2d",
        ),
        (
            lambda x, w, b: nn.functional.conv2d(x, w.reshape(*w.shape, 1, 1), b),
            "you called torch.nn.functional.conv2d",
        ),
        (  # channels-last output
            lambda x, w, b: (_perm_in(x) @ w.T + b).reshape(x.shape[0], x.shape[2], x.shape[3], -1),
            "channels-last",
        ),
        (lambda x, w, b: _perm_in(x) @ w.T + b, r"reshape the \(N\*H\*W, F\)"),
        (  # no bias
            lambda x, w, b: conv1x1(x, w, torch.zeros_like(b)),
            "bias is missing",
        ),
        (  # no permute before flattening
            lambda x, w, b: (
                (x.reshape(-1, x.shape[1]) @ w.T + b)
                .reshape(x.shape[0], x.shape[2], x.shape[3], -1)
                .permute(0, 3, 1, 2)
            ),
            r"permute\(0, 2, 3, 1\)",
        ),
        (  # no permute after the product
            lambda x, w, b: (_perm_in(x) @ w.T + b).reshape(x.shape[0], -1, x.shape[2], x.shape[3]),
            r"permute\(0, 3, 1, 2\)",
        ),
        (lambda x, w, b: conv1x1(x, w.T, b), "weight.T"),  # weight not transposed: shapes clash
        (lambda x, w, b: conv1x1(x, w, b) * 2, "sum over c"),
        (lambda x, w, b: None, "return a torch tensor|shape"),
    ],
)
def test_conv1x1_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cv.check_conv1x1(wrong)


def test_conv1x1_cases_have_distinct_sizes():
    assert any(len({c, h, w, f}) == 4 for _, c, h, w, f in cv._CONV1X1_CASES)
    assert any(n == 1 and c == 1 for n, c, _, _, _ in cv._CONV1X1_CASES)


# --------------------------------------------------------------------------- inverted dropout
def _dropout(scale=lambda p: 1 / (1 - p), eval_scale=1.0, keep_is_p=False, mask_shape=None,
             eval_drops=False, in_place=False, own_rng=False):  # fmt: skip
    def f(x, p, training, rng):
        gen = np.random.default_rng() if own_rng else rng
        if not training:
            if eval_drops:
                return x * (gen.random(x.shape) >= p)
            return x * eval_scale
        shape = x.shape if mask_shape is None else mask_shape(x)
        u = gen.random(shape)
        keep = u < p if keep_is_p else u >= p
        if in_place:
            x *= keep * scale(p)
            return x
        return x * keep * scale(p)

    return f


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_dropout(scale=lambda p: 1.0), "divided by 1 - p"),
        (_dropout(scale=lambda p: 1 - p), "do not multiply"),
        (_dropout(scale=lambda p: 1 / p), r"\*keeping\*"),
        (_dropout(scale=lambda p: p), "x / \\(1 - p\\)"),
        (_dropout(keep_is_p=True), r"\*dropping\*"),
        (_dropout(eval_scale=0.5), "identity at evaluation"),
        (_dropout(eval_drops=True), "nothing is dropped in evaluation"),
        (_dropout(mask_shape=lambda x: x.shape[1:]), "same mask for every row"),
        (_dropout(mask_shape=lambda x: x.shape[:1] + (1,) * (x.ndim - 1)), "one decision per row"),
        (_dropout(in_place=True), "in place"),
        (_dropout(own_rng=True), "rng argument"),
        (lambda x, p, training, rng: x * (rng.random(x.shape) >= p) / (1 - p), "x unchanged"),
        (lambda x, p, training, rng: x, "a fraction|each value"),
        (lambda x, p, training, rng: None if training else x, "returns nothing"),
        (lambda x, p, training, rng: x[:1] if training else x, "shape"),
    ],
)
def test_inverted_dropout_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        cv.check_inverted_dropout(wrong)


def test_inverted_dropout_agrees_with_torch_semantics():
    """What the check demands is what torch.nn.Dropout does: 0 or x / (1 - p); eval identity."""
    torch.manual_seed(0)
    x = torch.rand(200, 300) + 0.5
    drop = nn.Dropout(0.3)
    y = drop(x)
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / 0.7)
    assert abs((~kept).float().mean().item() - 0.3) < 0.01
    drop.eval()
    torch.testing.assert_close(drop(x), x)
