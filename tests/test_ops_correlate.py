"""correlate2d and convolve2d against scipy.signal, pad2d against torch, conv_matrix."""

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursecnn.ops import (
    conv2d,
    conv_matrix,
    convolve2d,
    correlate2d,
    gradcheck,
    pad2d,
    pad2d_backward,
)

IMAGE = np.array(
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
)
KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
EXPECTED = np.array([[4, 3, 4], [2, 4, 3], [2, 3, 4]])

shapes = st.tuples(st.integers(1, 7), st.integers(1, 7))


@settings(max_examples=60, deadline=None)
@given(shapes, shapes, st.sampled_from(["full", "same", "valid"]), st.integers(0, 2**16))
def test_correlate_and_convolve_match_scipy(s1, s2, mode, seed):
    rng = np.random.default_rng(seed)
    a, k = rng.standard_normal(s1), rng.standard_normal(s2)
    larger = all(p >= q for p, q in zip(s1, s2, strict=True))
    smaller = all(p <= q for p, q in zip(s1, s2, strict=True))
    if mode == "valid" and not (larger or smaller):
        for fn in (correlate2d, convolve2d):
            with pytest.raises(ValueError, match="in2"):
                fn(a, k, mode)
        return
    for method in ("naive", "fast"):
        np.testing.assert_allclose(
            correlate2d(a, k, mode, method=method),
            scipy.signal.correlate2d(a, k, mode),
            rtol=1e-12,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            convolve2d(a, k, mode, method=method),
            scipy.signal.convolve2d(a, k, mode),
            rtol=1e-12,
            atol=1e-12,
        )


@pytest.mark.parametrize("method", ["naive", "fast"])
def test_worked_example_of_the_seed(method):
    np.testing.assert_array_equal(correlate2d(IMAGE, KERNEL, "valid", method=method), EXPECTED)
    # the kernel is symmetric, so the true convolution gives the same numbers
    np.testing.assert_array_equal(convolve2d(IMAGE, KERNEL, "valid", method=method), EXPECTED)
    matrix = conv_matrix(KERNEL, IMAGE.shape)
    np.testing.assert_array_equal((matrix @ IMAGE.ravel()).reshape(3, 3), EXPECTED)


def test_convolution_flips_the_kernel():
    a = np.arange(16.0).reshape(4, 4)
    k = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(convolve2d(a, k, "valid"), correlate2d(a, k[::-1, ::-1], "valid"))
    assert not np.array_equal(convolve2d(a, k, "valid"), correlate2d(a, k, "valid"))


@settings(max_examples=30, deadline=None)
@given(
    st.tuples(st.integers(1, 4), st.integers(1, 4)), st.tuples(st.integers(4, 8), st.integers(4, 9))
)
def test_conv_matrix_is_the_valid_correlation(kshape, ishape):
    rng = np.random.default_rng(sum(kshape) * 100 + sum(ishape))
    k, img = rng.standard_normal(kshape), rng.standard_normal(ishape)
    m = conv_matrix(k, ishape)
    oh, ow = ishape[0] - kshape[0] + 1, ishape[1] - kshape[1] + 1
    assert m.shape == (oh * ow, ishape[0] * ishape[1])
    np.testing.assert_allclose(
        (m @ img.ravel()).reshape(oh, ow), correlate2d(img, k, "valid"), atol=1e-12
    )
    np.testing.assert_allclose(
        (m @ img.ravel()).reshape(oh, ow), conv2d(img[None, None], k[None, None])[0, 0], atol=1e-12
    )
    # weight sharing: every row holds the same kh*kw weights; sparsity: nothing else
    assert np.all(np.count_nonzero(m, axis=1) <= k.size)


TORCH_MODE = {"zero": "constant", "reflect": "reflect", "replicate": "replicate"}


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["zero", "reflect", "replicate"]),
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(4, 6), st.integers(4, 7)),
)
def test_pad2d_matches_torch(mode, padding, shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    out = F.pad(xt, padding, mode=TORCH_MODE[mode])
    g = np.random.default_rng(1).standard_normal(tuple(out.shape))
    out.backward(torch.tensor(g))
    np.testing.assert_array_equal(pad2d(x, padding, mode), out.detach().numpy())
    np.testing.assert_allclose(
        pad2d_backward(g, x.shape, padding, mode), xt.grad.numpy(), atol=1e-12
    )


def test_pad2d_int_and_pair_forms_and_gradcheck():
    x = np.arange(12.0).reshape(3, 4)
    assert pad2d(x, 1).shape == (5, 6)
    np.testing.assert_array_equal(pad2d(x, (1, 2), "replicate")[0], [0, 0, 0, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(pad2d(x, (0, 2), "reflect")[0], [2, 1, 0, 1, 2, 3, 2, 1])
    for mode in ("zero", "reflect", "replicate"):
        err = gradcheck(
            lambda v, m=mode: pad2d(v, (1, 2, 2, 1), m),
            x,
            analytic=lambda g, m=mode: pad2d_backward(g, x.shape, (1, 2, 2, 1), m),
        )
        assert err < 1e-8
