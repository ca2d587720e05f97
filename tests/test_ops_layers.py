"""Activations, softmax, linear, dropout and normalisation: torch and autograd in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import coursecnn.ops as ops

TOL = dict(rtol=1e-12, atol=1e-12)

shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 5))


def with_autograd(fn, *arrays, seed=0):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    g = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    out.backward(torch.tensor(g))
    return out.detach().numpy(), [t.grad.numpy() for t in ts], g


def data(shape, seed, scale=2.0):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    x.flat[0] = 0.0  # the kink of relu-like functions: our gradient there is torch's
    return x


ELEMENTWISE = [
    ("sigmoid", torch.sigmoid, {}),
    ("tanh", torch.tanh, {}),
    ("relu", F.relu, {}),
    ("leaky_relu", lambda t: F.leaky_relu(t, 0.2), {"negative_slope": 0.2}),
    ("elu", lambda t: F.elu(t, 0.7), {"alpha": 0.7}),
]


@pytest.mark.parametrize("name, reference, kwargs", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
@settings(max_examples=15, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_activations_match_torch(name, reference, kwargs, shape, seed):
    x = data(shape, seed)
    out, (grad,), g = with_autograd(reference, x)
    np.testing.assert_allclose(getattr(ops, name)(x, **kwargs), out, **TOL)
    np.testing.assert_allclose(getattr(ops, f"{name}_backward")(g, x, **kwargs), grad, **TOL)
    err = ops.gradcheck(
        lambda v: getattr(ops, name)(v, **kwargs),
        x + 0.01 * (x == 0),  # finite differences need a point away from the kink
        analytic=lambda gg: getattr(ops, f"{name}_backward")(gg, x + 0.01 * (x == 0), **kwargs),
    )
    assert err < 1e-7


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), shared=st.booleans())
def test_prelu_matches_torch(shape, seed, shared):
    x = data(shape, seed)
    w = np.random.default_rng(seed + 1).standard_normal(1 if shared else shape[1])
    out, (gx_ref, gw_ref), g = with_autograd(F.prelu, x, w)
    np.testing.assert_allclose(ops.prelu(x, w), out, **TOL)
    gx, gw = ops.prelu_backward(g, x, w)
    np.testing.assert_allclose(gx, gx_ref, **TOL)
    np.testing.assert_allclose(gw, gw_ref, **TOL)
    assert gw.shape == w.shape


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 3),
    groups=st.integers(1, 3),
    pieces=st.integers(1, 4),
    hw=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    seed=st.integers(0, 2**16),
)
def test_maxout_matches_a_torch_reshape_and_max(n, groups, pieces, hw, seed):
    x = np.random.default_rng(seed).standard_normal((n, groups * pieces, *hw))
    out, (grad,), g = with_autograd(lambda t: t.view(n, groups, pieces, *hw).max(2).values, x)
    np.testing.assert_allclose(ops.maxout(x, pieces), out, **TOL)
    np.testing.assert_allclose(ops.maxout_backward(g, x, pieces), grad, **TOL)


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), axis=st.integers(-4, 3))
def test_softmax_and_log_softmax_match_torch(shape, seed, axis):
    x = data(shape, seed, scale=5.0)
    for name, reference in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        out, (grad,), g = with_autograd(lambda t, r=reference: r(t, dim=axis), x)
        np.testing.assert_allclose(getattr(ops, name)(x, axis=axis), out, **TOL)
        np.testing.assert_allclose(getattr(ops, f"{name}_backward")(g, x, axis=axis), grad, **TOL)


def test_softmax_stays_finite_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])
    s = ops.softmax(logits)
    ls = ops.log_softmax(logits)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ls))
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(ls, F.log_softmax(torch.tensor(logits), dim=1).numpy(), **TOL)
    g = np.ones_like(logits)
    assert np.all(np.isfinite(ops.softmax_backward(g, logits)))
    assert np.all(np.isfinite(ops.log_softmax_backward(g, logits)))
    assert ops.softmax(logits.astype(np.float32)).dtype == np.float32


@settings(max_examples=20, deadline=None)
@given(
    lead=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    sizes=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    seed=st.integers(0, 2**16),
    bias=st.booleans(),
)
def test_linear_matches_torch(lead, sizes, seed, bias):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, sizes[0]))
    w = rng.standard_normal((sizes[1], sizes[0]))
    b = rng.standard_normal(sizes[1])
    arrays = (x, w, b) if bias else (x, w)
    out, grads, g = with_autograd(F.linear, *arrays)
    np.testing.assert_allclose(ops.linear(*arrays), out, **TOL)
    mine = ops.linear_backward(g, x, w)
    for a, r in zip(mine, grads, strict=False):
        np.testing.assert_allclose(a, r, **TOL)
    np.testing.assert_allclose(mine[2], g.reshape(-1, sizes[1]).sum(axis=0), **TOL)


def test_dropout_is_inverted_seeded_and_off_in_eval():
    x = np.random.default_rng(0).standard_normal((200, 50))
    out, mask = ops.dropout(x, p=0.3, rng=np.random.default_rng(7))
    again, _ = ops.dropout(x, p=0.3, rng=7)  # an int seed gives the same draw
    np.testing.assert_array_equal(out, again)
    assert abs((mask == 0).mean() - 0.3) < 0.02
    np.testing.assert_allclose(mask[mask != 0], 1 / 0.7)
    np.testing.assert_array_equal(out, x * mask)
    assert abs(ops.dropout(np.ones((400, 400)), 0.5, rng=1)[0].mean() - 1.0) < 0.02
    np.testing.assert_array_equal(ops.dropout_backward(np.ones_like(x), mask), mask)
    evaluated, ones = ops.dropout(x, p=0.3, training=False)
    np.testing.assert_array_equal(evaluated, x)
    np.testing.assert_array_equal(ones, 1.0)
    np.testing.assert_array_equal(ops.dropout(x, p=1.0, rng=0)[0], 0.0)
    assert ops.dropout(x.astype(np.float32), 0.5, rng=0)[0].dtype == np.float32


@settings(max_examples=20, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 8), st.integers(1, 3), st.integers(1, 3)),
    size=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_local_response_norm_matches_torch(shape, size, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    kw = dict(alpha=0.5, beta=0.75, k=2.0)  # a large alpha, so the normalisation matters
    out, (grad,), g = with_autograd(lambda t: F.local_response_norm(t, size, **kw), x)
    np.testing.assert_allclose(ops.local_response_norm(x, size, **kw), out, **TOL)
    np.testing.assert_allclose(ops.local_response_norm_backward(g, x, size, **kw), grad, **TOL)


def test_local_response_norm_defaults_are_alexnets():
    x = np.random.default_rng(1).standard_normal((2, 7, 3, 3)) * 30
    ref = F.local_response_norm(torch.tensor(x), 5, alpha=1e-4, beta=0.75, k=2.0).numpy()
    np.testing.assert_allclose(ops.local_response_norm(x), ref, **TOL)


@pytest.mark.parametrize("training", [True, False])
@settings(max_examples=15, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(2, 4)),
    seed=st.integers(0, 2**16),
)
def test_batch_norm2d_matches_torch(training, shape, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    running_mean, running_var = rng.standard_normal(c), rng.random(c) + 0.5
    rm_t, rv_t = torch.tensor(running_mean), torch.tensor(running_var)
    out, grads, g = with_autograd(
        lambda t, a, b: F.batch_norm(t, rm_t, rv_t, a, b, training=training, momentum=0.2),
        x,
        gamma,
        beta,
    )
    rm, rv = running_mean.copy(), running_var.copy()
    mine = ops.batch_norm2d(x, gamma, beta, rm, rv, training=training, momentum=0.2)
    np.testing.assert_allclose(mine, out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rm, rm_t.numpy(), **TOL)  # updated in place, as torch
    np.testing.assert_allclose(rv, rv_t.numpy(), **TOL)
    back = ops.batch_norm2d_backward(g, x, gamma, running_mean, running_var, training=training)
    for a, r in zip(back, grads, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10)


def test_gradcheck_agrees_with_the_layer_backwards():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 2, 3))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    checks = [
        (
            lambda v, a, b: ops.batch_norm2d(v, a, b),
            (x, gamma, beta),
            lambda g: ops.batch_norm2d_backward(g, x, gamma),
        ),
        (
            lambda v: ops.local_response_norm(v, 3, alpha=0.5),
            (x,),
            lambda g: ops.local_response_norm_backward(g, x, 3, alpha=0.5),
        ),
        (lambda v, w: ops.prelu(v, w), (x, gamma), lambda g: ops.prelu_backward(g, x, gamma)),
        (lambda v: ops.maxout(v, 2), (x,), lambda g: ops.maxout_backward(g, x, 2)),
        (lambda v: ops.softmax(v, 1), (x,), lambda g: ops.softmax_backward(g, x, 1)),
        (lambda v: ops.log_softmax(v), (x,), lambda g: ops.log_softmax_backward(g, x)),
    ]
    rm, rv = rng.standard_normal(4), rng.random(4) + 0.5
    checks.append(
        (
            lambda v, a, b: ops.batch_norm2d(v, a, b, rm, rv, training=False),
            (x, gamma, beta),
            lambda g: ops.batch_norm2d_backward(g, x, gamma, rm, rv, training=False),
        )
    )
    _, mask = ops.dropout(x, 0.4, rng=3)
    checks.append(
        (lambda v: ops.dropout(v, 0.4, rng=3)[0], (x,), lambda g: ops.dropout_backward(g, mask))
    )
    w2, b2 = rng.standard_normal((5, 3)), rng.standard_normal(5)
    checks.append(
        (ops.linear, (x, w2, b2), lambda g: ops.linear_backward(g, x, w2)),
    )
    for f, inputs, analytic in checks:
        assert ops.gradcheck(f, *inputs, analytic=analytic) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_keep_the_float_dtype(dtype):
    x = np.random.default_rng(9).standard_normal((2, 4, 3, 3)).astype(dtype)
    w = np.ones(4)
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu"):
        assert getattr(ops, name)(x).dtype == dtype
        assert getattr(ops, f"{name}_backward")(x, x).dtype == dtype
    assert ops.prelu(x, w).dtype == dtype
    assert all(a.dtype == dtype for a in ops.prelu_backward(x, x, w))
    assert ops.maxout(x, 2).dtype == dtype
    assert ops.local_response_norm(x).dtype == dtype
    assert ops.batch_norm2d(x, w, w).dtype == dtype
    assert all(a.dtype == dtype for a in ops.batch_norm2d_backward(x, x, w))
    assert ops.linear(x, np.ones((2, 3))).dtype == dtype


@pytest.mark.parametrize(("n", "k", "seed"), [(1, 2, 0), (5, 10, 1), (7, 3, 2)])
def test_cross_entropy_and_backward_match_torch(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = 3 * rng.normal(size=(n, k))
    labels = rng.integers(0, k, n)
    t = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(t, torch.tensor(labels))
    (2.5 * ref).backward()
    assert ops.cross_entropy(logits, labels) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(
        ops.cross_entropy_backward(2.5, logits, labels), t.grad.numpy(), rtol=1e-10, atol=1e-14
    )
    assert ops.cross_entropy_backward(1.0, logits.astype(np.float32), labels).dtype == np.float32
    big = np.array([[1000.0, -1000.0, 0.0]])
    assert np.isfinite(ops.cross_entropy(big, np.array([1])))


def test_cross_entropy_errors():
    with pytest.raises(ValueError, match="logits"):
        ops.cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="labels"):
        ops.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 2\]"):
        ops.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="at least one row"):
        ops.cross_entropy_backward(1.0, np.zeros((0, 3)), np.array([], dtype=int))
