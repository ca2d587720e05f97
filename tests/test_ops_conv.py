"""conv2d and conv_transpose2d, forward and backward: torch and autograd in float64, naive == fast."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursecnn.ops import (
    col2im,
    conv2d,
    conv2d_backward,
    conv_output_size,
    conv_transpose2d,
    conv_transpose2d_backward,
    gradcheck,
    im2col,
)

TOL = dict(rtol=1e-10, atol=1e-10)
METHODS = ("naive", "fast")


def torch_forward_backward(fn, arrays, grad_seed=0):
    """fn(*tensors) in float64 with autograd; returns (out, grads, grad_out)."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    g = np.random.default_rng(grad_seed).standard_normal(tuple(out.shape))
    out.backward(torch.tensor(g))
    return out.detach().numpy(), [t.grad.numpy() for t in ts], g


@st.composite
def conv_cases(draw, transpose=False):
    groups = 1 if transpose else draw(st.sampled_from([1, 1, 2, 3]))
    n = draw(st.integers(1, 2))
    c = groups * draw(st.integers(1, 2))
    f = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))  # stride may exceed the kernel
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    if transpose:
        h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        oph = draw(st.integers(0, max(sh, dh) - 1))
        opw = draw(st.integers(0, max(sw, dw) - 1))
        # torch needs a positive output size
        ph = min(ph, ((h - 1) * sh + dh * (kh - 1) + oph) // 2)
        pw = min(pw, ((w - 1) * sw + dw * (kw - 1) + opw) // 2)
        kwargs = dict(
            stride=(sh, sw), padding=(ph, pw), output_padding=(oph, opw), dilation=(dh, dw)
        )
    else:
        h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), dh * (kh - 1) + 7))
        w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), dw * (kw - 1) + 7))
        kwargs = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    wshape = (c, f, kh, kw) if transpose else (f, c // groups, kh, kw)
    weight = rng.standard_normal(wshape)
    bias = rng.standard_normal(f) if draw(st.booleans()) else None
    return x, weight, bias, kwargs


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_matches_torch(case):
    x, w, b, kw = case
    arrays = [x, w] if b is None else [x, w, b]
    out, grads, g = torch_forward_backward(lambda *t: F.conv2d(*t, **kw), arrays)
    np.testing.assert_allclose(conv2d(x, w, b, **kw), conv2d(x, w, b, **kw, method="naive"), **TOL)
    for method in METHODS:
        np.testing.assert_allclose(conv2d(x, w, b, **kw, method=method), out, **TOL)
        gx, gw, gb = conv2d_backward(g, x, w, **kw, method=method)
        np.testing.assert_allclose(gx, grads[0], **TOL)
        np.testing.assert_allclose(gw, grads[1], **TOL)
        np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), **TOL)
        if b is not None:
            np.testing.assert_allclose(gb, grads[2], **TOL)


@settings(max_examples=40, deadline=None)
@given(conv_cases(transpose=True))
def test_conv_transpose2d_matches_torch(case):
    x, w, b, kw = case
    arrays = [x, w] if b is None else [x, w, b]
    out, grads, g = torch_forward_backward(lambda *t: F.conv_transpose2d(*t, **kw), arrays)
    for method in METHODS:
        np.testing.assert_allclose(conv_transpose2d(x, w, b, **kw, method=method), out, **TOL)
        gx, gw, gb = conv_transpose2d_backward(g, x, w, **kw, method=method)
        np.testing.assert_allclose(gx, grads[0], **TOL)
        np.testing.assert_allclose(gw, grads[1], **TOL)
        if b is not None:
            np.testing.assert_allclose(gb, grads[2], **TOL)


def test_worked_example_of_the_seed():
    image = np.array(
        [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
        dtype=np.float64,
    )
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
    expected = np.array([[4, 3, 4], [2, 4, 3], [2, 3, 4]], dtype=np.float64)
    for method in METHODS:
        out = conv2d(image[None, None], kernel[None, None], method=method)
        np.testing.assert_array_equal(out[0, 0], expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", METHODS)
def test_results_keep_the_float_dtype(dtype, method):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 5)).astype(dtype)
    w = rng.standard_normal((4, 2, 3, 2))  # float64 weights follow x's dtype
    b = rng.standard_normal(4)
    out = conv2d(x, w, b, padding=1, groups=2, method=method)
    assert out.dtype == dtype
    grads = conv2d_backward(np.ones_like(out), x, w, padding=1, groups=2, method=method)
    assert all(gr.dtype == dtype for gr in grads)
    wt = rng.standard_normal((4, 3, 2, 2)).astype(dtype)
    assert conv_transpose2d(x, wt, stride=2, method=method).dtype == dtype
    ref = conv2d(x.astype(np.float64), w, b, padding=1, groups=2)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_gradcheck_agrees_with_conv_backwards():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((4, 1, 3, 2))
    b = rng.standard_normal(4)
    kw = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    err = gradcheck(
        lambda x_, w_, b_: conv2d(x_, w_, b_, **kw),
        x,
        w,
        b,
        analytic=lambda g: conv2d_backward(g, x, w, **kw),
    )
    assert err < 1e-7
    wt = rng.standard_normal((2, 3, 2, 3))
    kt = dict(stride=2, padding=(1, 0), output_padding=(1, 0), dilation=(1, 2))
    err = gradcheck(
        lambda x_, w_, b_: conv_transpose2d(x_, w_, b_, **kt),
        x,
        wt,
        b[:3],
        analytic=lambda g: conv_transpose2d_backward(g, x, wt, **kt),
    )
    assert err < 1e-7


@pytest.mark.parametrize(
    "args, expected",
    [
        ((32, 3, 1, 1), 32),
        ((224, 11, 4, 2), 55),
        ((14, 5), 10),
        (((7, 9), (3, 2), (2, 1), (1, 0), (1, 2)), (4, 7)),
    ],
)
def test_conv_output_size(args, expected):
    assert conv_output_size(*args) == expected


def test_naive_versions_run_a_small_case_in_under_a_second():
    import time

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 12, 12))
    w = rng.standard_normal((4, 3, 3, 3))
    start = time.perf_counter()
    out = conv2d(x, w, padding=1, method="naive")
    conv2d_backward(out, x, w, padding=1, method="naive")
    conv_transpose2d(out, w, padding=1, method="naive")
    conv_transpose2d_backward(x, out, w, padding=1, method="naive")
    assert time.perf_counter() - start < 4.0  # four ops, each well under a second


@settings(max_examples=20, deadline=None)
@given(conv_cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    x, w, _, kw = case
    k, s, p, d = w.shape[2:], kw["stride"], kw["padding"], kw["dilation"]
    cols = im2col(x, k, s, p, d)
    assert cols.shape[0] == x.shape[1] * k[0] * k[1]
    c = np.random.default_rng(0).standard_normal(cols.shape)
    # <im2col(x), c> == <x, col2im(c)>: col2im adds every column back where it was taken from
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * col2im(c, x.shape, k, s, p, d)))


def test_views_with_odd_strides_are_fine():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 9, 8))[:, ::2, ::-1, :].transpose(0, 1, 3, 2)
    w = rng.standard_normal((5, 2, 3, 2))
    ref = F.conv2d(torch.tensor(x.copy()), torch.tensor(w), stride=2, padding=1).numpy()
    for method in METHODS:
        np.testing.assert_allclose(conv2d(x, w, stride=2, padding=1, method=method), ref, **TOL)


@pytest.mark.parametrize("n", [1, 2])
def test_results_never_share_the_reused_scratch_buffers(n):
    rng = np.random.default_rng(5)
    x1, x2 = rng.standard_normal((2, n, 3, 6, 6))
    w = rng.standard_normal((1, 3, 3, 3))
    first = [conv2d(x1, w), *conv2d_backward(np.ones((n, 1, 4, 4)), x1, w)]
    first.append(conv_transpose2d(x1, w.transpose(1, 0, 2, 3)))
    first.append(col2im(im2col(x1, 3), x1.shape, 3))
    kept = [a.copy() for a in first]
    conv2d(x2, w)
    conv2d_backward(np.full((n, 1, 4, 4), 2.0), x2, w)
    conv_transpose2d(x2, w.transpose(1, 0, 2, 3))
    col2im(im2col(x2, 3), x2.shape, 3)
    for a, b in zip(first, kept, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kw",
    [
        dict(stride=1, padding=1, dilation=1, groups=1),
        dict(stride=(2, 1), padding=(0, 2), dilation=(2, 1), groups=2),
    ],
)
def test_fast_passes_in_blocks_of_images(monkeypatch, kw):
    import coursecnn.ops.conv as conv_module

    monkeypatch.setattr(conv_module, "_BLOCK_BYTES", 1)  # one image per im2col block
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 7, 6))
    w = rng.standard_normal((6, 4 // kw["groups"], 3, 2))
    b = rng.standard_normal(6)
    out, grads, g = torch_forward_backward(lambda *t: F.conv2d(*t, **kw), [x, w, b])
    np.testing.assert_allclose(conv2d(x, w, b, **kw), out, **TOL)
    np.testing.assert_allclose(conv2d(x, w, None, **kw), out - b[:, None, None], **TOL)
    for mine, ref in zip(conv2d_backward(g, x, w, **kw), grads, strict=True):
        np.testing.assert_allclose(mine, ref, **TOL)
