"""Max and average pooling and max unpooling: torch and autograd in float64, naive == fast."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursecnn.ops import (
    avg_pool2d,
    avg_pool2d_backward,
    gradcheck,
    max_pool2d,
    max_pool2d_backward,
    max_unpool2d,
    max_unpool2d_backward,
)

TOL = dict(rtol=1e-12, atol=1e-12)
METHODS = ("naive", "fast")


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = None if draw(st.booleans()) else (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, kh - 2 * ph), kh + 6))
    w = draw(st.integers(max(1, kw - 2 * pw), kw + 6))
    # distinct values, so that the maximum of every window is unique (torch and we agree on ties
    # too, but a finite-difference check would not)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.permutation(n * c * h * w).reshape(n, c, h, w) / 7.0 - 3.0
    return x, dict(kernel_size=(kh, kw), stride=stride, padding=(ph, pw))


def torch_pool(fn, x, g=None, **kw):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, **kw)
    main = out[0] if isinstance(out, tuple) else out
    if g is None:
        g = np.random.default_rng(0).standard_normal(tuple(main.shape))
    main.backward(torch.tensor(g))
    return out, xt.grad.numpy(), g


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_max_pool2d_matches_torch(case):
    x, kw = case
    (out, idx), grad, g = torch_pool(F.max_pool2d, x, return_indices=True, **kw)
    for method in METHODS:
        mine, mine_idx = max_pool2d(x, **kw, return_indices=True, method=method)
        np.testing.assert_array_equal(mine, out.detach().numpy())
        np.testing.assert_array_equal(mine_idx, idx.numpy())
        np.testing.assert_array_equal(max_pool2d(x, **kw, method=method), mine)
        np.testing.assert_allclose(max_pool2d_backward(g, x, **kw, method=method), grad, **TOL)
        # unpooling puts every maximum back where it came from
        k, s, p = kw["kernel_size"], kw["stride"], kw["padding"]
        ref = F.max_unpool2d(out.detach(), idx, k, s, p, output_size=x.shape[2:])
        unpooled = max_unpool2d(
            mine, mine_idx, k, s, output_size=x.shape[2:], padding=p, method=method
        )
        np.testing.assert_array_equal(unpooled, ref.numpy())


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_avg_pool2d_matches_torch(case):
    x, kw = case
    out, grad, g = torch_pool(F.avg_pool2d, x, **kw)
    for method in METHODS:
        np.testing.assert_allclose(avg_pool2d(x, **kw, method=method), out.detach().numpy(), **TOL)
        np.testing.assert_allclose(avg_pool2d_backward(g, x, **kw, method=method), grad, **TOL)


def test_max_pool_ties_go_to_the_first_maximum_as_in_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 5.0
    (out, idx), grad, g = torch_pool(F.max_pool2d, x, kernel_size=2, return_indices=True)
    for method in METHODS:
        _, mine_idx = max_pool2d(x, 2, return_indices=True, method=method)
        np.testing.assert_array_equal(mine_idx, idx.numpy())
        np.testing.assert_array_equal(max_pool2d_backward(g, x, 2, method=method), grad)


def test_max_unpool2d_default_size_and_gradient():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 8))
    out, idx = max_pool2d(x, 2, return_indices=True)
    ref = F.max_unpool2d(torch.tensor(out), torch.tensor(idx), 2).numpy()
    for method in METHODS:
        np.testing.assert_array_equal(max_unpool2d(out, idx, 2, method=method), ref)
    err = gradcheck(
        lambda v: max_unpool2d(v, idx, 2), out, analytic=lambda g: max_unpool2d_backward(g, idx)
    )
    assert err < 1e-8


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck_agrees_with_pooling_backwards(method):
    rng = np.random.default_rng(5)
    x = rng.permutation(2 * 5 * 6).reshape(1, 2, 5, 6) / 10.0
    kw = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), method=method)
    err = gradcheck(
        lambda v: max_pool2d(v, **kw), x, analytic=lambda g: max_pool2d_backward(g, x, **kw)
    )
    assert err < 1e-8
    err = gradcheck(
        lambda v: avg_pool2d(v, **kw), x, analytic=lambda g: avg_pool2d_backward(g, x, **kw)
    )
    assert err < 1e-8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_keeps_the_float_dtype(dtype):
    x = np.random.default_rng(6).standard_normal((2, 3, 6, 6)).astype(dtype)
    for method in METHODS:
        out, idx = max_pool2d(x, 3, 2, 1, return_indices=True, method=method)
        assert out.dtype == dtype and idx.dtype == np.int64
        assert max_pool2d_backward(np.ones_like(out), x, 3, 2, 1, method=method).dtype == dtype
        avg = avg_pool2d(x, 3, 2, 1, method=method)
        assert avg.dtype == dtype
        assert avg_pool2d_backward(np.ones_like(avg), x, 3, 2, 1, method=method).dtype == dtype


def test_naive_versions_run_a_small_case_in_under_a_second():
    import time

    x = np.random.default_rng(7).standard_normal((2, 3, 12, 12))
    for forward, backward in ((max_pool2d, max_pool2d_backward), (avg_pool2d, avg_pool2d_backward)):
        start = time.perf_counter()
        out = forward(x, 3, 2, 1, method="naive")
        backward(np.ones_like(out), x, 3, 2, 1, method="naive")
        assert time.perf_counter() - start < 1.0


def test_max_pool_nan_is_the_maximum_as_in_torch():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    (out, idx), grad, g = torch_pool(F.max_pool2d, x, kernel_size=2, return_indices=True)
    for method in METHODS:
        mine, mine_idx = max_pool2d(x, 2, return_indices=True, method=method)
        np.testing.assert_array_equal(mine, out.detach().numpy())
        np.testing.assert_array_equal(mine_idx, idx.numpy())
        np.testing.assert_array_equal(max_pool2d_backward(g, x, 2, method=method), grad)
