"""gradcheck and numerical_gradient on their own: they find right and wrong gradients."""

import numpy as np
import pytest

from coursecnn.ops import (
    conv2d,
    conv2d_backward,
    gradcheck,
    numerical_gradient,
    relative_error,
)


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 3.0])
    (grad,) = numerical_gradient(lambda v: v**3, x)
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-8)
    (grad,) = numerical_gradient(lambda v: v**3, x, grad_out=np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(grad, [3.0, 0.0, 54.0], rtol=1e-8)


def test_gradcheck_accepts_a_right_and_rejects_a_wrong_backward():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    right = gradcheck(conv2d, x, w, analytic=lambda g: conv2d_backward(g, x, w)[:2])
    assert right < 1e-8

    def classic_mistake(g):  # grad_w without the flip-free correlation: uses w for grad_x
        gx, gw, _ = conv2d_backward(g, x, w)
        return gx, gw[:, :, ::-1, ::-1]

    assert gradcheck(conv2d, x, w, analytic=classic_mistake) > 0.1


def test_gradcheck_with_explicit_grad_out_and_arrays():
    x = np.random.default_rng(1).standard_normal((3, 4))
    g = np.ones((3, 4))
    assert gradcheck(np.sin, x, grad_out=g, analytic=np.cos(x)) < 1e-8
    # default grad_out is ones: the gradient of f(x).sum()
    assert gradcheck(np.sin, x, analytic=np.cos(x)) < 1e-8
    assert gradcheck(np.sin, x, analytic=np.sin(x)) > 0.1


def test_gradcheck_skips_non_float_inputs_and_copies_to_float64():
    x = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    err = gradcheck(lambda v, k: v * k, x, 3, analytic=lambda g: 3 * g)
    assert err < 1e-8
    assert x.dtype == np.float32  # the caller's array is not changed


def test_gradcheck_errors_name_the_argument():
    x = np.ones(3)
    with pytest.raises(ValueError, match="analytic: expected 1 gradient"):
        gradcheck(np.sin, x, analytic=(x, x))
    with pytest.raises(ValueError, match="grad_out: expected shape"):
        numerical_gradient(np.sin, x, grad_out=np.ones(4))
    with pytest.raises(ValueError, match="eps: expected a positive"):
        numerical_gradient(np.sin, x, eps=0)
    with pytest.raises(ValueError, match="inputs: expected at least one float"):
        numerical_gradient(lambda k: k, 3)


def test_relative_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == pytest.approx(2.0)
