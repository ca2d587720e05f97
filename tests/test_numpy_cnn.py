"""coursecnn.numpy_cnn against PyTorch (float64 autograd) and the NumPy ops' own contracts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursecnn import numpy_cnn

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    ("shape", "filters", "k", "hidden", "classes", "n"),
    [((1, 28, 28), 8, 5, 100, 10, 4), ((2, 9, 12), 3, 3, 7, 4, 1), ((3, 11, 10), 2, 1, 5, 3, 3)],
)
def test_loss_and_grads_match_autograd(shape, filters, k, hidden, classes, n):
    rng = np.random.default_rng(sum(shape) + k)
    params = numpy_cnn.init_params(shape, filters, k, hidden, classes, rng=rng)
    for name in ("b1", "b2", "b3"):  # non-zero biases, so that their gradients matter
        params[name] += 0.1 * rng.normal(size=params[name].shape)
    x = rng.normal(size=(n, *shape))
    y = rng.integers(0, classes, n)
    loss, grads = numpy_cnn.loss_and_grads(params, x, y)
    net = numpy_cnn.to_torch(params)
    ref = F.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    for name, p in zip(numpy_cnn.PARAM_NAMES, net.parameters(), strict=True):
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12)
        assert grads[name].shape == params[name].shape


def test_sgd_steps_agree_with_torch_and_logits_predict():
    rng = np.random.default_rng(0)
    params = numpy_cnn.init_params((1, 12, 12), 4, 5, 16, 10, rng=rng)
    net = numpy_cnn.to_torch(params)
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    x = rng.normal(size=(20, 1, 12, 12))
    y = rng.integers(0, 10, 20)
    for step in range(5):
        xb, yb = x[4 * step : 4 * step + 4], y[4 * step : 4 * step + 4]
        loss, grads = numpy_cnn.loss_and_grads(params, xb, yb)
        numpy_cnn.sgd_step(params, grads, 0.1)
        sgd.zero_grad()
        ref = F.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb))
        ref.backward()
        sgd.step()
        assert loss == pytest.approx(ref.item(), rel=1e-12)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(numpy_cnn.logits(params, x, batch_size=7), want, rtol=1e-10)
    assert np.array_equal(numpy_cnn.predict(params, x), want.argmax(1))


def test_init_params_shapes_scale_and_dtype():
    p = numpy_cnn.init_params((3, 10, 14), filters=6, kernel_size=3, hidden=50, classes=7,
                              rng=np.random.default_rng(1), dtype=np.float32)  # fmt: skip
    assert {k: v.shape for k, v in p.items()} == {
        "W1": (6, 3, 3, 3), "b1": (6,), "W2": (50, 6 * 5 * 7), "b2": (50,),
        "W3": (7, 50), "b3": (7,),
    }  # fmt: skip
    assert all(v.dtype == np.float32 for v in p.values())
    big = numpy_cnn.init_params((1, 28, 28), filters=64, hidden=400, rng=np.random.default_rng(2))
    assert big["W2"].std() == pytest.approx(np.sqrt(2 / (64 * 14 * 14)), rel=0.02)  # He
    assert big["W3"].std() == pytest.approx(0.1 * np.sqrt(2 / 400), rel=0.05)  # small outputs
    assert numpy_cnn.to_torch(p)[0].weight.dtype == torch.float32
    with pytest.raises(ValueError, match="kernel_size"):
        numpy_cnn.init_params(kernel_size=4)
    with pytest.raises(ValueError, match="image_shape"):
        numpy_cnn.init_params((1, 1, 8))
